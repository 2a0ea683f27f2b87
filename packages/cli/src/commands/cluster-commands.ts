import { readFile } from 'node:fs/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { GROUP_VERSION, type AzurePodIdentityException } from '@pod-identity/core';
import { parseAllDocuments } from 'yaml';
import { CliError, ExitCode } from '../cli-error.js';
import { resolveMode, type CommandContext } from '../command-context.js';
import { SETTINGS_CONFIG_MAP, SETTINGS_NAMESPACE } from '../cluster-client.js';
import { formatData, type OutputFormat } from '../output-format.js';

/** The exception AKS adds on enable so its own add-ons reach IMDS directly. */
export const AKS_ADDON_EXCEPTION: AzurePodIdentityException = {
  apiVersion: GROUP_VERSION,
  kind: 'AzurePodIdentityException',
  metadata: { name: 'aks-addon-exception', namespace: 'kube-system' },
  spec: { podLabels: { 'kubernetes.azure.com/managedby': 'aks' } },
};

/** Options of `pod-identity enable`. */
export interface EnableOptions {
  mode?: string;
  nmiManifest?: string;
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
  const mode = await resolveMode(context, options.mode ?? 'standard');
  const nmiObjects =
    options.nmiManifest === undefined ? undefined : await readManifest(options.nmiManifest);
  const cluster = context.cluster();
  const crds = await cluster.installCrds();
  await cluster.putSettings({ mode });
  const existing = await cluster.get(
    'AzurePodIdentityException',
    'kube-system',
    'aks-addon-exception',
  );
  if (existing === undefined) await cluster.create(AKS_ADDON_EXCEPTION);
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
  context.stdout.write(`configmap/${SETTINGS_CONFIG_MAP} in ${SETTINGS_NAMESPACE}: mode ${mode}\n`);
  context.stdout.write(
    `azurepodidentityexception.aadpodidentity.k8s.io/aks-addon-exception ${existing === undefined ? 'created' : 'updated'} in namespace kube-system (pod labels kubernetes.azure.com/managedby=aks)\n`,
  );
  if (nmi.length > 0) for (const label of nmi) context.stdout.write(`${label} applied\n`);
  else
    context.stdout.write(
      'nmi: no manifest given (--nmi-manifest <file>); run NMI with the Helm chart or your own DaemonSet\n',
    );
  context.stdout.write(`pod identity enabled (${mode} mode)\n`);
}

/** Options of `pod-identity disable`. */
export interface DisableOptions {
  nmiManifest?: string;
  deleteCrds?: boolean;
  force?: boolean;
  output: OutputFormat;
}

/**
 * `pod-identity disable`: refuses while pod identities exist (unless `--force`), then removes the
 * `aks-addon-exception`, the recorded settings, the NMI objects of a manifest, and with
 * `--delete-crds` the CRDs (which deletes every remaining pod-identity object).
 */
export async function disablePodIdentity(
  context: CommandContext,
  options: DisableOptions,
): Promise<void> {
  const nmiObjects =
    options.nmiManifest === undefined ? undefined : await readManifest(options.nmiManifest);
  const cluster = context.cluster();
  const identities = await cluster.list('AzureIdentity').catch((error: unknown) => {
    // Without the CRDs there is nothing to protect.
    if (error instanceof CliError && error.message.includes('HTTP 404')) return [];
    throw error;
  });
  if (identities.length > 0 && options.force !== true) {
    const names = identities.map((i) => `${i.metadata.namespace ?? ''}/${i.metadata.name}`);
    throw new CliError(
      `${identities.length} pod identities still exist: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`,
      {
        hint: 'delete them first (pod-identity delete), or pass --force',
      },
    );
  }
  const exceptionDeleted = await cluster
    .delete('AzurePodIdentityException', 'kube-system', 'aks-addon-exception')
    .catch((error: unknown) => {
      if (error instanceof CliError && error.message.includes('HTTP 404')) return false;
      throw error;
    });
  const settingsDeleted = await cluster.deleteSettings();
  const nmi = nmiObjects === undefined ? [] : await cluster.deleteObjects(nmiObjects);
  const crds = options.deleteCrds === true ? await cluster.deleteCrds() : [];
  if (options.output !== 'table') {
    context.stdout.write(
      formatData({ exceptionDeleted, settingsDeleted, nmi, crds }, options.output),
    );
    return;
  }
  if (exceptionDeleted)
    context.stdout.write(
      'azurepodidentityexception.aadpodidentity.k8s.io/aks-addon-exception deleted from namespace kube-system\n',
    );
  if (settingsDeleted)
    context.stdout.write(`configmap/${SETTINGS_CONFIG_MAP} deleted from ${SETTINGS_NAMESPACE}\n`);
  for (const label of nmi) context.stdout.write(`${label} deleted\n`);
  for (const name of crds)
    context.stdout.write(`customresourcedefinition.apiextensions.k8s.io/${name} deleted\n`);
  context.stdout.write('pod identity disabled\n');
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
