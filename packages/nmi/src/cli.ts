#!/usr/bin/env node
// pod-identity-nmi: the NMI daemon. Parses the original's flags, refuses kubenet, starts createNmi()
// with the iptables redirect, and shuts down cleanly on SIGTERM/SIGINT (rules removed, exit 0, or 1
// if cleanup failed).
import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createNmi } from './create-nmi.js';
import { KUBENET_REFUSAL, isKubenet, nmiFlagsHelp, parseNmiFlags } from './nmi-flags.js';

const VERSION = '0.1.0';

async function main(): Promise<number> {
  const parsed = parseNmiFlags(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    process.stderr.write(`pod-identity-nmi: ${parsed.error}\n\n${nmiFlagsHelp()}`);
    return 2;
  }
  const flags = parsed.flags;
  if (flags.help) {
    process.stdout.write(nmiFlagsHelp());
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const logger = pino({ level: flags.logLevel, base: { component: 'nmi' } });
  if (!flags.allowNetworkPluginKubenet) {
    let text: string;
    try {
      text = await readFile(flags.kubeletConfig, 'utf8');
    } catch (error) {
      logger.fatal(
        { err: error, path: flags.kubeletConfig },
        'cannot read the kubelet config to check for kubenet',
      );
      return 1;
    }
    if (isKubenet(text)) {
      logger.fatal({}, KUBENET_REFUSAL);
      return 1;
    }
  }
  const kubeConfig = new KubeConfig();
  if (flags.kubeconfig === '') kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(flags.kubeconfig);

  const nmi = await createNmi({
    nodeName: flags.node,
    kubeConfig,
    operationMode: flags.operationMode,
    listenAddress: flags.nmiListenAddress,
    port: flags.nmiPort,
    metadataIp: flags.metadataIp,
    metadataPort: flags.metadataPort,
    forceNamespaced: flags.forceNamespaced,
    micNamespace: flags.micNamespace,
    probePort: flags.httpProbePort,
    prometheusPort: flags.prometheusPort,
    retryAttemptsForCreated: flags.retryAttemptsForCreated,
    retryAttemptsForAssigned: flags.retryAttemptsForAssigned,
    findIdentityRetryIntervalMs: flags.findIdentityRetryInterval * 1000,
    enableScaleFeatures: flags.enableScaleFeatures,
    blockInstanceMetadata: flags.blockInstanceMetadata,
    metadataHeaderRequired: flags.metadataHeaderRequired,
    setRetryAfterHeader: flags.setRetryAfterHeader,
    customUserAgent: flags.customUserAgent,
    iptables: flags.manageIptables
      ? {
          updateIntervalMs: flags.iptUpdateIntervalSec * 1000,
          conntrackDeletion: flags.enableConntrackDeletion,
        }
      : false,
    logger,
  });
  if (flags.enableProfile)
    logger.warn({}, 'enableProfile is accepted but no profiling endpoint is served');
  // With the redirect managed, the manager drops the old connections after its first install.
  if (flags.enableConntrackDeletion && !flags.manageIptables)
    logger.warn(
      {},
      'enable-conntrack-deletion has no effect with manage-iptables=false: nmi installs no redirect',
    );

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'received signal, shutting down');
      nmi.close().then(
        () => {
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => {
      stop('SIGTERM');
    });
    process.once('SIGINT', () => {
      stop('SIGINT');
    });
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `pod-identity-nmi: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
