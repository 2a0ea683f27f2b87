// Taking over from the original (Go) MIC: the identities its records prove it assigned go into the
// ownership ledger when this MIC starts leading, so they are removed once no pod needs them, as the
// Go MIC would have removed them. Without it they stay on their scale sets for ever after a switch.
import {
  planGoMicAdoption,
  silentLogger,
  type AzureAssignedIdentity,
  type Clock,
  type Logger,
} from '@pod-identity/core';
import type { OwnershipLedger } from '@pod-identity/core/kubernetes';

/** Options of {@link adoptGoMicAssignments}. */
export interface GoMicAdoptionOptions {
  /** The loaded ownership ledger. */
  ledger: OwnershipLedger;
  /** Every cached AzureAssignedIdentity record (the informer synced). */
  records: readonly AzureAssignedIdentity[];
  /** `spec.providerID` by node name (the node informer synced). */
  nodeProviderIds: ReadonlyMap<string, string>;
  /** `--immutable-user-msis` and the cluster identity: never adopted. */
  immutable: readonly string[];
  /** Times the pauses between attempts. */
  clock: Clock;
  /** Where adoptions and failures are logged. Default silent. */
  logger?: Logger;
  /** Ends the attempts (leadership lost). */
  abortSignal: AbortSignal;
  /** How many times a ledger write is tried before the target is given up. Default 5. */
  maxAttempts?: number;
}

/**
 * Takes into the ownership ledger the user-assigned identities that records of the Go MIC prove it
 * assigned (core's `planGoMicAdoption`: `Assigned` or legacy empty-state records without this MIC's
 * pod UID annotation, type 0, on a node of a scale set or VM; never an identity no record accounts
 * for, an immutable one or one already owned). Run it after the caches sync and before the first
 * planning pass of a leadership: that pass may release such a record (its pod is gone), and after
 * that nothing shows who assigned the identity.
 *
 * Idempotent, so it runs at every leadership start; once the Go MIC's last record is gone it adopts
 * nothing. A target whose ledger write keeps failing is given up after `maxAttempts` and logged: its
 * identities stay unowned, i.e. never removed, which is the state before adoption existed.
 *
 * @param options - ledger, synced caches, immutable IDs
 * @returns how many identities were adopted
 */
export async function adoptGoMicAssignments(options: GoMicAdoptionOptions): Promise<number> {
  const { ledger, clock, abortSignal } = options;
  const log = options.logger ?? silentLogger;
  const maxAttempts = options.maxAttempts ?? 5;
  const adoption = planGoMicAdoption({
    records: options.records,
    nodeProviderIds: options.nodeProviderIds,
    owned: ledger.snapshot(),
    immutable: options.immutable,
  });
  let adopted = 0;
  for (const { target, identities, records } of adoption) {
    const fields = { target: target.name, kind: target.kind };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await ledger.add(target, identities);
        adopted += identities.length;
        log.info(
          { ...fields, identities: identities.map((identity) => identity.resourceId), records },
          'adopted identities the Go MIC assigned',
        );
        break;
      } catch (error) {
        if (attempt >= maxAttempts || abortSignal.aborted) {
          log.error(
            { ...fields, err: error },
            'failed to adopt identities the Go MIC assigned; they stay on the target until removed by hand',
          );
          break;
        }
        try {
          await clock.sleep(500 * attempt, abortSignal);
        } catch {
          return adopted;
        }
      }
    }
  }
  return adopted;
}
