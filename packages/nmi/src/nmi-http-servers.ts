import {
  startDaemonHttpServers,
  type DaemonHttpServers,
  type MetricsSource,
} from '@pod-identity/core/kubernetes';
import type { Logger } from '@pod-identity/core';
import type { Nmi } from './create-nmi.js';

/** Options of {@link startNmiHttpServers}. */
export interface NmiHttpServersOptions {
  /** Whose readiness `/healthz` reports. */
  nmi: Pick<Nmi, 'isActive'>;
  /** What `/metrics` serves: NMI's registry (`nmi.registry`). */
  registry: MetricsSource;
  /** `--http-probe-port` (8080); 0 picks a free port. */
  probePort: number;
  /** `--prometheus-port` (9090); 0 picks a free port. */
  metricsPort: number;
  /** Listen address. Default all interfaces, as the kubelet's probes and Prometheus need. */
  host?: string;
  /** Where a failure to render the metrics is reported. */
  logger?: Pick<Logger, 'error'>;
}

/** The running probe and metrics servers. */
export type NmiHttpServers = DaemonHttpServers;

/**
 * Starts `/healthz` (always 200: `Active` once the iptables redirect is in place, or once the caches
 * are synced when NMI manages no redirect; `Not Active` before, as the original) and `/metrics` on
 * their own ports. No profiling endpoint is served on either. `createNmi` opens only its token
 * server; the CLI starts these beside it, so an embedder chooses whether to expose them.
 *
 * @example
 * ```ts
 * const nmi = await createNmi({ nodeName, kubeConfig });
 * const servers = await startNmiHttpServers({ nmi, registry: nmi.registry, probePort: 8085, metricsPort: 9090 });
 * ```
 * @param options - NMI, registry and ports
 * @returns the servers, with their bound ports
 */
export function startNmiHttpServers(options: NmiHttpServersOptions): Promise<NmiHttpServers> {
  return startDaemonHttpServers({
    isActive: () => options.nmi.isActive(),
    metrics: options.registry,
    probePort: options.probePort,
    metricsPort: options.metricsPort,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}
