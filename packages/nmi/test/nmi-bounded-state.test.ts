// A bound pod asks for 100,000 distinct resources (some with CR, LF and NUL escaped in them): NMI's
// /metrics and everything it keeps per caller input stay within a fixed bound. Sizes and entry
// counts are asserted, never time.
import http from 'node:http';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createMemoryClusterState,
  createNmi,
  startNmiHttpServers,
  type Nmi,
  type NmiHttpServers,
} from '@pod-identity/nmi';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countingTokenSource, seedBoundPod } from './nmi-test-support.js';

const REQUESTS = 100_000;
/** Connections the requests are spread over, pipelined. */
const CONNECTIONS = 8;
/** The token cache's bound (its default); the test checks NMI keeps to it. */
const CACHE_ENTRIES = 1000;
/** /metrics may grow by at most this much, whatever the pod asks for (stated bound). */
const METRICS_GROWTH_BYTES = 16 * 1024;
/**
 * Requests first sent to fill every bounded cache (token cache, parsed targets, label children) to
 * its bound; the growth that counts is over the rest.
 */
const WARM_REQUESTS = 10_000;
/**
 * The retained heap (after a full collection) may grow by at most this much over the 90,000 requests
 * after the warm-up: under 400 bytes a request, where an unbounded label kept a series of 14
 * histogram buckets (kilobytes) for each. Measured here: -5 to +13 MB, the caches' fill level and
 * compiled code varying from run to run.
 */
const HEAP_GROWTH_BYTES = 32 * 1024 * 1024;

const state = createMemoryClusterState();
let nmi: Nmi;
let servers: NmiHttpServers;
const source = countingTokenSource();

beforeAll(async () => {
  seedBoundPod(state, { name: 'app', podIPs: ['127.0.0.1'] });
  nmi = await createNmi({
    nodeName: 'n',
    state,
    listenAddress: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    tokenSourceFor: () => Promise.resolve(source),
    tokenCache: { maxEntries: CACHE_ENTRIES },
    logger: pino({ level: 'silent' }),
  });
  servers = await startNmiHttpServers({
    nmi,
    registry: nmi.registry,
    probePort: 0,
    metricsPort: 0,
    host: '127.0.0.1',
  });
});

afterAll(async () => {
  await servers.close();
  await nmi.close();
});

const agent = new http.Agent({ keepAlive: true });

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers, agent, localAddress: '127.0.0.1' },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${path}: ${String(res.statusCode)}`));
          else resolve(Buffer.concat(chunks).toString('utf8'));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function metricsText(): Promise<string> {
  return get(servers.metricsPort, '/metrics');
}

/**
 * Full collections before reading the heap, so that only what NMI retains is counted. Between them
 * the event loop turns, so the finalization callbacks a collection queued run: `AbortSignal.any` (a
 * token fetch's deadline) keeps WeakRefs that only those callbacks release, and counting them made
 * the figure depend on when the last callback ran (5 to 45 MB over the same requests).
 */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let round = 0; round < 3; round += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  gc();
}

function resourceOf(i: number): string {
  // Distinct resources, every tenth with CR, LF and NUL escaped in it (raw bytes once decoded).
  const tail = i % 10 === 0 ? '%0d%0a%00evil' : '';
  return `https%3A%2F%2Fr${String(i)}.example%2F${tail}`;
}

/**
 * Sends `count` token requests for resources `from`, `from + 1`, … on one connection, pipelined in
 * batches (the server answers them in order), and resolves with how many were answered 200. Raw
 * bytes keep the client's cost per request far below the server's, so the test measures NMI.
 */
function pipelined(from: number, count: number): Promise<number> {
  const BATCH = 500;
  return new Promise((resolve, reject) => {
    const socket = net.connect(nmi.address.port, '127.0.0.1');
    let sent = 0;
    let answered = 0;
    let ok = 0;
    let tail = '';
    const sendBatch = (): void => {
      const n = Math.min(BATCH, count - sent);
      let bytes = '';
      for (let k = 0; k < n; k += 1) {
        bytes += `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=${resourceOf(from + sent + k)} HTTP/1.1\r\nHost: nmi\r\nMetadata: true\r\n\r\n`;
      }
      sent += n;
      socket.write(bytes);
    };
    socket.on('data', (chunk: Buffer) => {
      // Status lines mark responses; a token body never contains one.
      const text = tail + chunk.toString('latin1');
      answered += text.split('HTTP/1.1 ').length - 1;
      ok += text.split('HTTP/1.1 200 OK\r\n').length - 1;
      tail = text.slice(-24);
      // The tail is looked at again with the next chunk: do not count its status lines twice.
      answered -= tail.split('HTTP/1.1 ').length - 1;
      ok -= tail.split('HTTP/1.1 200 OK\r\n').length - 1;
      if (answered === sent && sent < count) sendBatch();
      if (answered === count) {
        socket.end();
        resolve(ok);
      }
    });
    socket.on('end', () => {
      const final = tail;
      answered += final.split('HTTP/1.1 ').length - 1;
      ok += final.split('HTTP/1.1 200 OK\r\n').length - 1;
      if (answered === count) resolve(ok);
      else
        reject(
          new Error(`connection closed after ${String(answered)} of ${String(count)} answers`),
        );
    });
    socket.on('error', reject);
    sendBatch();
  });
}

it(`keeps /metrics and its caches bounded over ${String(REQUESTS)} requests for distinct resources`, async () => {
  // Warm: the label sets of a well-known resource and of `other` exist before the baseline.
  await get(
    nmi.address.port,
    '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net',
    { Metadata: 'true' },
  );
  const spread = async (from: number, count: number): Promise<number> => {
    const per = count / CONNECTIONS;
    const answered = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, c) => pipelined(from + c * per, per)),
    );
    return answered.reduce((a, b) => a + b, 0);
  };
  expect(await spread(0, WARM_REQUESTS)).toBe(WARM_REQUESTS);
  const metricsBefore = (await metricsText()).length;
  await collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;

  expect(await spread(WARM_REQUESTS, REQUESTS - WARM_REQUESTS)).toBe(REQUESTS - WARM_REQUESTS);
  // Every resource was new: one fetch each, so the cache took 100,000 keys through its bound.
  expect(source.fetches).toBe(REQUESTS + 1);
  expect(nmi.cache.size).toBeLessThanOrEqual(CACHE_ENTRIES);

  const metrics = await metricsText();
  expect(metrics.length - metricsBefore).toBeLessThan(METRICS_GROWTH_BYTES);
  // The resource label has only fixed values; no control byte or caller text reaches the exposition.
  const resources = new Set(
    [
      ...metrics.matchAll(
        /aadpodidentity_nmi_operations_duration_seconds_count\{[^}]*resource="([^"]*)"/g,
      ),
    ].map((m) => m[1]),
  );
  expect([...resources].sort()).toEqual(['https://vault.azure.net', 'other']);
  expect(metrics).not.toMatch(/example|evil/);

  await collectGarbage();
  expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(HEAP_GROWTH_BYTES);
}, 600_000);
