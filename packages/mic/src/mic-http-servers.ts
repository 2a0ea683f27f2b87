import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  /** Listen address. Default all interfaces (`::`), as a pod needs for its probes. */
  host?: string;
}

/** The running probe and metrics servers. */
export interface MicHttpServers {
  probePort: number;
  metricsPort: number;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Starts `/healthz` (200 with `Active` on the leader whose loop runs, `Not Active` otherwise, as the
 * original) and `/metrics` (Prometheus text from the registry) on their own ports. No profiling
 * endpoint is served on either.
 * @param options - MIC, registry and ports
 * @returns the servers, with their bound ports
 */
export async function startMicHttpServers(options: MicHttpServersOptions): Promise<MicHttpServers> {
  const probe = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(options.mic.isActive() ? 'Active' : 'Not Active');
      return;
    }
    res.writeHead(404).end();
  });
  const metrics = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      options.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(body);
        },
        () => {
          res.writeHead(500).end();
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  const probePort = await listen(probe, options.probePort, options.host);
  const metricsPort = await listen(metrics, options.metricsPort, options.host);
  const close = (server: Server): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  return {
    probePort,
    metricsPort,
    close: async () => {
      await Promise.all([close(probe), close(metrics)]);
    },
  };
}
