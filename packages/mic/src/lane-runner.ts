// The work of one lane: one scale set or VM (records Created, one read and delta PATCH through ARM,
// records Assigned, released ones Unassigned and deleted), the service-principal records (no ARM
// call), the records of a node without a target, and records someone else deleted.
import {
  CrdKinds,
  GROUP_VERSION,
  silentLogger,
  type AzureAssignedIdentity,
  type DesiredAssignment,
  type Logger,
  type TargetDelta,
  type UnplacedRecords,
} from '@pod-identity/core';
import {
  CloudProviderError,
  type AssignResult,
  type IdentityAssigner,
} from '@pod-identity/core/arm';
import type { EventRecorder, OwnershipLedger } from '@pod-identity/core/kubernetes';
import { recordAssignmentFailure } from './assignment-failure-events.js';
import { carriesAssignment, type RecordRewrites } from './record-rewrites.js';
import type { RecordWriter } from './record-writer.js';

/** A scale set's or VM's delta from `planIdentityDeltas`. */
export interface TargetLaneWork {
  readonly kind: 'target';
  readonly delta: TargetDelta;
  /** Re-check the target against ARM even if this writer already assigned everything (drift timer). */
  readonly drift: boolean;
  /** Records to write over, from the plan. */
  readonly updates: RecordRewrites;
}
/** Service-principal identities' records: straight to `Assigned`, or deleted. */
export interface DirectLaneWork {
  readonly kind: 'direct';
  readonly assign: readonly DesiredAssignment[];
  readonly release: readonly AzureAssignedIdentity[];
  readonly updates: RecordRewrites;
}
/** Records of a node without a usable target: the waiting ones stay `Created`, the others go. */
export interface UnplacedLaneWork {
  readonly kind: 'unplaced';
  readonly records: UnplacedRecords;
  readonly updates: RecordRewrites;
}
/** Records someone else deleted: MIC's finalizer holds them until they are released. */
export interface TerminatingLaneWork {
  readonly kind: 'terminating';
  readonly records: readonly AzureAssignedIdentity[];
}
/** The work of one lane. */
export type LaneWork = TargetLaneWork | DirectLaneWork | UnplacedLaneWork | TerminatingLaneWork;

/** Runs one lane's work; a failure is thrown (the lane executor retries it with backoff). */
export type LaneRunner = (work: LaneWork, abortSignal: AbortSignal) => Promise<void>;

/** Options of {@link createLaneRunner}. */
export interface LaneRunnerOptions {
  /** Reads and patches the identities of scale sets and VMs. */
  assigner: IdentityAssigner;
  /** Which identities MIC added to which target (loaded). */
  ledger: OwnershipLedger;
  /** Writes the records. */
  writer: RecordWriter;
  /** Where the binding events go. */
  recorder: Pick<EventRecorder, 'event'>;
  /** Where lane outcomes are logged. Default silent. */
  logger?: Logger;
}

/** Thrown when ARM refused some identities: their records stay `Created` and the lane is retried. */
export class IdentitiesRefusedError extends Error {
  override readonly name = 'IdentitiesRefusedError';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function applyErrorMessage(d: DesiredAssignment, error: string): string {
  return `failed to apply binding ${d.binding.metadata.namespace ?? ''}/${d.binding.metadata.name} node ${d.nodeName} for pod ${d.podNamespace}/${d.podName}, error: ${error}`;
}

/**
 * Creates the runner of MIC's lanes. A custom controller that plans its own deltas can run them with
 * it: `await run({ kind: 'target', delta, drift: false, updates: new Map() }, signal)`.
 *
 * @param options - ARM, the ledger, the record writer and the recorder
 * @returns the runner
 */
export function createLaneRunner(options: LaneRunnerOptions): LaneRunner {
  const { assigner, ledger, writer, recorder } = options;
  const log = options.logger ?? silentLogger;
  // On the binding (as the original), the record and the pod: where explain and kubectl read it.
  const applyError = (d: DesiredAssignment, error: string): void => {
    recordAssignmentFailure(recorder, d, applyErrorMessage(d, error));
  };

  /** The target is gone: forget what MIC owned there and release its records without ARM. */
  const releaseVanishedTarget = async (work: TargetLaneWork): Promise<void> => {
    const { target } = work.delta;
    await ledger.remove(
      target,
      [...(ledger.snapshot().get(target.key)?.values() ?? [])].map((o) => ({
        resourceId: o.resourceId,
        key: o.resourceId.toLowerCase(),
        clientId: o.clientId,
      })),
    );
    await writer.release(work.delta.release, { unassignFirst: false });
  };

  /** One read and delta PATCH through ARM; `'gone'` when the target no longer exists. */
  const applyToTarget = async (
    work: TargetLaneWork,
    abortSignal: AbortSignal,
  ): Promise<AssignResult | 'gone'> => {
    const { delta } = work;
    const { target } = delta;
    const tlog = log.child({ target: target.name, kind: target.kind });
    let result: AssignResult;
    try {
      result = await assigner.apply(
        target,
        { ensure: delta.ensure, remove: delta.remove },
        { abortSignal, beforeAdd: (ids) => ledger.add(target, ids) },
      );
    } catch (error) {
      if (CloudProviderError.is(error) && error.statusCode === 404) {
        // The scale set or VM is gone: nothing can be assigned or removed there any more.
        tlog.warn({ err: error }, 'identity target not found; releasing its records');
        await releaseVanishedTarget(work);
        return 'gone';
      }
      tlog.warn({ err: error }, 'failed to update identities of the target');
      for (const d of delta.assign) applyError(d, messageOf(error));
      throw error;
    }
    // Forget removed identities, and owned ones that someone else already took off.
    await ledger.remove(
      target,
      delta.remove.filter((ref) => !result.present.has(ref.key)),
    );
    if (result.patches > 0) {
      tlog.info(
        {
          added: result.added.length,
          removed: result.removed.length,
          refused: result.refused.length,
          patches: result.patches,
        },
        'identities updated',
      );
    }
    return result;
  };

  const runTarget = async (work: TargetLaneWork, abortSignal: AbortSignal): Promise<void> => {
    const { delta, drift } = work;
    // A rewrite of a record whose identity is already assigned on this node waits for ARM's answer
    // and then goes straight to Assigned: NMI never sees it Created (it would refuse the pod).
    const carried = (d: DesiredAssignment): boolean =>
      carriesAssignment(d, work.updates.get(d.key));
    await writer.ensure(
      delta.assign.filter((d) => !carried(d)),
      work.updates,
    );
    const skipArm =
      !drift && delta.remove.length === 0 && delta.assign.every(writer.isAssignedHere);
    let result: AssignResult | undefined;
    if (!skipArm && (delta.ensure.length > 0 || delta.remove.length > 0)) {
      const applied = await applyToTarget(work, abortSignal);
      if (applied === 'gone') return;
      result = applied;
    }
    for (const kept of delta.kept) {
      log.debug(
        {
          target: delta.target.name,
          kind: delta.target.kind,
          identity: kept.identity.resourceId,
          reason: kept.reason,
          usedBy: kept.usedBy,
        },
        'identity kept',
      );
    }
    const refusedMessages = new Map(
      result?.refused.map((r) => [r.identity.key, `${r.armCode}: ${r.message}`]) ?? [],
    );
    const keyOf = (d: DesiredAssignment): string =>
      (d.identity.spec.resourceID ?? '').toLowerCase();
    const ready = delta.assign.filter((d) => result === undefined || result.present.has(keyOf(d)));
    const refused = delta.assign.filter((d) => !ready.includes(d));
    for (const d of refused) {
      applyError(
        d,
        refusedMessages.get(keyOf(d)) ?? 'identity not present on the target after the update',
      );
    }
    await writer.markAssigned(ready, work.updates);
    // The identity is not on the target after all: the record says so (Created) until it is.
    await writer.ensure(refused.filter(carried), work.updates);
    await writer.release(delta.release, { unassignFirst: true });
    if (refused.length > 0) {
      throw new IdentitiesRefusedError(
        `${refused.length} identities could not be assigned to ${delta.target.name}; records stay Created`,
      );
    }
  };

  const runUnplaced = async (work: UnplacedLaneWork): Promise<void> => {
    const { records: entry } = work;
    await writer.ensure(entry.waiting, work.updates);
    if (entry.waiting.length > 0) {
      log.warn({ node: entry.nodeName, problem: entry.problem }, entry.message);
      for (const d of entry.waiting) applyError(d, entry.message);
    }
    await writer.release(entry.release, {
      unassignFirst: false,
      onReleased: (record) => {
        recorder.event(
          {
            apiVersion: GROUP_VERSION,
            kind: CrdKinds.AzureIdentityBinding.kind,
            namespace: record.spec.azureBindingRef.metadata.namespace ?? '',
            name: record.spec.azureBindingRef.metadata.name,
          },
          'Normal',
          'binding removed',
          `Binding ${record.spec.azureBindingRef.metadata.name} removed from node ${entry.nodeName} for pod ${record.spec.pod}`,
        );
      },
    });
  };

  return async (work, abortSignal) => {
    switch (work.kind) {
      case 'target':
        await runTarget(work, abortSignal);
        break;
      case 'direct':
        await writer.ensure(work.assign, work.updates);
        await writer.markAssigned(work.assign);
        await writer.release(work.release, { unassignFirst: true });
        break;
      case 'unplaced':
        await runUnplaced(work);
        break;
      case 'terminating':
        await writer.release(work.records, { unassignFirst: false });
        break;
    }
  };
}
