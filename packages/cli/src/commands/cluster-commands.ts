import { readFile } from 'node:fs/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { CliError, ExitCode } from '../cli-error.js';
import { checkMode, recordName, switchHint, type CommandContext } from '../command-context.js';
import {
  CREATED_BY_ANNOTATION,
  CREATED_BY_ENABLE,
  objectLabel,
  SETTINGS_CONFIG_MAP,
  SETTINGS_NAMESPACE,
  type ClusterClient,
  type ClusterSettings,
} from '../cluster-client.js';
import { AKS_ADDON_EXCEPTION } from './aks-addon-exception.js';
import { allowKubenet, KUBENET_FLAG, KUBENET_WITHOUT_MANIFEST } from './kubenet-allowance.js';
import { disableCandidates, planDisable, type DisablePlan } from './disable-plan.js';
import { formatData, type OutputFormat } from '../output-format.js';

/** Options of `pod-identity enable`. */
export interface EnableOptions {
  mode?: string;
  /** Record `mode` even though the cluster records the other one (MIC and NMI must follow). */
  switchMode?: boolean;
  nmiManifest?: string;
  /**
   * az's `--enable-pod-identity-with-kubenet`: NMI of the manifest gets
   * `--allow-network-plugin-kubenet=true`; without a manifest, `enable` says how to allow it.
   */
  allowKubenet?: boolean;
  output: OutputFormat;
}

/**
 * `pod-identity enable`: installs (or updates) the four CRDs from core, records the mode, creates the
 * `aks-addon-exception` in `kube-system`, and applies an NMI manifest (DaemonSet and what it needs)
 * when one is given.
 */
export async function enablePodIdentity(
  context: CommandContext,
  options: EnableOptions,
): Promise<void> {
  const wanted = options.mode === undefined ? undefined : checkMode(options.mode);
  const manifest =
    options.nmiManifest === undefined ? undefined : await readManifest(options.nmiManifest);
  const kubenet =
    manifest === undefined || options.allowKubenet !== true ? undefined : allowKubenet(manifest);
  const nmiObjects = kubenet?.objects ?? manifest;
  const cluster = context.cluster();
  const recorded = await cluster.getSettings();
  const mode = enableMode(recorded, wanted, options.switchMode === true);
  const crds = await cluster.installCrds();
  // A record of the same mode is left alone: the chart's carries Helm's ownership metadata.
  if (recorded?.mode !== mode) await cluster.putSettings({ mode });
  const existing = await cluster.get(
    'AzurePodIdentityException',
    'kube-system',
    'aks-addon-exception',
  );
  if (existing === undefined)
    await cluster.create({
      ...AKS_ADDON_EXCEPTION,
      metadata: {
        ...AKS_ADDON_EXCEPTION.metadata,
        annotations: { [CREATED_BY_ANNOTATION]: CREATED_BY_ENABLE },
      },
    });
  else await cluster.replace({ ...existing, spec: AKS_ADDON_EXCEPTION.spec });
  const nmi = nmiObjects === undefined ? [] : await cluster.applyObjects(nmiObjects);

  if (options.output !== 'table') {
    context.stdout.write(
      formatData({ mode, crds, exception: 'kube-system/aks-addon-exception', nmi }, options.output),
    );
    return;
  }
  for (const crd of crds)
    context.stdout.write(
      `customresourcedefinition.apiextensions.k8s.io/${crd.name} ${crd.action}\n`,
    );
  const record =
    recorded === undefined
      ? 'recorded'
      : recorded.mode === mode
        ? 'unchanged'
        : `switched from ${recorded.mode}: restart NMI (and MIC) with --operation-mode=${mode}`;
  context.stdout.write(
    `configmap/${SETTINGS_CONFIG_MAP} in ${SETTINGS_NAMESPACE}: mode ${mode} (${record})\n`,
  );
  context.stdout.write(
    `azurepodidentityexception.aadpodidentity.k8s.io/aks-addon-exception ${existing === undefined ? 'created' : 'updated'} in namespace kube-system (pod labels kubernetes.azure.com/managedby=aks)\n`,
  );
  if (nmi.length > 0) for (const label of nmi) context.stdout.write(`${label} applied\n`);
  else
    context.stdout.write(
      'nmi: no manifest given (--nmi-manifest <file>); run NMI with the Helm chart or your own DaemonSet\n',
    );
  if (kubenet !== undefined)
    context.stdout.write(
      `kubenet allowed: ${kubenet.changed.join(', ') || '(no NMI DaemonSet in the manifest)'} run with ${KUBENET_FLAG}=true; require pods to drop NET_RAW\n`,
    );
  else if (options.allowKubenet === true) context.stdout.write(KUBENET_WITHOUT_MANIFEST);
  context.stdout.write(`pod identity enabled (${mode} mode)\n`);
}

/**
 * The mode `enable` records: the one asked for, else the recorded one, else `standard`. Switching a
 * recorded mode is refused unless asked for with `--switch-mode`, and always when the Helm chart owns
 * the record (its `operationMode` also sets MIC's and NMI's flags, so only `helm upgrade` switches all
 * three).
 */
function enableMode(
  recorded: ClusterSettings | undefined,
  wanted: ClusterSettings['mode'] | undefined,
  switchMode: boolean,
): ClusterSettings['mode'] {
  if (recorded === undefined) return wanted ?? 'standard';
  if (wanted === undefined || wanted === recorded.mode) return recorded.mode;
  if (recorded.managedBy === 'Helm' || !switchMode) {
    throw new CliError(
      `the cluster runs in ${recorded.mode} mode (${recordName(recorded)}); enable --mode ${wanted} would switch it under MIC and NMI`,
      { hint: switchHint(recorded, wanted).replace('drop --mode; to switch', 'to switch') },
    );
  }
  return wanted;
}

/** Options of `pod-identity disable`. */
export interface DisableOptions {
  nmiManifest?: string;
  /** Also delete the CRDs, and with them every pod-identity object. */
  deleteCrds?: boolean;
  /** Also delete the namespaces the manifest declares. */
  deleteNamespaces?: boolean;
  /** Also delete objects that `pod-identity enable` did not create. */
  deleteUnowned?: boolean;
  /** Even while pod identities exist. */
  force?: boolean;
  /** Show what would be deleted and delete nothing. */
  dryRun?: boolean;
  output: OutputFormat;
}

/**
 * `pod-identity disable`: refuses while pod identities exist (unless `--force`); works out what it
 * will delete (the `aks-addon-exception`, the recorded settings, the manifest's objects; CRDs only
 * with `--delete-crds`, namespaces only with `--delete-namespaces`) and refuses when any of it was
 * not created by `pod-identity enable` (unless `--delete-unowned`); prints that list, then deletes
 * it, or with `--dry-run` stops there.
 */
export async function disablePodIdentity(
  context: CommandContext,
  options: DisableOptions,
): Promise<void> {
  const manifest = options.nmiManifest === undefined ? [] : await readManifest(options.nmiManifest);
  const cluster = context.cluster();
  await refuseWhileIdentitiesExist(cluster, options.force === true);
  const plan = await planDisable(cluster, disableCandidates(manifest), {
    deleteCrds: options.deleteCrds === true,
    deleteNamespaces: options.deleteNamespaces === true,
    deleteUnowned: options.deleteUnowned === true,
  });
  if (plan.notCreatedByEnable.length > 0 && options.deleteUnowned !== true) {
    throw new CliError(
      `${String(plan.notCreatedByEnable.length)} objects were not created by pod-identity enable and would be deleted: ${plan.notCreatedByEnable.join(', ')}`,
      {
        hint: 'remove them with what installed them (helm uninstall, kubectl delete), or pass --delete-unowned to delete them too; --dry-run shows the list',
      },
    );
  }
  const dryRun = options.dryRun === true;
  if (options.output === 'table') writePlan(context, plan, dryRun);
  const deleted = dryRun ? [] : await cluster.deleteObjects(plan.delete);
  if (options.output !== 'table') {
    context.stdout.write(
      formatData(
        { dryRun, delete: plan.delete.map(objectLabel), keep: plan.keep, deleted },
        options.output,
      ),
    );
    return;
  }
  if (dryRun) {
    context.stdout.write('dry run: nothing was deleted\n');
    return;
  }
  for (const label of deleted) context.stdout.write(`${label} deleted\n`);
  context.stdout.write('pod identity disabled\n');
}

async function refuseWhileIdentitiesExist(cluster: ClusterClient, force: boolean): Promise<void> {
  const identities = await cluster.list('AzureIdentity').catch((error: unknown) => {
    // Without the CRDs there is nothing to protect.
    if (error instanceof CliError && error.message.includes('HTTP 404')) return [];
    throw error;
  });
  if (identities.length === 0 || force) return;
  const names = identities.map((i) => `${i.metadata.namespace ?? ''}/${i.metadata.name}`);
  throw new CliError(
    `${String(identities.length)} pod identities still exist: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`,
    { hint: 'delete them first (pod-identity delete), or pass --force' },
  );
}

// The list comes first, so what is about to go is on screen before anything goes.
function writePlan(context: CommandContext, plan: DisablePlan, dryRun: boolean): void {
  const unowned = new Set(plan.notCreatedByEnable);
  context.stdout.write(
    plan.delete.length === 0
      ? 'nothing to delete\n'
      : `${dryRun ? 'would delete' : 'deleting'} ${String(plan.delete.length)} objects:\n`,
  );
  for (const object of plan.delete) {
    const label = objectLabel(object);
    context.stdout.write(
      `  ${label}${unowned.has(label) ? ' (not created by pod-identity enable; --delete-unowned)' : ''}\n`,
    );
  }
  if (plan.keep.length > 0) context.stdout.write(`keeping ${String(plan.keep.length)} objects:\n`);
  for (const kept of plan.keep) context.stdout.write(`  ${kept.object}: ${kept.reason}\n`);
}

async function readManifest(path: string): Promise<KubernetesObject[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`--nmi-manifest: cannot read ${path}: ${(error as Error).message}`, {
      exitCode: ExitCode.Usage,
      cause: error,
    });
  }
  const objects: KubernetesObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new CliError(
        `--nmi-manifest: ${path} is not valid YAML: ${document.errors[0]?.message ?? ''}`,
        { exitCode: ExitCode.Usage },
      );
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    const object = value as KubernetesObject;
    if (
      typeof object.apiVersion !== 'string' ||
      typeof object.kind !== 'string' ||
      typeof object.metadata?.name !== 'string'
    ) {
      throw new CliError(
        `--nmi-manifest: every document of ${path} needs apiVersion, kind and metadata.name`,
        { exitCode: ExitCode.Usage },
      );
    }
    objects.push(object);
  }
  return objects;
}
