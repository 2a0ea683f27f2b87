import { hostname } from 'node:os';
import {
  normalizeGoFlags,
  parseGoBool,
  parseGoDuration,
  parseIntegerFlag,
} from '@pod-identity/core';
import { Command, CommanderError, Option } from 'commander';

/** Every MIC flag after parsing, with the original's defaults (`cmd/mic/main.go`). */
export interface MicCliOptions {
  kubeconfig: string;
  cloudconfig: string;
  forceNamespaced: boolean;
  version: boolean;
  syncRetryDurationMs: number;
  leaderElectionInstance: string;
  leaderElectionNamespace: string;
  leaderElectionName: string;
  leaderElectionDurationMs: number;
  httpProbePort: number;
  prometheusPort: number;
  enableProfile: boolean;
  enableScaleFeatures: boolean;
  createDeleteBatch: number;
  clientQps: number;
  immutableUserMsis: string[];
  configMapName: string;
  typeUpgradeStatusKey: string;
  enableTypeUpgrade: boolean;
  /** Not in the original: adopt the Go MIC's assignments into the ownership ledger when leading. */
  adoptGoMicAssignments: boolean;
  updateUserMsiMaxRetry: number;
  updateUserMsiRetryIntervalMs: number;
  identityAssignmentReconcileIntervalMs: number;
  logFormat: 'text' | 'json';
  customUserAgent: string;
  /** Not in the original: the ARM endpoint (default from the cloud in azure.json). */
  armEndpoint: string;
  /** Not in the original: a PEM CA bundle that ARM and Entra certificates chain to (emulators). */
  armCaFile: string;
  /** Not in the original: the Entra authority host (default from the cloud). */
  authorityHost: string;
  /** Not in the original: poll interval of ARM long-running operations. */
  armPollIntervalMs: number;
  /** `-v`: klog verbosity; 4 or more logs at debug level. */
  verbosity: number;
}

function wrap<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new CommanderError(2, 'mic.invalidArgument', (error as Error).message);
    }
  };
}

const parseInteger =
  (min: number, max: number) =>
  (value: string): number =>
    parseIntegerFlag(value, min, max);

/** Old spelling → kebab-case flag, filled by {@link addFlag}; read by {@link parseMicArgs}. */
const LEGACY_SPELLINGS: Record<string, string> = {};

/**
 * A flag with its kebab-case name and, if it changed, its old spelling, which
 * {@link normalizeGoFlags} rewrites to the kebab-case flag before commander parses the line.
 */
function addFlag(
  program: Command,
  kebab: string,
  legacy: string | undefined,
  description: string,
  build: (option: Option) => Option,
): void {
  const name = kebab.replace(/^--([\w-]+).*$/u, '$1');
  if (legacy !== undefined) LEGACY_SPELLINGS[legacy.replace(/^--/u, '')] = name;
  program.addOption(
    build(
      new Option(kebab, legacy === undefined ? description : `${description} (also ${legacy})`),
    ),
  );
}

/** A Go-style boolean flag: `--flag`, `--flag=true|false`. */
const bool = (o: Option): Option => o.preset('true').argParser(wrap(parseGoBool));
/** A Go duration flag (`90s`, `3m`) in milliseconds, with its default as written. */
const duration =
  (def: string) =>
  (o: Option): Option =>
    o.default(parseGoDuration(def), def).argParser(wrap(parseGoDuration));
/** An integer flag within bounds. */
const integer =
  (def: number, min: number, max: number) =>
  (o: Option): Option =>
    o.default(def).argParser(wrap(parseInteger(min, max)));
/** A string flag. */
const text =
  (def: string) =>
  (o: Option): Option =>
    o.default(def);

/** Kubernetes and the daemon: kubeconfig, azure.json, passes, leader election, ports. */
function addClusterFlags(program: Command): void {
  addFlag(
    program,
    '--kubeconfig <path>',
    undefined,
    'kubeconfig file; in-cluster configuration when empty',
    text(''),
  );
  addFlag(
    program,
    '--cloudconfig <path>',
    '--cloud-config',
    'azure.json path; environment variables when empty',
    text(''),
  );
  addFlag(
    program,
    '--force-namespaced [bool]',
    '--forceNamespaced',
    'bind identities only within their namespace (env FORCENAMESPACED=true too)',
    bool,
  );
  addFlag(program, '--version [bool]', undefined, 'print the version and exit', bool);
  addFlag(
    program,
    '--sync-retry-duration <duration>',
    '--syncRetryDuration',
    'interval of full planning passes',
    duration('3600s'),
  );
  addFlag(
    program,
    '--leader-election-instance <name>',
    undefined,
    'this replica’s leader election identity',
    text(hostname()),
  );
  addFlag(
    program,
    '--leader-election-namespace <ns>',
    undefined,
    'namespace of the leader election Lease',
    text('default'),
  );
  addFlag(
    program,
    '--leader-election-name <name>',
    undefined,
    'name of the leader election Lease',
    text('aad-pod-identity-mic'),
  );
  addFlag(
    program,
    '--leader-election-duration <duration>',
    undefined,
    'leader election lease duration',
    duration('15s'),
  );
  addFlag(
    program,
    '--http-probe-port <port>',
    undefined,
    'port of /healthz',
    integer(8080, 0, 65535),
  );
  addFlag(
    program,
    '--prometheus-port <port>',
    undefined,
    'port of /metrics',
    integer(8888, 0, 65535),
  );
  addFlag(
    program,
    '--enable-profile [bool]',
    '--enableProfile',
    'accepted for compatibility; no profiling endpoint is served',
    bool,
  );
  addFlag(
    program,
    '--enable-scale-features [bool]',
    '--enableScaleFeatures',
    'deprecated no-op',
    bool,
  );
}

/** Assignment work: record writes, the API write rate, immutable identities, type upgrade, ARM retries. */
function addAssignmentFlags(program: Command): void {
  addFlag(
    program,
    '--create-delete-batch <n>',
    '--createDeleteBatch',
    'concurrent record writes per scale set or VM',
    integer(20, 1, 10_000),
  );
  addFlag(
    program,
    '--client-qps <n>',
    '--clientQps',
    'Kubernetes API writes per second per client (records; ownership ledger and events), burst twice that',
    integer(5, 1, 100_000),
  );
  addFlag(
    program,
    '--immutable-user-msis <clientIds>',
    undefined,
    'comma-separated client IDs never removed',
    text(''),
  );
  addFlag(
    program,
    '--config-map-name <name>',
    undefined,
    'legacy type-upgrade ConfigMap (no-op)',
    text('aad-pod-identity-config'),
  );
  addFlag(
    program,
    '--type-upgrade-status-key <key>',
    undefined,
    'legacy type-upgrade key (no-op)',
    text('type-upgrade-status'),
  );
  addFlag(
    program,
    '--enable-type-upgrade [bool]',
    undefined,
    'accepted; MIC does not rewrite objects: run `pod-identity upgrade-types` (objects it cannot read get a Warning event)',
    (o) => bool(o).default(true),
  );
  addFlag(
    program,
    '--adopt-go-mic-assignments [bool]',
    undefined,
    'when leading, record as added by MIC the identities that AzureAssignedIdentities of the original (Go) MIC prove it assigned, so they are removed once unused',
    (o) => bool(o).default(true),
  );
  addFlag(
    program,
    '--update-user-msi-max-retry <n>',
    undefined,
    'retries of a PATCH after refused identities are taken out',
    integer(2, 0, 100),
  );
  addFlag(
    program,
    '--update-user-msi-retry-interval <duration>',
    undefined,
    'wait before such a retry',
    duration('1s'),
  );
  addFlag(
    program,
    '--identity-assignment-reconcile-interval <duration>',
    undefined,
    'interval of the drift re-add check',
    duration('3m'),
  );
}

/** Azure endpoints and logging (the hidden klog flags accepted for compatibility). */
function addAzureAndLogFlags(program: Command): void {
  addFlag(
    program,
    '--log-format <format>',
    undefined,
    'text or json (lines are JSON either way)',
    (o) => o.default('text').choices(['text', 'json']),
  );
  addFlag(
    program,
    '--custom-user-agent <ua>',
    undefined,
    'appended to the ARM user agent',
    text(''),
  );
  addFlag(
    program,
    '--arm-endpoint <url>',
    undefined,
    'ARM endpoint (default from the cloud)',
    text(''),
  );
  addFlag(
    program,
    '--arm-ca-file <path>',
    undefined,
    'PEM CA bundle for ARM and Entra (emulators)',
    text(''),
  );
  addFlag(
    program,
    '--authority-host <url>',
    undefined,
    'Entra authority host (default from the cloud)',
    text(''),
  );
  addFlag(
    program,
    '--arm-poll-interval <duration>',
    undefined,
    'poll interval of ARM long-running operations',
    duration('2s'),
  );
  program.addOption(
    new Option('-v, --v <level>', 'klog verbosity')
      .default(0)
      .argParser(wrap(parseInteger(0, 10)))
      .hideHelp(),
  );
  program.addOption(new Option('--logtostderr [bool]').argParser(wrap(parseGoBool)).hideHelp());
}

/**
 * Builds the `pod-identity-mic` command (flags only; no action).
 * @returns a commander program that throws instead of exiting
 */
export function createMicCommand(): Command {
  const program = new Command('pod-identity-mic')
    .description(
      'Managed Identity Controller: assigns user-assigned identities to the scale sets and VMs of pods that need them',
    )
    .exitOverride()
    .allowExcessArguments(false);

  addClusterFlags(program);
  addAssignmentFlags(program);
  addAzureAndLogFlags(program);
  return program;
}

/**
 * Parses MIC's command line and environment into options.
 * @param argv - arguments after the program name
 * @param env - the environment (`FORCENAMESPACED`)
 * @param writeHelp - where `--help` writes its text
 * @throws CommanderError for bad usage (exit code 2) or `--help`
 */
export function parseMicArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  writeHelp: (text: string) => void = () => undefined,
): MicCliOptions {
  const program = createMicCommand();
  // Errors are reported by the caller from the thrown CommanderError; `--help` text goes to writeHelp.
  program.configureOutput({ writeOut: writeHelp, writeErr: () => undefined });
  program.parse(normalizeGoFlags(argv, LEGACY_SPELLINGS), { from: 'user' });
  const o = program.opts<Record<string, unknown>>();
  const bool = (key: string, def = false): boolean =>
    o[key] === undefined ? def : o[key] === true;
  return {
    kubeconfig: String(o.kubeconfig),
    cloudconfig: String(o.cloudconfig),
    forceNamespaced: bool('forceNamespaced') || env.FORCENAMESPACED === 'true',
    version: bool('version'),
    syncRetryDurationMs: o.syncRetryDuration as number,
    leaderElectionInstance: String(o.leaderElectionInstance),
    leaderElectionNamespace: String(o.leaderElectionNamespace),
    leaderElectionName: String(o.leaderElectionName),
    leaderElectionDurationMs: o.leaderElectionDuration as number,
    httpProbePort: o.httpProbePort as number,
    prometheusPort: o.prometheusPort as number,
    enableProfile: bool('enableProfile'),
    enableScaleFeatures: bool('enableScaleFeatures'),
    createDeleteBatch: o.createDeleteBatch as number,
    clientQps: o.clientQps as number,
    immutableUserMsis: String(o.immutableUserMsis)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    configMapName: String(o.configMapName),
    typeUpgradeStatusKey: String(o.typeUpgradeStatusKey),
    enableTypeUpgrade: bool('enableTypeUpgrade', true),
    adoptGoMicAssignments: bool('adoptGoMicAssignments', true),
    updateUserMsiMaxRetry: o.updateUserMsiMaxRetry as number,
    updateUserMsiRetryIntervalMs: o.updateUserMsiRetryInterval as number,
    identityAssignmentReconcileIntervalMs: o.identityAssignmentReconcileInterval as number,
    logFormat: o.logFormat === 'json' ? 'json' : 'text',
    customUserAgent: String(o.customUserAgent),
    armEndpoint: String(o.armEndpoint),
    armCaFile: String(o.armCaFile),
    authorityHost: String(o.authorityHost),
    armPollIntervalMs: o.armPollInterval as number,
    verbosity: o.v as number,
  };
}
