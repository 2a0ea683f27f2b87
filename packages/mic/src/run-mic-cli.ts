import { readFile } from 'node:fs/promises';
import type * as AzureIdentityModule from '@azure/identity';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { preloadArmCompute } from '@pod-identity/core/arm';
import { inClusterConnection, loadKubeConnection } from '@pod-identity/core/kubernetes';
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { cloudEndpoints, loadCloudConfig, type CloudConfig } from './cloud-config.js';
import { createMic } from './create-mic.js';
import { parseMicArgs } from './mic-cli-options.js';
import { createReloadingCredential } from './reloading-credential.js';
import { startMicHttpServers } from './mic-http-servers.js';
import { VERSION } from './version.js';

/** The version `--version` prints (the package's, written in at build time). */
export const MIC_VERSION: string = VERSION;

/** Where the CLI writes and how it ends; the real process by default. */
export interface MicCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves when the process is asked to stop (SIGTERM or SIGINT). */
  stopRequested: Promise<void>;
}

/** How long after becoming active MIC waits before loading the ARM SDK and @azure/identity. */
const PRELOAD_DELAY_MS = 1000;

let identityModule: Promise<typeof AzureIdentityModule> | undefined;
/** `@azure/identity` (MSAL; about 25 MB and a second or more to import), loaded once. */
function loadIdentityModule(): Promise<typeof AzureIdentityModule> {
  identityModule ??= import('@azure/identity');
  return identityModule;
}

/**
 * A credential built when it is first asked for a token: MIC asks for one at its first ARM call, so
 * starting, listing and leading do not wait for `@azure/identity` to load.
 */
function lazyCredential(
  make: (module: typeof AzureIdentityModule) => TokenCredential,
): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(
      scopes: string | string[],
      options?: GetTokenOptions,
    ): Promise<AccessToken | null> {
      credential ??= loadIdentityModule().then(make);
      return (await credential).getToken(scopes, options);
    },
  };
}

function credentialFor(
  config: CloudConfig,
  authorityHost: string,
  customAuthority: boolean,
  ca: string | undefined,
): TokenCredential {
  const tls = ca === undefined ? {} : { tlsOptions: { ca } };
  return lazyCredential(({ ClientSecretCredential, ManagedIdentityCredential }) => {
    if (config.useManagedIdentityExtension) {
      return config.userAssignedIdentityID === ''
        ? new ManagedIdentityCredential(tls)
        : new ManagedIdentityCredential({ clientId: config.userAssignedIdentityID, ...tls });
    }
    return new ClientSecretCredential(config.tenantId, config.aadClientId, config.aadClientSecret, {
      authorityHost,
      // MSAL's instance discovery asks the public cloud (login.microsoftonline.com) to vouch for the
      // authority: an authority given with --authority-host (a private or emulated one) is used as
      // is, and nothing is sent to the public cloud for it.
      disableInstanceDiscovery: customAuthority,
      ...tls,
    });
  });
}

/**
 * Runs `pod-identity-mic` until it is asked to stop or loses leadership.
 * @param argv - arguments after the program name
 * @param env - the environment
 * @param io - output and the stop signal
 * @returns the exit code: 0 clean stop, 1 failure or lost leadership, 2 bad usage
 */
export async function runMicCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: MicCliIo,
): Promise<number> {
  let options;
  try {
    options = parseMicArgs(argv, env, io.stdout);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') return 0;
      io.stderr(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (options.version) {
    io.stdout(`${MIC_VERSION}\n`);
    return 0;
  }
  // The original checked this before anything else, even --help and --version; only running needs it.
  const namespace = env.MIC_POD_NAMESPACE ?? '';
  if (namespace === '') {
    io.stderr('MIC_POD_NAMESPACE must be set (the namespace MIC runs in)\n');
    return 1;
  }
  const logger = pino({
    level: options.verbosity >= 4 ? 'debug' : (env.LOG_LEVEL ?? 'info'),
    base: { component: 'mic' },
    redact: ['*.token', '*.access_token', '*.clientSecret', '*.aadClientSecret'],
  });
  if (options.enableProfile)
    logger.warn({}, 'profiling is not served; --enable-profile is ignored');

  let cloud: CloudConfig;
  let endpoints: { arm: string; authority: string };
  let ca: string | undefined;
  try {
    cloud = await loadCloudConfig(options.cloudconfig, env);
    endpoints = cloudEndpoints(cloud.cloud);
    ca = options.armCaFile === '' ? undefined : await readFile(options.armCaFile, 'utf8');
  } catch (error) {
    logger.error({ err: error }, 'invalid cloud configuration');
    return 1;
  }
  // The lean connection (token, token file or client certificate; exec plugins and the like through
  // client-node, loaded only for them): MIC's clients do not need client-node's generated models.
  let kubeConfig;
  try {
    kubeConfig =
      options.kubeconfig === ''
        ? inClusterConnection(env)
        : await loadKubeConnection(options.kubeconfig, env);
  } catch (error) {
    logger.error({ err: error }, 'cannot load the kubeconfig');
    return 1;
  }
  const authorityHost = options.authorityHost === '' ? endpoints.authority : options.authorityHost;
  const build = (config: CloudConfig): TokenCredential =>
    credentialFor(config, authorityHost, options.authorityHost !== '', ca);
  // azure.json is rewritten on the node when the cluster's service principal is rotated: follow it.
  // Settings from the environment cannot change under a running process.
  const cloudconfig = options.cloudconfig;
  const credential =
    cloudconfig === ''
      ? build(cloud)
      : createReloadingCredential({
          initial: cloud,
          load: () => loadCloudConfig(cloudconfig, env),
          build,
          logger,
        });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const mic = createMic({
    kubeConfig,
    credential,
    armEndpoint: options.armEndpoint === '' ? endpoints.arm : options.armEndpoint,
    armClientOptions: {
      ...(ca === undefined ? {} : { tlsOptions: { ca } }),
      userAgentOptions: {
        userAgentPrefix: `aad-pod-identity/MIC/${MIC_VERSION}${options.customUserAgent === '' ? '' : ` ${options.customUserAgent}`}`,
      },
    },
    namespace,
    forceNamespaced: options.forceNamespaced,
    immutableUserMsis: options.immutableUserMsis,
    adoptGoMicAssignments: options.adoptGoMicAssignments,
    clusterIdentityClientId: cloud.userAssignedIdentityID,
    leaderElection: {
      namespace: options.leaderElectionNamespace,
      name: options.leaderElectionName,
      instance: options.leaderElectionInstance,
      leaseDurationMs: options.leaderElectionDurationMs,
    },
    syncRetryIntervalMs: options.syncRetryDurationMs,
    identityAssignmentReconcileIntervalMs: options.identityAssignmentReconcileIntervalMs,
    updateUserMsiMaxRetry: options.updateUserMsiMaxRetry,
    updateUserMsiRetryIntervalMs: options.updateUserMsiRetryIntervalMs,
    createDeleteBatch: options.createDeleteBatch,
    clientQps: options.clientQps,
    armPollIntervalMs: options.armPollIntervalMs,
    logger,
    registry,
  });
  let servers;
  try {
    servers = await startMicHttpServers({
      mic,
      registry,
      probePort: options.httpProbePort,
      metricsPort: options.prometheusPort,
    });
  } catch (error) {
    logger.error({ err: error }, 'cannot listen on the probe or metrics port');
    return 1;
  }
  logger.info(
    {
      version: MIC_VERSION,
      probePort: servers.probePort,
      metricsPort: servers.metricsPort,
      instance: options.leaderElectionInstance,
    },
    'starting',
  );
  mic.start();
  // Once leading with synced caches, and after the first probe and planning pass had the event loop,
  // load what an assignment needs (the ARM SDK and @azure/identity), so a pod that comes later does
  // not wait for the imports; a pod that comes sooner loads them itself.
  void mic.whenActive().then(() => {
    setTimeout(() => {
      preloadArmCompute();
      loadIdentityModule().catch(() => undefined);
    }, PRELOAD_DELAY_MS).unref();
  });
  const outcome = await Promise.race([mic.done, io.stopRequested.then(() => 'signal' as const)]);
  logger.info({ reason: outcome }, 'shutting down');
  await mic.stop();
  await servers.close();
  return outcome === 'lost-leadership' ? 1 : 0;
}
