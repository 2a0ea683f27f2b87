import type { TokenCredential } from '@azure/core-auth';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  ValidationError,
  type CustomResourceDefinition,
  isLabelKey,
  isLabelValue,
  isRfc1123Label,
  validatePodIdentityName,
} from '@pod-identity/core';
import type { AzureAccess } from './azure-access.js';
import { CliError, ExitCode } from './cli-error.js';
import {
  ClusterClient,
  loadKubeConfig,
  SETTINGS_CONFIG_MAP,
  SETTINGS_NAMESPACE,
  type ClusterSettings,
  type UnreadableObject,
} from './cluster-client.js';
import { selectClusterContext } from './cluster-context.js';

/** Where the CLI writes. */
export interface CliWriter {
  write(text: string): unknown;
}

/** What every command gets: output streams, the cluster and Azure, lazily connected. */
export interface CommandContext {
  /** Standard output (results). */
  readonly stdout: CliWriter;
  /** Standard error (progress and errors). */
  readonly stderr: CliWriter;
  /** The Kubernetes client for the selected kubeconfig and context. */
  cluster(): ClusterClient;
  /** The selected kubeconfig (for calls beyond the pod-identity objects). */
  kubeConfig(): KubeConfig;
  /** ARM access (credential, endpoint). */
  azure(): Promise<AzureAccess>;
  /** Cancels ARM calls when the process is interrupted. */
  readonly abortSignal: AbortSignal | undefined;
  /**
   * Tells the CLI that the command met objects it could not read (after showing them): the command
   * still succeeds, and the CLI exits with `ExitCode.UnreadableObjects`.
   */
  reportUnreadable(objects: readonly UnreadableObject[]): void;
}

/** Options shared by every command (kubectl's, and az's names of the cluster). */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  armEndpoint?: string;
  /** az's `--resource-group`: accepted so az lines paste; the kubeconfig context names the cluster. */
  resourceGroup?: string;
  /** az's `--cluster-name`: selects the kubeconfig context `az aks get-credentials` named after it. */
  clusterName?: string;
}

/** Builds a {@link CommandContext}. */
export function createCommandContext(
  globals: GlobalOptions,
  io: {
    stdout: CliWriter;
    stderr: CliWriter;
    env: Readonly<Record<string, string | undefined>>;
    kubeConfig?: KubeConfig;
    azure?: AzureAccess;
    abortSignal?: AbortSignal;
    crds?: () => CustomResourceDefinition[];
    /** Collects what commands report with `reportUnreadable`. */
    unreadable?: UnreadableObject[];
  },
): CommandContext {
  let cluster: ClusterClient | undefined;
  let kubeConfig: KubeConfig | undefined;
  const selectedKubeConfig = (): KubeConfig => {
    if (kubeConfig !== undefined) return kubeConfig;
    const loaded =
      io.kubeConfig !== undefined &&
      globals.kubeconfig === undefined &&
      globals.context === undefined
        ? io.kubeConfig
        : loadKubeConfig(globals, io.env);
    if (globals.resourceGroup === undefined && globals.clusterName === undefined) {
      kubeConfig = loaded;
      return kubeConfig;
    }
    const selected = selectClusterContext(
      loaded,
      {
        ...(globals.resourceGroup === undefined ? {} : { resourceGroup: globals.resourceGroup }),
        ...(globals.clusterName === undefined ? {} : { clusterName: globals.clusterName }),
      },
      globals.context,
    );
    io.stderr.write(selected.note);
    kubeConfig = selected.kubeConfig;
    return kubeConfig;
  };
  return {
    stdout: io.stdout,
    stderr: io.stderr,
    abortSignal: io.abortSignal,
    reportUnreadable: (objects) => {
      if (objects.length === 0) return;
      io.unreadable?.push(...objects);
      io.stderr.write(
        `warning: ${String(objects.length)} object${objects.length === 1 ? '' : 's'} in the cluster could not be read (listed above)\n`,
      );
    },
    cluster: () => {
      cluster ??= new ClusterClient(
        selectedKubeConfig(),
        io.crds === undefined ? {} : { crds: io.crds },
      );
      return cluster;
    },
    kubeConfig: selectedKubeConfig,
    azure: () => {
      const endpoint = globals.armEndpoint ?? io.env.AZURE_RESOURCE_MANAGER_ENDPOINT;
      const authorityHost = io.env.AZURE_AUTHORITY_HOST;
      if (io.azure !== undefined)
        return Promise.resolve({
          ...(authorityHost === undefined ? {} : { authorityHost }),
          ...io.azure,
          ...(endpoint === undefined ? {} : { endpoint }),
        });
      return defaultAzureCredential().then((credential) => ({
        credential,
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(authorityHost === undefined ? {} : { authorityHost }),
      }));
    },
  };
}

/**
 * `DefaultAzureCredential` (Azure CLI login, environment, workload identity, managed identity),
 * loaded only when a command talks to ARM so that Kubernetes-only commands start fast.
 */
async function defaultAzureCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}

/**
 * The operation mode: what the cluster records (the chart's `operationMode` or `enable --mode`), else
 * the flag, else `standard`. A flag that disagrees with the record is refused: MIC and NMI run in the
 * recorded mode, so acting in the other one would assign or authorise what they do not.
 */
export async function resolveMode(
  context: CommandContext,
  flag: string | undefined,
): Promise<ClusterSettings['mode']> {
  const wanted = flag === undefined ? undefined : checkMode(flag);
  const recorded = await context.cluster().getSettings();
  if (recorded === undefined) return wanted ?? 'standard';
  if (wanted !== undefined && wanted !== recorded.mode) {
    throw new CliError(
      `--mode ${wanted} disagrees with the cluster, which runs in ${recorded.mode} mode (${recordName(recorded)})`,
      { exitCode: ExitCode.Usage, hint: switchHint(recorded, wanted) },
    );
  }
  return recorded.mode;
}

/** Validates a `--mode` value as a usage error. */
export function checkMode(flag: string): ClusterSettings['mode'] {
  if (flag !== 'standard' && flag !== 'managed') {
    throw new CliError(`unknown mode ${JSON.stringify(flag)}; use standard or managed`, {
      exitCode: ExitCode.Usage,
    });
  }
  return flag;
}

/** Where the mode is recorded, and by whom, for messages. */
export function recordName(recorded: ClusterSettings): string {
  const owner = recorded.managedBy === 'Helm' ? ', set by the Helm chart' : '';
  return `configmap ${SETTINGS_NAMESPACE}/${SETTINGS_CONFIG_MAP}${owner}`;
}

/** How to switch the recorded mode to `wanted`: through the chart when it owns the record. */
export function switchHint(recorded: ClusterSettings, wanted: ClusterSettings['mode']): string {
  return recorded.managedBy === 'Helm'
    ? `drop --mode; to switch, run helm upgrade <release> deploy/charts/pod-identity --reuse-values --set operationMode=${wanted} (docs/helm-values.md)`
    : `drop --mode; to switch, run pod-identity enable --mode ${wanted} --switch-mode`;
}

/** Validates a pod identity or exception name (RFC 1123 subdomain) as a usage error. */
export function checkName(name: string, flag = '--name'): void {
  usage(() => {
    validatePodIdentityName(name, flag);
  });
}

/** Validates a namespace name (RFC 1123 label). */
export function checkNamespace(namespace: string): void {
  if (!isRfc1123Label(namespace)) {
    throw new CliError(
      `--namespace: ${JSON.stringify(namespace)} is not a valid namespace name (RFC 1123 label)`,
      { exitCode: ExitCode.Usage },
    );
  }
}

/** Validates a binding selector, which pods carry as the value of their `aadpodidbinding` label. */
export function checkSelector(selector: string): void {
  if (selector === '' || !isLabelValue(selector)) {
    throw new CliError(
      `--binding-selector: ${JSON.stringify(selector)} is not a valid label value (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)`,
      { exitCode: ExitCode.Usage },
    );
  }
}

/**
 * Parses `--pod-labels key=value,key2=value2` (kubectl's label syntax) into a map.
 * @throws {@link CliError} (usage) for an empty list, a missing `=`, or an invalid key or value
 */
export function parsePodLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0)
    throw new CliError('--pod-labels: give at least one key=value', { exitCode: ExitCode.Usage });
  for (const part of parts) {
    const at = part.indexOf('=');
    if (at <= 0)
      throw new CliError(`--pod-labels: ${JSON.stringify(part)} is not key=value`, {
        exitCode: ExitCode.Usage,
      });
    const key = part.slice(0, at);
    const value = part.slice(at + 1);
    if (!isLabelKey(key))
      throw new CliError(`--pod-labels: ${JSON.stringify(key)} is not a valid label key`, {
        exitCode: ExitCode.Usage,
      });
    if (!isLabelValue(value))
      throw new CliError(`--pod-labels: ${JSON.stringify(value)} is not a valid label value`, {
        exitCode: ExitCode.Usage,
      });
    labels[key] = value;
  }
  return labels;
}

/** Runs a check that throws core's ValidationError and reports it as a usage error. */
export function usage(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (ValidationError.is(error))
      throw new CliError(error.message, { exitCode: ExitCode.Usage, cause: error });
    throw error;
  }
}
