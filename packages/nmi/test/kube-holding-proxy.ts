// A proxy in front of the Kubernetes emulator for NMI tests: it can hold back the events of one
// resource's watches (as an informer that delivers late) and counts the reads that are no watch.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConnection } from '@pod-identity/core/kubernetes';

/** A running {@link startKubeHoldingProxy}. */
export interface KubeHoldingProxy {
  /** A connection through the proxy, authenticating as `upstream` does. */
  readonly connection: KubeConnection;
  /** Holds back the events of every watch of this resource plural until {@link release}. */
  hold(plural: string): void;
  /** Delivers what was held back and stops holding. */
  release(): void;
  /** The paths of the GETs that were not watches, in order. */
  readonly reads: string[];
  close(): Promise<void>;
}

interface HeldStream {
  readonly plural: string;
  readonly res: http.ServerResponse;
  readonly pending: Buffer[];
}

/**
 * Starts the proxy on loopback.
 * @param upstream - the emulator's connection (plain http, as the sandbox serves it)
 */
export async function startKubeHoldingProxy(upstream: KubeConnection): Promise<KubeHoldingProxy> {
  const target = new URL(upstream.getCurrentCluster()?.server ?? '');
  const reads: string[] = [];
  const streams = new Set<HeldStream>();
  const held = new Set<string>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const isWatch = url.searchParams.get('watch') === 'true';
    if (req.method === 'GET' && !isWatch) reads.push(url.pathname);
    const forward = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!isWatch) {
          answer.pipe(res);
          return;
        }
        const stream: HeldStream = {
          plural: url.pathname.split('/').at(-1) ?? '',
          res,
          pending: [],
        };
        streams.add(stream);
        res.flushHeaders();
        answer.on('data', (chunk: Buffer) => {
          if (held.has(stream.plural)) stream.pending.push(chunk);
          else res.write(chunk);
        });
        answer.on('end', () => {
          streams.delete(stream);
          res.end();
        });
        res.on('close', () => {
          streams.delete(stream);
          answer.destroy();
        });
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connection: {
      getCurrentCluster: () => ({
        server: `http://127.0.0.1:${String(port)}`,
        skipTLSVerify: true,
      }),
      applyToHTTPSOptions: (options) => upstream.applyToHTTPSOptions(options),
    },
    hold(plural) {
      held.add(plural);
    },
    release() {
      held.clear();
      for (const stream of streams) {
        for (const chunk of stream.pending.splice(0)) stream.res.write(chunk);
      }
    },
    reads,
    close: async () => {
      for (const stream of streams) stream.res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
