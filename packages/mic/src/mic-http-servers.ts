import { startDaemonHttpServers, type DaemonHttpServers } from '@pod-identity/core/kubernetes';
import type { Registry } from 'prom-client';
import type { Mic } from './create-mic.js';

/** Options of {@link startMicHttpServers}. */
export interface MicHttpServersOptions {
  mic: Pick<Mic, 'isActive'>;
  registry: Registry;
  /** `--http-probe-port` (8080); 0 picks a free port. */
  probePort: number;
  /** `--prometheus-port` (8888); 0 picks a free port. */
  metricsPort: number;
  /** Listen address. Default all interfaces, as a pod needs for its probes. */
  host?: string;
}

/** The running probe and metrics servers. */
export type MicHttpServers = DaemonHttpServers;

/**
 * Starts `/healthz` (200 with `Active` on the leader whose loop runs, `Not Active` otherwise, as the
 * original) and `/metrics` (Prometheus text from the registry) on their own ports. No profiling
 * endpoint is served on either. `createMic` opens no port itself.
 * @param options - MIC, registry and ports
 * @returns the servers, with their bound ports
 */
export function startMicHttpServers(options: MicHttpServersOptions): Promise<MicHttpServers> {
  return startDaemonHttpServers({
    isActive: () => options.mic.isActive(),
    metrics: options.registry,
    probePort: options.probePort,
    metricsPort: options.metricsPort,
    ...(options.host === undefined ? {} : { host: options.host }),
  });
}
