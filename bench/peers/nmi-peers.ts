// The NMI half of bench/peers: the Go original's nmi, this project's `pod-identity-nmi` (built CLI)
// and a bare node:http server, all pinned to core 0 and started against the same emulators; wrk
// (one thread, core 1) drives each in turn, round after round, so every ratio comes from one run.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Emulators } from './emulators.ts';
import {
  httpGet,
  pollUntil,
  spread,
  startPinned,
  type MeasuredProcess,
} from './measured-process.ts';

/** One wrk run. */
export interface WrkResult {
  requests: number;
  durationUs: number;
  errors: number;
  non2xx: number;
  meanUs: number;
  percentilesUs: Record<string, number>;
}

/** Figures of one server in one setting, over rounds. */
export interface LoadSeries {
  rps: number[];
  p50Us: number[];
  p99Us: number[];
  cpuUsPerRequest: number[];
  /** Latency percentiles of the median round (for the charts). */
  percentilesUs: Record<string, number>;
}

/** What the NMI half measures. */
export interface NmiPeerResults {
  rounds: number;
  durationS: number;
  /** `hit|miss` → connections → server → series. */
  load: Record<string, Record<string, Record<string, LoadSeries>>>;
  /** Server → RSS MiB: idle after start, after the load, after each miss round. */
  rss: Record<string, { idle: number; afterLoad: number; afterMissRounds: number[] }>;
  /** Fixed offered load: rate and, per server, p50/p99 over rounds. */
  fixedRate: { rate: number; servers: Record<string, { p50Us: number[]; p99Us: number[] }> };
}

// The ceiling: a bare node:http server answering every request with a fixed token-sized JSON body,
// as NMI answers a cached token. CommonJS, as a bundled daemon loads (an ES module entry alone costs
// Node 24 about 12 MB more resident memory).
const BARE_SERVER = `'use strict';
const http = require('node:http');
const now = Math.floor(Date.now() / 1000);
const body = JSON.stringify({ access_token: 'x'.repeat(1200), refresh_token: '', expires_in: '86399',
  expires_on: String(now + 86399), not_before: String(now), resource: 'https://management.azure.com/',
  token_type: 'Bearer' });
http.createServer({ keepAliveTimeout: 65000 }, (request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body) }).end(body);
}).listen(Number(process.argv[2]), '127.0.0.1');
`;

const TOKEN_PATH =
  '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F';
const PORTS = { go: 2579, ours: 2580, bare: 2581 } as const;
type ServerName = keyof typeof PORTS;

function runWrk(
  port: number,
  connections: number,
  durationS: number,
  miss: string | undefined,
): WrkResult {
  const result = spawnSync(
    'taskset',
    [
      '-c',
      '1',
      'wrk',
      '-t1',
      `-c${String(connections)}`,
      `-d${String(durationS)}s`,
      '--timeout',
      '5s',
      '-s',
      join(import.meta.dirname, 'wrk-token.lua'),
      `http://127.0.0.1:${String(port)}`,
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, WRK_MISS: miss === undefined ? '0' : '1', WRK_SEED: miss ?? '0' },
    },
  );
  const line = result.stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (line === undefined) throw new Error(`wrk failed: ${result.stdout}${result.stderr}`);
  return JSON.parse(line.slice('WRK_JSON '.length)) as WrkResult;
}

function fixedRate(
  port: number,
  rate: number,
  durationMs: number,
): { p50Us: number; p99Us: number } {
  const result = spawnSync(
    'taskset',
    [
      '-c',
      '1',
      process.execPath,
      join(import.meta.dirname, 'fixed-rate-client.ts'),
      '127.0.0.1',
      String(port),
      TOKEN_PATH,
      String(rate),
      '16',
      String(durationMs),
    ],
    { encoding: 'utf8' },
  );
  const parsed = JSON.parse(result.stdout) as {
    percentilesUs: Record<string, number>;
    errors: number;
    non2xx: number;
  };
  if (parsed.errors !== 0 || parsed.non2xx !== 0)
    throw new Error(`fixed-rate run failed: ${result.stdout}`);
  return { p50Us: parsed.percentilesUs['50'] ?? NaN, p99Us: parsed.percentilesUs['99'] ?? NaN };
}

async function tokenOk(port: number): Promise<true | undefined> {
  const answer = await httpGet(`http://127.0.0.1:${String(port)}${TOKEN_PATH}`, {
    Metadata: 'true',
  });
  return answer.status === 200 ? true : undefined;
}

/**
 * Runs the NMI comparison.
 * @param dir - temporary directory (the bare server's script)
 * @param emulators - the shared emulators (the caller pod and its Assigned record are put here)
 * @param goNmi - path of the Go original's nmi binary
 * @param ourNmiCli - path of this project's built `pod-identity-nmi` (dist/cli.cjs)
 * @param options - rounds and seconds per wrk run
 */
export async function nmiPeers(
  dir: string,
  emulators: Emulators,
  goNmi: string,
  ourNmiCli: string,
  options: { rounds: number; durationS: number },
): Promise<NmiPeerResults> {
  const node = emulators.ready.nodes[0];
  const identity = emulators.ready.identities[0];
  if (node === undefined || identity === undefined) throw new Error('no node or identity');
  await emulators.putCallerPod(node.name, identity);

  const bareServer = join(dir, 'bare-server.cjs');
  writeFileSync(bareServer, BARE_SERVER);
  const servers: Record<ServerName, MeasuredProcess> = {
    bare: startPinned('bare', 0, process.execPath, [bareServer, String(PORTS.bare)]),
    go: startPinned(
      'go-nmi',
      0,
      goNmi,
      [
        '--node',
        node.name,
        '--nmi-port',
        String(PORTS.go),
        '--http-probe-port',
        '8085',
        '--prometheus-port',
        '9095',
        '--allow-network-plugin-kubenet',
      ],
      { PATH: process.env.PATH, KUBECONFIG: emulators.kubeconfigPath },
    ),
    ours: startPinned(
      'ours-nmi',
      0,
      process.execPath,
      [
        ourNmiCli,
        '--node',
        node.name,
        '--nmi-port',
        String(PORTS.ours),
        '--http-probe-port',
        '8086',
        '--prometheus-port',
        '9096',
        '--allow-network-plugin-kubenet',
        '--manage-iptables=false',
        '--kubeconfig',
        emulators.kubeconfigPath,
        '--log-level',
        'warn',
      ],
      { PATH: process.env.PATH },
    ),
  };
  const names = Object.keys(servers) as ServerName[];
  try {
    for (const name of names) {
      await pollUntil(`${name} to answer a token request`, () => tokenOk(PORTS[name])).catch(
        (error: unknown) => {
          throw new Error(`${(error as Error).message}\n${servers[name].output()}`);
        },
      );
    }
    // Idle: started, synced, one request answered, then left alone.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const rss: NmiPeerResults['rss'] = {};
    for (const name of names)
      rss[name] = { idle: servers[name].rssMiB(), afterLoad: NaN, afterMissRounds: [] };

    const load: NmiPeerResults['load'] = { hit: {}, miss: {} };
    const runs: Record<string, WrkResult[]> = {};
    const series = (kind: string, connections: number, name: string): LoadSeries => {
      const byConnections = (load[kind] ??= {});
      const byServer = (byConnections[String(connections)] ??= {});
      return (byServer[name] ??= {
        rps: [],
        p50Us: [],
        p99Us: [],
        cpuUsPerRequest: [],
        percentilesUs: {},
      });
    };
    const measure = (
      kind: 'hit' | 'miss',
      connections: number,
      name: ServerName,
      seed?: string,
    ): void => {
      const server = servers[name];
      const cpuBefore = server.cpuMs();
      const result = runWrk(PORTS[name], connections, options.durationS, seed);
      const cpu = server.cpuMs() - cpuBefore;
      if (result.errors !== 0 || result.non2xx !== 0 || result.requests === 0)
        throw new Error(
          `${name} ${kind} c${String(connections)}: ${JSON.stringify(result)}\n${server.output().slice(-3000)}`,
        );
      const s = series(kind, connections, name);
      s.rps.push(result.requests / (result.durationUs / 1e6));
      s.p50Us.push(result.percentilesUs['50'] ?? NaN);
      s.p99Us.push(result.percentilesUs['99'] ?? NaN);
      s.cpuUsPerRequest.push((cpu * 1000) / result.requests);
      (runs[`${kind}/${String(connections)}/${name}`] ??= []).push(result);
      console.log(
        `  ${kind} c${String(connections)} ${name}: ${Math.round(result.requests / (result.durationUs / 1e6))} req/s, p50 ${String(result.percentilesUs['50'])} µs, p99 ${String(result.percentilesUs['99'])} µs, ${((cpu * 1000) / result.requests).toFixed(0)} µs CPU/request`,
      );
    };

    for (let round = 0; round < options.rounds; round += 1) {
      console.log(`nmi round ${String(round + 1)}/${String(options.rounds)}`);
      for (const connections of [1, 16, 64])
        for (const name of names) measure('hit', connections, name);
      // Every request a new resource: the Go original asks IMDS each time anyway; this project's
      // cache misses, and keeps what it fetched (bounded), which is why its RSS is read after each round.
      for (const connections of [1, 16]) {
        for (const name of ['go', 'ours'] as const)
          measure('miss', connections, name, `${name}${String(round)}c${String(connections)}`);
      }
      for (const name of names) rss[name]?.afterMissRounds.push(servers[name].rssMiB());
    }

    // Latency at a fixed offered load of half the bare server's saturated 16-connection throughput.
    const bareRps = spread(series('hit', 16, 'bare').rps).median;
    const rate = Math.round(bareRps / 2 / 100) * 100;
    const fixed: NmiPeerResults['fixedRate'] = { rate, servers: {} };
    for (let round = 0; round < options.rounds; round += 1) {
      for (const name of ['bare', 'ours'] as const) {
        const figure = fixedRate(PORTS[name], rate, options.durationS * 1000);
        const entry = (fixed.servers[name] ??= { p50Us: [], p99Us: [] });
        entry.p50Us.push(figure.p50Us);
        entry.p99Us.push(figure.p99Us);
        console.log(
          `  fixed ${String(rate)} req/s ${name}: p50 ${String(figure.p50Us)} µs, p99 ${String(figure.p99Us)} µs`,
        );
      }
    }
    for (const name of names) {
      const r = rss[name];
      if (r !== undefined) r.afterLoad = servers[name].rssMiB();
    }
    // The distributions of the median-throughput round, for the charts.
    for (const [key, list] of Object.entries(runs)) {
      const [kind = '', connections = '', name = ''] = key.split('/');
      const s = series(kind, Number(connections), name);
      const median = spread(s.rps).median;
      const chosen = list.find((r) => r.requests / (r.durationUs / 1e6) === median) ?? list[0];
      s.percentilesUs = chosen?.percentilesUs ?? {};
    }
    return { rounds: options.rounds, durationS: options.durationS, load, rss, fixedRate: fixed };
  } finally {
    await Promise.all(names.map((name) => servers[name].stop()));
    // The Go NMI's iptables chain stays behind after SIGKILL; the namespace goes with the bench.
  }
}
