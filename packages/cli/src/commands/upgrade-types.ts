import { upgradeLegacyFields, ValidationError, type CrdKind } from '@pod-identity/core';
import type { CommandContext } from '../command-context.js';
import { checkNamespace } from '../command-context.js';
import type { ClusterClient, UnreadableObject } from '../cluster-client.js';
import { formatData, formatTable, type OutputFormat } from '../output-format.js';

/** Options of `pod-identity upgrade-types`. */
export interface UpgradeTypesOptions {
  /** One namespace; all when undefined. */
  namespace?: string;
  /** Show what would be rewritten without writing. */
  dryRun?: boolean;
  output: OutputFormat;
}

/** What `upgrade-types` did with one object it could not read. */
export interface TypeUpgradeResult {
  kind: CrdKind;
  namespace: string;
  name: string;
  /**
   * `rewritten` (or `would rewrite`, with `--dry-run`): the old names were renamed and the object
   * now parses; `not upgradable`: renaming did not help (or there was nothing to rename), see
   * `detail`.
   */
  result: 'rewritten' | 'would rewrite' | 'not upgradable';
  /** The renames (`spec.ClientID → clientID`), or why the object stays unreadable. */
  detail: string;
}

// Records last: their embedded identities and bindings are renamed with them, as the original's
// type upgrade rewrote records after identities, bindings and exceptions.
const KINDS: readonly CrdKind[] = [
  'AzureIdentity',
  'AzureIdentityBinding',
  'AzurePodIdentityException',
  'AzureAssignedIdentity',
];

async function upgradeOne(
  cluster: ClusterClient,
  object: UnreadableObject,
  dryRun: boolean,
): Promise<TypeUpgradeResult> {
  const base = { kind: object.kind, namespace: object.namespace, name: object.name };
  const upgrade = upgradeLegacyFields(object.kind, object.raw);
  if (upgrade.renamed.length === 0) {
    return {
      ...base,
      result: 'not upgradable',
      detail: `${object.problem}; no field is spelled the pre-1.6 way (under this project's CRDs the API server drops those names, so they can no longer be read: re-apply the object with today's names)`,
    };
  }
  try {
    // Written back only when it now parses: a rewrite must never make an object worse.
    cluster.parse(object.kind, upgrade.object);
  } catch (error) {
    if (!ValidationError.is(error)) throw error;
    return {
      ...base,
      result: 'not upgradable',
      detail: `after renaming ${upgrade.renamed.join(', ')}: ${error.message}`,
    };
  }
  if (!dryRun) await cluster.replaceRaw(object.kind, object.namespace, object.name, upgrade.object);
  return {
    ...base,
    result: dryRun ? 'would rewrite' : 'rewritten',
    detail: upgrade.renamed.join(', '),
  };
}

/**
 * `pod-identity upgrade-types`: the original MIC's one-time type upgrade (`--enable-type-upgrade`)
 * as an administrator's command. Every AzureIdentity, binding, exception and record that does not
 * parse is read as the API server stores it; where its fields are spelled as before v1.6
 * (`ClientID`, `Selector`, `PodLabels`, or the Go MIC 1.5.x records' `azureidentityref` and
 * `Status`), they are renamed and the object written back (PUT, conditional on its
 * resourceVersion), unless `--dry-run`. Objects it cannot upgrade are listed with why, and the
 * command then exits 3.
 *
 * Old names are only visible while the installed CRDs keep unknown fields (the original's CRDs before
 * v1.8): run it before installing this project's CRDs, whose schema makes the API server drop them.
 */
export async function upgradeTypes(
  context: CommandContext,
  options: UpgradeTypesOptions,
): Promise<void> {
  if (options.namespace !== undefined) checkNamespace(options.namespace);
  const cluster = context.cluster();
  const results: TypeUpgradeResult[] = [];
  const remaining: UnreadableObject[] = [];
  for (const kind of KINDS) {
    const { unreadable } = await cluster.listAll(kind, options.namespace);
    for (const object of unreadable) {
      const result = await upgradeOne(cluster, object, options.dryRun === true);
      results.push(result);
      if (result.result === 'not upgradable') remaining.push(object);
    }
  }
  if (options.output !== 'table') {
    context.stdout.write(formatData({ results }, options.output));
  } else if (results.length === 0) {
    context.stdout.write('every pod-identity object parses; nothing to upgrade\n');
  } else {
    context.stdout.write(
      formatTable(
        ['kind', 'namespace', 'name', 'result', 'detail'],
        results.map((r) => [r.kind, r.namespace, r.name, r.result, r.detail]),
      ),
    );
  }
  context.reportUnreadable(remaining);
}
