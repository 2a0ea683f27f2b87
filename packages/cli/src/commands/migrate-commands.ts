import {
  WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
  WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION,
  WORKLOAD_IDENTITY_USE_LABEL,
  parseAzureIdentityBinding,
  serializePodIdentityObject,
  type AzureIdentityBinding,
} from '@pod-identity/core';
import { CliError } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import {
  checkExchange,
  createFederatedCredentialsApi,
  type FederatedCredentialsApi,
} from '../federated-credentials.js';
import { formatData, formatTable, type OutputFormat } from '../output-format.js';
import {
  createMigrationCluster,
  type ClusterPod,
  type MigrationCluster,
} from './migration-cluster.js';
import { planMigration, type MigrationEntry, type MigrationPlan } from './plan-migration.js';

/** The service-account annotation where `migrate` records what it did, so `rollback` undoes exactly that. */
export const MIGRATION_ANNOTATION = 'pod-identity.azure.com/migration';

/** What `migrate` wrote for one service account. */
interface MigrationRecord {
  identityResourceId: string;
  clientId: string;
  credential: string;
  createdCredential: boolean;
  annotated: boolean;
  /** Selectors of the migrated bindings: the pods whose label `migrate` set. */
  selectors: string[];
  /** Bindings `apply --remove-bindings` deleted, as they were, for `rollback`. */
  removedBindings: Record<string, unknown>[];
}

/** Options of {@link migratePlan}. */
export interface MigratePlanOptions {
  namespace?: string;
  oidcIssuer?: string;
  output: OutputFormat;
}

/** Options of {@link migrateApply}. */
export interface MigrateApplyOptions extends MigratePlanOptions {
  dryRun?: boolean;
  /** Also label the pod templates of the pods' Deployments, StatefulSets and DaemonSets (a rollout follows). */
  updateWorkloads?: boolean;
  /** Delete each binding once Entra accepts its pods' tokens. */
  removeBindings?: boolean;
  /** How long to wait for Entra to honour new credentials. Default 60 s. */
  verifyTimeoutMs?: number;
}

/** Options of {@link migrateRollback}. */
export interface MigrateRollbackOptions {
  namespace?: string;
  dryRun?: boolean;
  output: OutputFormat;
}

interface Gathered {
  readonly plan: MigrationPlan;
  readonly pods: readonly ClusterPod[];
  readonly bindings: readonly AzureIdentityBinding[];
  readonly cluster: MigrationCluster;
  readonly arm: FederatedCredentialsApi;
}

async function gather(context: CommandContext, options: MigratePlanOptions): Promise<Gathered> {
  const client = context.cluster();
  const cluster = createMigrationCluster(context.kubeConfig());
  const arm = createFederatedCredentialsApi(await context.azure(), context.abortSignal);
  const [allBindings, identities, pods, serviceAccounts, issuer] = await Promise.all([
    client.list('AzureIdentityBinding', options.namespace),
    client.list('AzureIdentity', options.namespace),
    cluster.listPods(),
    cluster.listServiceAccounts(),
    options.oidcIssuer === undefined ? cluster.issuer() : Promise.resolve(options.oidcIssuer),
  ]);
  const identityIds = [
    ...new Set(
      identities
        .filter((identity) => identity.spec.type === 0 && identity.spec.resourceID !== undefined)
        .map((identity) => identity.spec.resourceID ?? ''),
    ),
  ];
  const credentials = new Map(
    await Promise.all(
      identityIds.map(async (id) => [id.toLowerCase(), await arm.list(id)] as const),
    ),
  );
  const plan = planMigration({
    issuer,
    bindings: allBindings.map((binding) => ({
      namespace: binding.metadata.namespace ?? 'default',
      name: binding.metadata.name,
      azureIdentity: binding.spec.azureIdentity,
      selector: binding.spec.selector,
    })),
    identities: identities.map((identity) => ({
      namespace: identity.metadata.namespace ?? 'default',
      name: identity.metadata.name,
      type: identity.spec.type,
      resourceId: identity.spec.resourceID,
      clientId: identity.spec.clientID,
    })),
    pods,
    serviceAccounts,
    credentials,
  });
  return { plan, pods, bindings: allBindings, cluster, arm };
}

function printPlan(context: CommandContext, plan: MigrationPlan, output: OutputFormat): void {
  if (output !== 'table') {
    context.stdout.write(formatData(plan, output));
    return;
  }
  context.stdout.write(`OIDC issuer: ${plan.issuer}\n`);
  context.stdout.write(
    formatTable(
      [
        'binding',
        'identity',
        'client id',
        'service account',
        'pods',
        'federated credential',
        'annotation',
      ],
      plan.entries.map((entry) => [
        entry.binding,
        entry.identity,
        entry.clientId,
        `${entry.serviceAccount.namespace}/${entry.serviceAccount.name}`,
        entry.pods.join(','),
        `${entry.credential.name} (${entry.credential.action})`,
        entry.annotate ? 'add' : 'present',
      ]),
    ),
  );
  for (const skip of plan.skipped)
    context.stdout.write(`skipped ${skip.binding}: ${skip.reason}\n`);
  for (const problem of plan.problems) context.stdout.write(`problem: ${problem}\n`);
}

/**
 * `pod-identity migrate plan`: what moving each AzureIdentityBinding to workload identity federation
 * takes (federated credentials, service-account annotations, pod labels), changing nothing.
 * @param context - cluster and Azure
 * @param options - namespace, issuer, output
 */
export async function migratePlan(
  context: CommandContext,
  options: MigratePlanOptions,
): Promise<void> {
  const { plan } = await gather(context, options);
  printPlan(context, plan, options.output);
  if (plan.problems.length > 0)
    throw new CliError(
      `the migration plan has ${String(plan.problems.length)} problem(s); apply would refuse it`,
    );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function readRecord(annotations: Readonly<Record<string, string>>): MigrationRecord | undefined {
  const text = annotations[MIGRATION_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as MigrationRecord;
  } catch {
    return undefined;
  }
}

/** Writes the credential, annotation and labels of one entry; returns the record it leaves. */
async function applyEntry(
  context: CommandContext,
  gathered: Gathered,
  entry: MigrationEntry,
  tenantId: string,
  previous: MigrationRecord | undefined,
  selector: string,
  options: MigrateApplyOptions,
): Promise<MigrationRecord> {
  const { cluster, arm, plan } = gathered;
  const { namespace, name } = entry.serviceAccount;
  if (entry.credential.action === 'create') {
    await arm.create(entry.identityResourceId, entry.credential.name, plan.issuer, entry.subject);
    context.stderr.write(
      `created federated credential ${entry.credential.name} (${entry.subject})\n`,
    );
  }
  const record: MigrationRecord = {
    identityResourceId: entry.identityResourceId,
    clientId: entry.clientId,
    credential: entry.credential.name,
    createdCredential:
      (previous?.createdCredential ?? false) || entry.credential.action === 'create',
    annotated: (previous?.annotated ?? false) || entry.annotate,
    selectors: [...new Set([...(previous?.selectors ?? []), selector])],
    removedBindings: previous?.removedBindings ?? [],
  };
  await cluster.annotateServiceAccount(namespace, name, {
    [WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION]: entry.clientId,
    ...(entry.annotate ? { [WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION]: tenantId } : {}),
    [MIGRATION_ANNOTATION]: JSON.stringify(record),
  });
  const pods = gathered.pods.filter(
    (pod) => pod.namespace === namespace && entry.pods.includes(pod.name),
  );
  for (const pod of pods)
    await cluster.labelPod(namespace, pod.name, { [WORKLOAD_IDENTITY_USE_LABEL]: 'true' });
  if (options.updateWorkloads === true) {
    const workloads = new Map(
      pods.flatMap((pod) =>
        pod.workload === undefined
          ? []
          : [[`${pod.workload.kind}/${pod.workload.name}`, pod.workload] as const],
      ),
    );
    for (const workload of workloads.values())
      await cluster.labelWorkload(namespace, workload, { [WORKLOAD_IDENTITY_USE_LABEL]: 'true' });
  }
  context.stderr.write(
    `federated service account ${namespace}/${name} to ${entry.clientId}; labelled ${String(pods.length)} pod(s)\n`,
  );
  return record;
}

/** Waits until Entra exchanges a token of one of the entry's pods; `undefined` when it does. */
async function verifyEntry(
  context: CommandContext,
  gathered: Gathered,
  entry: MigrationEntry,
  tenantId: string,
  deadline: number,
): Promise<string | undefined> {
  const pod = gathered.pods.find(
    (candidate) =>
      candidate.namespace === entry.serviceAccount.namespace && entry.pods.includes(candidate.name),
  );
  if (pod === undefined) return 'no pod of the service account is left to check with';
  const access = await context.azure();
  let reason: string | undefined;
  for (;;) {
    const token = await gathered.cluster.requestToken(
      pod.namespace,
      entry.serviceAccount.name,
      pod,
    );
    reason = await checkExchange(
      {
        ...(access.authorityHost === undefined ? {} : { authorityHost: access.authorityHost }),
        ...(access.tlsOptions === undefined ? {} : { tlsOptions: access.tlsOptions }),
      },
      tenantId,
      entry.clientId,
      token,
    );
    // A new federated credential takes a moment to be honoured (AADSTS70021 meanwhile).
    if (reason === undefined || Date.now() >= deadline) return reason;
    await sleep(2_000);
  }
}

/**
 * `pod-identity migrate apply`: carries out the plan, never while it has problems. Creates the
 * federated credentials, annotates the service accounts, labels the pods (and with `updateWorkloads`
 * their templates), checks that Entra exchanges each service account's token, and with
 * `removeBindings` deletes each binding whose every service account passed, keeping a copy for
 * `rollback`. With `dryRun` it prints the plan and changes nothing.
 * @param context - cluster and Azure
 * @param options - see {@link MigrateApplyOptions}
 */
export async function migrateApply(
  context: CommandContext,
  options: MigrateApplyOptions,
): Promise<void> {
  const gathered = await gather(context, options);
  const { plan } = gathered;
  if (plan.problems.length > 0 || options.dryRun === true) {
    printPlan(context, plan, options.output);
    if (plan.problems.length > 0)
      throw new CliError(`refusing to migrate: ${plan.problems.join('; ')}`);
    context.stderr.write('dry run: nothing was changed\n');
    return;
  }
  const tenants = new Map<string, string>();
  const records = new Map<string, MigrationRecord>();
  const accounts = await gathered.cluster.listServiceAccounts();
  const results: { entry: MigrationEntry; verified: string | undefined }[] = [];
  for (const entry of plan.entries) {
    const idKey = entry.identityResourceId.toLowerCase();
    if (!tenants.has(idKey))
      tenants.set(idKey, await gathered.arm.tenantOf(entry.identityResourceId));
    const tenantId = tenants.get(idKey) ?? '';
    const accountKey = `${entry.serviceAccount.namespace}/${entry.serviceAccount.name}`;
    const existing = accounts.find(
      (a) => a.namespace === entry.serviceAccount.namespace && a.name === entry.serviceAccount.name,
    );
    const previous =
      records.get(accountKey) ??
      (existing === undefined ? undefined : readRecord(existing.annotations));
    const binding = gathered.bindings.find(
      (b) => `${b.metadata.namespace ?? 'default'}/${b.metadata.name}` === entry.binding,
    );
    records.set(
      accountKey,
      await applyEntry(
        context,
        gathered,
        entry,
        tenantId,
        previous,
        binding?.spec.selector ?? '',
        options,
      ),
    );
  }
  const deadline = Date.now() + (options.verifyTimeoutMs ?? 60_000);
  for (const entry of plan.entries) {
    const tenantId = tenants.get(entry.identityResourceId.toLowerCase()) ?? '';
    results.push({
      entry,
      verified: await verifyEntry(context, gathered, entry, tenantId, deadline),
    });
  }
  const removed: string[] = [];
  if (options.removeBindings === true) {
    for (const binding of gathered.bindings) {
      const bindingKey = `${binding.metadata.namespace ?? 'default'}/${binding.metadata.name}`;
      const own = results.filter((result) => result.entry.binding === bindingKey);
      // Never a binding before every pod it serves can be served by federation.
      if (own.length === 0 || own.some((result) => result.verified !== undefined)) continue;
      for (const { entry } of own) {
        const accountKey = `${entry.serviceAccount.namespace}/${entry.serviceAccount.name}`;
        const record = records.get(accountKey);
        if (record === undefined) continue;
        record.removedBindings.push(
          serializePodIdentityObject(binding) as unknown as Record<string, unknown>,
        );
        await gathered.cluster.annotateServiceAccount(
          entry.serviceAccount.namespace,
          entry.serviceAccount.name,
          {
            [MIGRATION_ANNOTATION]: JSON.stringify(record),
          },
        );
      }
      await context
        .cluster()
        .delete(
          'AzureIdentityBinding',
          binding.metadata.namespace ?? 'default',
          binding.metadata.name,
        );
      removed.push(bindingKey);
    }
  }
  const summary = results.map(({ entry, verified }) => ({
    binding: entry.binding,
    serviceAccount: `${entry.serviceAccount.namespace}/${entry.serviceAccount.name}`,
    clientId: entry.clientId,
    federated: verified === undefined,
    ...(verified === undefined ? {} : { reason: verified }),
    bindingRemoved: removed.includes(entry.binding),
  }));
  if (options.output === 'table')
    context.stdout.write(
      formatTable(
        ['binding', 'service account', 'client id', 'federated', 'binding removed'],
        summary.map((row) => [
          row.binding,
          row.serviceAccount,
          row.clientId,
          row.federated ? 'yes' : `no: ${row.reason ?? ''}`,
          row.bindingRemoved ? 'yes' : 'no',
        ]),
      ),
    );
  else context.stdout.write(formatData(summary, options.output));
  if (summary.some((row) => !row.federated))
    throw new CliError(
      'Entra did not accept the tokens of every service account; their bindings were kept',
      {
        hint: 'run `pod-identity migrate apply` again in a minute, or `pod-identity migrate rollback`',
      },
    );
}

/**
 * `pod-identity migrate rollback`: undoes what `apply` recorded on each service account, in the order
 * that keeps pods served: recreates removed bindings, removes the pod and template labels, the
 * annotations it added and the federated credentials it created. With `dryRun`, only lists it.
 * @param context - cluster and Azure
 * @param options - namespace, dry run, output
 */
export async function migrateRollback(
  context: CommandContext,
  options: MigrateRollbackOptions,
): Promise<void> {
  const cluster = createMigrationCluster(context.kubeConfig());
  const accounts = (await cluster.listServiceAccounts()).filter(
    (account) => options.namespace === undefined || account.namespace === options.namespace,
  );
  const pods = await cluster.listPods();
  const steps: { serviceAccount: string; action: string }[] = [];
  const work: (() => Promise<unknown>)[] = [];
  let arm: FederatedCredentialsApi | undefined;
  for (const account of accounts) {
    const record = readRecord(account.annotations);
    if (record === undefined) continue;
    const accountKey = `${account.namespace}/${account.name}`;
    const step = (action: string, run: () => Promise<unknown>): void => {
      steps.push({ serviceAccount: accountKey, action });
      work.push(run);
    };
    for (const binding of record.removedBindings) {
      const name = (binding.metadata as { name?: string } | undefined)?.name ?? '';
      step(`recreate AzureIdentityBinding ${account.namespace}/${name}`, async () => {
        const client = context.cluster();
        if ((await client.get('AzureIdentityBinding', account.namespace, name)) !== undefined)
          return;
        const parsed = parseAzureIdentityBinding({
          ...binding,
          metadata: { name, namespace: account.namespace },
        });
        await client.create(parsed);
      });
    }
    const labelled = pods.filter(
      (pod) =>
        pod.namespace === account.namespace &&
        pod.serviceAccountName === account.name &&
        pod.labels[WORKLOAD_IDENTITY_USE_LABEL] !== undefined &&
        record.selectors.includes(pod.labels.aadpodidbinding ?? ''),
    );
    for (const pod of labelled)
      step(`remove label ${WORKLOAD_IDENTITY_USE_LABEL} from pod ${pod.name}`, () =>
        cluster.labelPod(pod.namespace, pod.name, { [WORKLOAD_IDENTITY_USE_LABEL]: null }),
      );
    const workloads = new Map(
      labelled.flatMap((pod) =>
        pod.workload === undefined
          ? []
          : [[`${pod.workload.kind}/${pod.workload.name}`, pod.workload] as const],
      ),
    );
    for (const [label, workload] of workloads)
      step(`remove label ${WORKLOAD_IDENTITY_USE_LABEL} from the template of ${label}`, () =>
        cluster.labelWorkload(account.namespace, workload, { [WORKLOAD_IDENTITY_USE_LABEL]: null }),
      );
    step(
      record.annotated
        ? 'remove the workload-identity and migration annotations'
        : 'remove the migration annotation',
      () =>
        cluster.annotateServiceAccount(account.namespace, account.name, {
          [MIGRATION_ANNOTATION]: null,
          ...(record.annotated
            ? {
                [WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION]: null,
                [WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION]: null,
              }
            : {}),
        }),
    );
    if (record.createdCredential)
      step(`delete federated credential ${record.credential}`, async () => {
        arm ??= createFederatedCredentialsApi(await context.azure(), context.abortSignal);
        await arm.remove(record.identityResourceId, record.credential);
      });
  }
  if (options.output === 'table')
    context.stdout.write(
      formatTable(
        ['service account', 'step'],
        steps.map((s) => [s.serviceAccount, s.action]),
      ),
    );
  else context.stdout.write(formatData(steps, options.output));
  if (options.dryRun === true) {
    context.stderr.write('dry run: nothing was changed\n');
    return;
  }
  for (const run of work) await run();
  context.stderr.write(`rolled back ${String(steps.length)} step(s)\n`);
}
