import {
  normalizeGoFlags,
  parseGoBool,
  parseIntegerFlag,
  type ExceptionMatch,
  type OperationMode,
} from '@pod-identity/core';
import type { RefusalStyle } from './refusal-response.js';
import { Command, CommanderError, Option } from 'commander';

/** The daemon's settings, from flags and environment, with the original NMI's defaults. */
export interface NmiFlags {
  version: boolean;
  help: boolean;
  nmiListenAddress: string;
  nmiPort: number;
  metadataIp: string;
  metadataPort: number;
  node: string;
  iptUpdateIntervalSec: number;
  forceNamespaced: boolean;
  /** Not in the original (which had only `any`): how exceptions select pods. */
  exceptionMatch: ExceptionMatch;
  micNamespace: string;
  httpProbePort: number;
  retryAttemptsForCreated: number;
  retryAttemptsForAssigned: number;
  findIdentityRetryInterval: number;
  enableProfile: boolean;
  enableScaleFeatures: boolean;
  blockInstanceMetadata: boolean;
  metadataHeaderRequired: boolean;
  prometheusPort: number;
  operationMode: OperationMode;
  allowNetworkPluginKubenet: boolean;
  kubeletConfig: string;
  setRetryAfterHeader: boolean;
  /** Not in the original: `imds` refusals (default) or the original's statuses. */
  refusalStyle: RefusalStyle;
  enableConntrackDeletion: boolean;
  logFormat: 'text' | 'json';
  logLevel: string;
  customUserAgent: string;
  kubeconfig: string;
  manageIptables: boolean;
  /** Federated mode is on when this is set: the node's own kubeconfig for TokenRequest. */
  tokenRequestKubeconfig: string;
  federatedTenantId: string;
  federatedAuthorityHost: string;
  upstreamTimeout: number;
  upstreamRetryAfter: number;
}

type Kind = 'string' | 'int' | 'port' | 'bool';
interface FlagSpec {
  key: keyof NmiFlags;
  kind: Kind;
  /** Old spellings accepted for compatibility with the original's manifests and charts. */
  aliases?: string[];
  help: string;
  /** Allowed values, compared lower-cased (the original lower-cased the operation mode). */
  choices?: readonly string[];
}

/** Every flag, kebab-case, with the original's spellings as aliases. */
const FLAGS: Record<string, FlagSpec> = {
  version: { key: 'version', kind: 'bool', help: 'print the version and exit' },
  help: { key: 'help', kind: 'bool', help: 'print this help' },
  'nmi-listen-address': {
    key: 'nmiListenAddress',
    kind: 'string',
    help: 'address the token server listens on (default 127.0.0.1)',
  },
  'nmi-port': { key: 'nmiPort', kind: 'port', help: 'token server port (default 2579)' },
  'metadata-ip': {
    key: 'metadataIp',
    kind: 'string',
    help: 'instance metadata service address (default 169.254.169.254)',
  },
  'metadata-port': {
    key: 'metadataPort',
    kind: 'port',
    help: 'instance metadata service port (default 80)',
  },
  node: { key: 'node', kind: 'string', help: 'this node’s name (default $NODE_NAME); required' },
  'ipt-update-interval-sec': {
    key: 'iptUpdateIntervalSec',
    kind: 'int',
    help: 'seconds between iptables checks (default 60)',
  },
  'force-namespaced': {
    key: 'forceNamespaced',
    kind: 'bool',
    aliases: ['forceNamespaced'],
    help: 'identities serve only pods of their own namespace (default false, or $FORCENAMESPACED=true)',
  },
  'exception-match': {
    key: 'exceptionMatch',
    kind: 'string',
    choices: ['any', 'all'],
    help: 'a pod is excepted when it carries any one label of an AzurePodIdentityException (any, the original’s rule) or every one (all) (default any)',
  },
  'mic-namespace': {
    key: 'micNamespace',
    kind: 'string',
    aliases: ['MICNamespace'],
    help: 'accepted for compatibility; MIC needs an AzurePodIdentityException (default default)',
  },
  'http-probe-port': {
    key: 'httpProbePort',
    kind: 'port',
    help: 'port of /healthz (default 8080)',
  },
  'retry-attempts-for-created': {
    key: 'retryAttemptsForCreated',
    kind: 'int',
    help: 'attempts while the assigned identity does not exist yet (default 16)',
  },
  'retry-attempts-for-assigned': {
    key: 'retryAttemptsForAssigned',
    kind: 'int',
    help: 'more attempts while it is Created (default 4)',
  },
  'upstream-timeout': {
    key: 'upstreamTimeout',
    kind: 'int',
    help: 'seconds a request waits for IMDS or Entra before 503 + Retry-After; the token is still fetched and cached (default 5)',
  },
  'upstream-retry-after': {
    key: 'upstreamRetryAfter',
    kind: 'int',
    help: 'Retry-After seconds of every 503 about IMDS, Entra or shutdown (default 2)',
  },
  'find-identity-retry-interval': {
    key: 'findIdentityRetryInterval',
    kind: 'int',
    help: 'seconds between attempts (default 5)',
  },
  'enable-profile': {
    key: 'enableProfile',
    kind: 'bool',
    aliases: ['enableProfile'],
    help: 'accepted for compatibility; no profiling endpoint is served',
  },
  'enable-scale-features': {
    key: 'enableScaleFeatures',
    kind: 'bool',
    aliases: ['enableScaleFeatures'],
    help: 'watch only this node’s assigned identities (default true)',
  },
  'block-instance-metadata': {
    key: 'blockInstanceMetadata',
    kind: 'bool',
    help: 'answer 403 to /metadata/instance (default false)',
  },
  'metadata-header-required': {
    key: 'metadataHeaderRequired',
    kind: 'bool',
    help: 'require Metadata: true (default true)',
  },
  'prometheus-port': {
    key: 'prometheusPort',
    kind: 'port',
    help: 'port of /metrics (default 9090)',
  },
  'operation-mode': {
    key: 'operationMode',
    kind: 'string',
    choices: ['standard', 'managed'],
    help: 'standard or managed (default standard)',
  },
  'allow-network-plugin-kubenet': {
    key: 'allowNetworkPluginKubenet',
    kind: 'bool',
    help: 'run on kubenet despite ARP spoofing (default false)',
  },
  'kubelet-config': {
    key: 'kubeletConfig',
    kind: 'string',
    help: 'kubelet defaults file checked for kubenet (default /etc/default/kubelet)',
  },
  'set-retry-after-header': {
    key: 'setRetryAfterHeader',
    kind: 'bool',
    help: 'answer 503 + Retry-After: 20 while an identity may still be assigned (default false)',
  },
  'refusal-style': {
    key: 'refusalStyle',
    kind: 'string',
    choices: ['imds', 'original'],
    help: 'imds: refusals as IMDS answers them (400 Identity not found when nothing can change it, 503 + Retry-After while it may), which every Azure SDK reads correctly; original: the original NMI’s statuses and plain-text bodies (default imds)',
  },
  'enable-conntrack-deletion': {
    key: 'enableConntrackDeletion',
    kind: 'bool',
    help: 'drop conntrack entries to IMDS after installing the redirect (default false)',
  },
  'log-format': {
    key: 'logFormat',
    kind: 'string',
    choices: ['text', 'json'],
    help: 'accepted; logs are JSON lines (pino) either way',
  },
  'log-level': {
    key: 'logLevel',
    kind: 'string',
    help: 'log level: debug, info, warn, error (default $LOG_LEVEL or info); klog’s -v=N also works',
  },
  'custom-user-agent': {
    key: 'customUserAgent',
    kind: 'string',
    help: 'appended to the user agent of calls to IMDS',
  },
  kubeconfig: {
    key: 'kubeconfig',
    kind: 'string',
    help: 'kubeconfig file (default in-cluster or $KUBECONFIG)',
  },
  'manage-iptables': {
    key: 'manageIptables',
    kind: 'bool',
    help: 'install and maintain the iptables redirect (default true)',
  },
  'token-request-kubeconfig': {
    key: 'tokenRequestKubeconfig',
    kind: 'string',
    help: "federated mode: the node's own kubeconfig (the kubelet's, e.g. /var/lib/kubelet/kubeconfig), with which pods' service-account tokens are requested; unset: federated mode off",
  },
  'federated-tenant-id': {
    key: 'federatedTenantId',
    kind: 'string',
    help: 'federated mode: tenant of service accounts without azure.workload.identity/tenant-id (default $AZURE_TENANT_ID)',
  },
  'federated-authority-host': {
    key: 'federatedAuthorityHost',
    kind: 'string',
    help: 'federated mode: Microsoft Entra authority host (default $AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)',
  },
};

/** The defaults of the original NMI (`cmd/nmi/main.go`). */
export function defaultNmiFlags(env: Readonly<Record<string, string | undefined>> = {}): NmiFlags {
  return {
    version: false,
    help: false,
    nmiListenAddress: '127.0.0.1',
    nmiPort: 2579,
    metadataIp: '169.254.169.254',
    metadataPort: 80,
    node: env.NODE_NAME ?? '',
    iptUpdateIntervalSec: 60,
    forceNamespaced: env.FORCENAMESPACED === 'true',
    exceptionMatch: 'any',
    micNamespace: 'default',
    httpProbePort: 8080,
    retryAttemptsForCreated: 16,
    retryAttemptsForAssigned: 4,
    findIdentityRetryInterval: 5,
    enableProfile: false,
    enableScaleFeatures: true,
    blockInstanceMetadata: false,
    metadataHeaderRequired: true,
    prometheusPort: 9090,
    operationMode: 'standard',
    allowNetworkPluginKubenet: false,
    kubeletConfig: '/etc/default/kubelet',
    setRetryAfterHeader: false,
    refusalStyle: 'imds',
    enableConntrackDeletion: false,
    logFormat: 'text',
    logLevel: env.LOG_LEVEL ?? 'info',
    customUserAgent: '',
    kubeconfig: env.KUBECONFIG ?? '',
    manageIptables: true,
    tokenRequestKubeconfig: '',
    federatedTenantId: env.AZURE_TENANT_ID ?? '',
    federatedAuthorityHost: env.AZURE_AUTHORITY_HOST ?? '',
    upstreamTimeout: 5,
    upstreamRetryAfter: 2,
  };
}

/** The outcome of {@link parseNmiFlags}. */
export type NmiFlagsResult = { ok: true; flags: NmiFlags } | { ok: false; error: string };

const MAX_COUNT = 2_147_483_647;

/** Old spelling → kebab-case flag, for {@link normalizeGoFlags}. */
const LEGACY_SPELLINGS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(FLAGS).flatMap(([name, spec]) => (spec.aliases ?? []).map((a) => [a, name])),
);

/** Turns a value parser's RangeError into a usage error that names the flag. */
function argParser<T>(flag: string, parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new CommanderError(2, 'nmi.invalidArgument', `--${flag}: ${(error as Error).message}`);
    }
  };
}

function valueParser(name: string, spec: FlagSpec): (value: string) => unknown {
  switch (spec.kind) {
    case 'bool':
      return argParser(name, parseGoBool);
    case 'port':
      return argParser(name, (v) => parseIntegerFlag(v, 0, 65535));
    case 'int':
      return argParser(name, (v) => parseIntegerFlag(v, 0, MAX_COUNT));
    case 'string': {
      const choices = spec.choices;
      if (choices === undefined) return (v) => v;
      return argParser(name, (v) => {
        const lower = v.toLowerCase();
        if (!choices.includes(lower)) {
          throw new RangeError(`must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
        }
        return lower;
      });
    }
  }
}

/**
 * Builds the `pod-identity-nmi` command (flags only; no action): every flag kebab-case, the
 * original's camel-case spellings as aliases (see {@link parseNmiFlags}), booleans as `--flag`,
 * `--flag=false` or `--flag false`, and klog's `-v=N`.
 * @returns a commander program that throws instead of exiting and prints nothing itself
 */
export function createNmiCommand(): Command {
  const program = new Command('pod-identity-nmi')
    .description(
      'Node Managed Identity: answers the pods of this node’s IMDS token requests for the identities they may use',
    )
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .helpOption(false)
    .allowExcessArguments(false);
  for (const [name, spec] of Object.entries(FLAGS)) {
    const aliases = (spec.aliases ?? []).map((a) => `--${a}`).join(', ');
    const help = aliases === '' ? spec.help : `${spec.help} (also ${aliases})`;
    const option = new Option(
      `${name === 'help' ? '-h, ' : ''}--${name} ${spec.kind === 'bool' ? '[bool]' : '<value>'}`,
      help,
    ).argParser(valueParser(name, spec));
    program.addOption(spec.kind === 'bool' ? option.preset('true') : option);
  }
  // klog's verbosity: 0-1 info, 2 and more debug.
  program.addOption(
    new Option('-v, --v <level>', 'klog verbosity; 2 or more logs at debug level')
      .argParser(argParser('v', (v) => parseIntegerFlag(v, 0, 10)))
      .hideHelp(),
  );
  return program;
}

/**
 * Parses the daemon's command line so the original's manifests work unchanged: `--flag value`,
 * `--flag=value`, a single dash (`-node=x`), booleans as `--flag`, `--flag=false` or
 * `--flag false`, the old camel-case spellings (`--forceNamespaced`, `--MICNamespace`,
 * `--enableScaleFeatures`, `--enableProfile`), and klog's `-v=N` (mapped to a log level).
 *
 * @param argv - the arguments after the program name
 * @param env - the environment (`NODE_NAME`, `FORCENAMESPACED`, `LOG_LEVEL`, `KUBECONFIG`)
 * @returns the flags, or the first error
 */
export function parseNmiFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): NmiFlagsResult {
  const program = createNmiCommand();
  try {
    program.parse(normalizeGoFlags(argv, LEGACY_SPELLINGS), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return { ok: false, error: error.message.replace(/^error: /u, '') };
    }
    throw error;
  }
  const given = program.opts<Record<string, unknown>>();
  const flags = defaultNmiFlags(env);
  const set = flags as unknown as Record<string, unknown>;
  for (const [name, spec] of Object.entries(FLAGS)) {
    const value = given[camel(name)];
    if (value !== undefined) set[spec.key] = value;
  }
  if (typeof given.v === 'number') flags.logLevel = given.v >= 2 ? 'debug' : 'info';
  if (!flags.help && !flags.version && flags.node === '')
    return { ok: false, error: '--node (or $NODE_NAME) is required' };
  if (flags.operationMode === 'managed' && !flags.forceNamespaced) {
    return { ok: false, error: 'managed mode requires --forceNamespaced (as in the original)' };
  }
  return { ok: true, flags };
}

function camel(kebab: string): string {
  return kebab.replace(/-([a-z])/gu, (_, c: string) => c.toUpperCase());
}

/** The `--help` text. */
export function nmiFlagsHelp(): string {
  return createNmiCommand().helpInformation();
}

/** The message the original printed when it refused to run on kubenet. */
export const KUBENET_REFUSAL =
  'AAD Pod Identity is not supported for Kubenet. Review https://azure.github.io/aad-pod-identity/docs/configure/aad_pod_identity_on_kubenet/ for more details.';

/**
 * Whether a kubelet defaults file selects kubenet (`--network-plugin=kubenet`), where pods with
 * `CAP_NET_RAW` can spoof other pods' IPs (CVE-2021-1677) and so steal their identities.
 * @param kubeletDefaults - the file's text
 */
export function isKubenet(kubeletDefaults: string): boolean {
  return /--network-plugin(=|\s+)kubenet\b/.test(kubeletDefaults);
}
