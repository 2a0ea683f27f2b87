import { readFile } from 'node:fs/promises';
import { pino, type Logger as PinoLogger } from 'pino';
import { loadKubeConnection } from '@pod-identity/core/kubernetes';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { NMI_VERSION, createNmi, type Nmi, type NmiFederatedOptions } from './create-nmi.js';
import { startNmiHttpServers, type NmiHttpServers } from './nmi-http-servers.js';
import {
  KUBENET_REFUSAL,
  isKubenet,
  nmiFlagsHelp,
  parseNmiFlags,
  type NmiFlags,
} from './nmi-flags.js';

/** Where the CLI writes and how it ends; the real process by default. */
export interface NmiCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves with the signal's name when the process is asked to stop (SIGTERM or SIGINT). */
  stopRequested: Promise<string>;
}

/** The original refused to run on kubenet, where a pod with `CAP_NET_RAW` can take another pod's IP. */
async function refusesKubenet(flags: NmiFlags, logger: PinoLogger): Promise<boolean> {
  if (flags.allowNetworkPluginKubenet) return false;
  let text: string;
  try {
    text = await readFile(flags.kubeletConfig, 'utf8');
  } catch (error) {
    logger.fatal(
      { err: error, path: flags.kubeletConfig },
      'cannot read the kubelet config to check for kubenet',
    );
    return true;
  }
  if (!isKubenet(text)) return false;
  logger.fatal({}, KUBENET_REFUSAL);
  return true;
}

async function startNmi(flags: NmiFlags, registry: Registry, logger: PinoLogger): Promise<Nmi> {
  // The lean connection (token, token file or client certificate; exec plugins and the like through
  // client-node, loaded only for them): NMI never loads client-node's generated models.
  const kubeConfig = await loadKubeConnection(flags.kubeconfig, process.env);
  const federated =
    flags.tokenRequestKubeconfig === '' ? undefined : await federatedOptions(flags);
  return createNmi({
    nodeName: flags.node,
    kubeConfig,
    operationMode: flags.operationMode,
    listenAddress: flags.nmiListenAddress,
    port: flags.nmiPort,
    metadataIp: flags.metadataIp,
    metadataPort: flags.metadataPort,
    forceNamespaced: flags.forceNamespaced,
    exceptionMatch: flags.exceptionMatch,
    micNamespace: flags.micNamespace,
    retryAttemptsForCreated: flags.retryAttemptsForCreated,
    retryAttemptsForAssigned: flags.retryAttemptsForAssigned,
    findIdentityRetryIntervalMs: flags.findIdentityRetryInterval * 1000,
    enableScaleFeatures: flags.enableScaleFeatures,
    blockInstanceMetadata: flags.blockInstanceMetadata,
    metadataHeaderRequired: flags.metadataHeaderRequired,
    setRetryAfterHeader: flags.setRetryAfterHeader,
    // 0 would refuse every uncached request at once: a second is the least.
    upstreamTimeoutMs: Math.max(1, flags.upstreamTimeout) * 1000,
    upstreamRetryAfterSeconds: Math.max(1, flags.upstreamRetryAfter),
    refusalStyle: flags.refusalStyle,
    customUserAgent: flags.customUserAgent,
    iptables: flags.manageIptables
      ? {
          updateIntervalMs: flags.iptUpdateIntervalSec * 1000,
          conntrackDeletion: flags.enableConntrackDeletion,
        }
      : false,
    ...(federated === undefined ? {} : { federated }),
    registry,
    logger,
  });
}

async function federatedOptions(flags: NmiFlags): Promise<NmiFederatedOptions> {
  const tokenRequestKubeConfig = await loadKubeConnection(flags.tokenRequestKubeconfig);
  return {
    tokenRequestKubeConfig,
    ...(flags.federatedTenantId === '' ? {} : { defaultTenantId: flags.federatedTenantId }),
    ...(flags.federatedAuthorityHost === '' ? {} : { authorityHost: flags.federatedAuthorityHost }),
  };
}

/**
 * Runs `pod-identity-nmi` until it is asked to stop: parses the original's flags, refuses kubenet,
 * starts the probe and metrics servers (`Not Active` until NMI is ready), then NMI with the iptables
 * redirect, and on a stop request removes the rules and closes everything.
 * @param argv - arguments after the program name
 * @param env - the environment (`NODE_NAME`, `FORCENAMESPACED`, `LOG_LEVEL`, `KUBECONFIG`)
 * @param io - output and the stop signal
 * @returns the exit code: 0 clean stop, 1 failure (or rules not all removed), 2 bad usage
 */
export async function runNmiCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: NmiCliIo,
): Promise<number> {
  const parsed = parseNmiFlags(argv, env);
  if (!parsed.ok) {
    io.stderr(`pod-identity-nmi: ${parsed.error}\n\n${nmiFlagsHelp()}`);
    return 2;
  }
  const flags = parsed.flags;
  if (flags.help) {
    io.stdout(nmiFlagsHelp());
    return 0;
  }
  if (flags.version) {
    io.stdout(`${NMI_VERSION}\n`);
    return 0;
  }
  // createNmi binds `component: nmi` (and the node) on the logger it is given; the CLI's own lines
  // get the same key from a child, so every line carries it exactly once.
  const root = pino({ level: flags.logLevel });
  const logger = root.child({ component: 'nmi' });
  if (await refusesKubenet(flags, logger)) return 1;

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let nmi: Nmi | undefined;
  let servers: NmiHttpServers;
  try {
    servers = await startNmiHttpServers({
      nmi: { isActive: () => nmi?.isActive() ?? false },
      registry,
      probePort: flags.httpProbePort,
      metricsPort: flags.prometheusPort,
      logger,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'cannot listen on the probe or metrics port');
    return 1;
  }
  try {
    nmi = await startNmi(flags, registry, root);
  } catch (error) {
    await servers.close();
    throw error;
  }
  if (flags.enableProfile)
    logger.warn({}, 'enableProfile is accepted but no profiling endpoint is served');
  // With the redirect managed, the manager drops the old connections after its first install.
  if (flags.enableConntrackDeletion && !flags.manageIptables)
    logger.warn(
      {},
      'enable-conntrack-deletion has no effect with manage-iptables=false: nmi installs no redirect',
    );

  const signal = await io.stopRequested;
  logger.info({ signal }, 'received signal, shutting down');
  try {
    await nmi.close();
    return 0;
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    return 1;
  } finally {
    await servers.close();
  }
}
