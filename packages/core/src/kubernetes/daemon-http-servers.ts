import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from '../logging/logger.js';

/** What `/metrics` renders: a prom-client `Registry` fits. */
export interface MetricsSource {
  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string>;
  /** Its content type. */
  readonly contentType: string;
}

/** Options of {@link startDaemonHttpServers}. */
export interface DaemonHttpServersOptions {
  /** What `/healthz` reports: `Active` when true, `Not Active` otherwise (always status 200). */
  isActive: () => boolean;
  /** What `/metrics` serves. */
  metrics: MetricsSource;
  /** Port of `/healthz` (`--http-probe-port`); 0 picks a free port. */
  probePort: number;
  /** Port of `/metrics` (`--prometheus-port`); 0 picks a free port. */
  metricsPort: number;
  /** Listen address of both. Default all interfaces, as the kubelet's probes and Prometheus need. */
  host?: string;
  /** Where a failure to render the metrics is reported. */
  logger?: Pick<Logger, 'error'>;
}

/** The running probe and metrics servers of a daemon. */
export interface DaemonHttpServers {
  /** The bound port of `/healthz`. */
  readonly probePort: number;
  /** The bound port of `/metrics`. */
  readonly metricsPort: number;
  /** Stops both servers and drops their connections. */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One path, everything else 404 with the body Go's `http.ServeMux` sends, as the original daemons did. */
function onePath(path: string, handle: Handler): Handler {
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] !== path) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('404 page not found\n');
      return;
    }
    handle(req, res);
  };
}

/**
 * Listens on a port and resolves with the bound address; rejects if the port cannot be taken.
 * @param server - the server
 * @param port - the port; 0 picks a free one
 * @param host - the address; all interfaces when absent
 */
export function listenOn(server: NetServer, port: number, host?: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeNow(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}

/**
 * Starts the two endpoints both daemons expose to the cluster, each on its own port: `/healthz` for
 * the kubelet's liveness and readiness probes (200 with `Active` or `Not Active`, as the original
 * daemons answered) and `/metrics` for Prometheus. No profiling endpoint is served on either.
 *
 * @example
 * ```ts
 * const servers = await startDaemonHttpServers({
 *   isActive: () => ready, metrics: registry, probePort: 8080, metricsPort: 9090,
 * });
 * ```
 * @param options - what to report and where to listen
 * @returns the servers, with their bound ports
 */
export async function startDaemonHttpServers(
  options: DaemonHttpServersOptions,
): Promise<DaemonHttpServers> {
  const probe = createServer(
    onePath('/healthz', (_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        .end(options.isActive() ? 'Active' : 'Not Active');
    }),
  );
  const metrics = createServer(
    onePath('/metrics', (_req, res) => {
      options.metrics.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': options.metrics.contentType }).end(body);
        },
        (error: unknown) => {
          options.logger?.error({ err: error }, 'failed to render metrics');
          res.writeHead(500).end();
        },
      );
    }),
  );
  try {
    const probeAddress = await listenOn(probe, options.probePort, options.host);
    const metricsAddress = await listenOn(metrics, options.metricsPort, options.host);
    return {
      probePort: probeAddress.port,
      metricsPort: metricsAddress.port,
      close: async () => {
        await Promise.all([closeNow(probe), closeNow(metrics)]);
      },
    };
  } catch (error) {
    // The other port may be taken: release the one that was bound.
    await Promise.all([closeNow(probe), closeNow(metrics)]);
    throw error;
  }
}
