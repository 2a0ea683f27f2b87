/**
 * A reverse proxy on loopback in front of one emulator (the Kubernetes API server or ARM) that a
 * scenario controls: cut the daemons off (connections reset, or held unanswered), add latency, end
 * the open watch streams, answer the next requests with an error. It counts what passed through, so
 * a scenario can say how many calls a daemon made during a fault.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** One request seen by the proxy. */
export interface ProxiedRequest {
  readonly atMs: number;
  readonly method: string;
  readonly path: string;
  /** The status answered; 0 when the connection was cut or the request is still open. */
  status: number;
}

/** A request the proxy answers itself instead of forwarding it. */
export interface ProxyFailure {
  readonly status: number;
  /** How many matching requests get it; default 1. */
  readonly count?: number;
  /** Which requests; default all. */
  readonly match?: (method: string, path: string) => boolean;
  /** Sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;
}

/** How a cut-off looks to the daemons. */
export type CutOffMode =
  /** Every connection is reset at once (the server is down, its address refuses). */
  | 'reset'
  /** Connections are accepted and requests never answered (a partition). */
  | 'blackhole';

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The emulator's URL (`http://` or `https://`). */
  readonly upstream: string;
  /** Serve https with this certificate (for ARM, whose clients insist on TLS). */
  readonly tls?: { readonly certificatePem: string; readonly privateKeyPem: string };
  /** CA that the upstream's https certificate chains to. */
  readonly upstreamCaPem?: string;
  /** The body of an injected error, in the shape the upstream's clients parse. */
  readonly errorBody: (status: number) => unknown;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** Where the daemons connect instead of the upstream. */
  readonly url: string;
  /** Cuts everyone off: open connections are destroyed, new ones reset or held. */
  cutOff(mode?: CutOffMode): void;
  /** Lets traffic through again (held connections are destroyed, so clients reconnect). */
  restore(): void;
  /** Adds latency before every forwarded request (0 removes it). */
  setLatency(latencyMs: number): void;
  /** Adds latency before matching requests; returns a function that removes it. */
  delay(latencyMs: number, match: (method: string, path: string) => boolean): () => void;
  /** Answers the next matching requests with an error. */
  failNext(failure: ProxyFailure): void;
  /** Ends every open watch stream; returns how many. */
  dropWatches(): number;
  /** Requests seen since start (or {@link FaultProxy.clearLog}), oldest first. */
  log(): readonly ProxiedRequest[];
  /** Requests seen in a time window (epoch ms), optionally of one method. */
  countBetween(fromMs: number, toMs: number, method?: string): number;
  clearLog(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);
const MAX_LOG = 200_000;

function isWatch(path: string): boolean {
  const query = path.split('?')[1] ?? '';
  return /(^|&)watch=(true|1)(&|$)/u.test(query);
}

/**
 * Starts a fault proxy on 127.0.0.1 (a free port) in front of an emulator.
 * @param options - upstream, TLS, error body shape
 * @returns the proxy
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const secureUpstream = upstream.protocol === 'https:';
  const agent = secureUpstream
    ? new https.Agent({
        keepAlive: true,
        ...(options.upstreamCaPem === undefined ? {} : { ca: options.upstreamCaPem }),
      })
    : new http.Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const held = new Set<Socket>();
  const watches = new Set<{ res: http.ServerResponse; upstream: http.ClientRequest }>();
  const failures: { failure: ProxyFailure; remaining: number }[] = [];
  let requests: ProxiedRequest[] = [];
  let cut: CutOffMode | undefined;
  let latencyMs = 0;
  const delays = new Set<{ latencyMs: number; match: (method: string, path: string) => boolean }>();

  const answerFailure = (res: http.ServerResponse, failure: ProxyFailure): void => {
    const body = JSON.stringify(options.errorBody(failure.status));
    res.writeHead(failure.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(failure.retryAfterSeconds === undefined
        ? {}
        : { 'retry-after': String(failure.retryAfterSeconds) }),
    });
    res.end(body);
  };

  const takeFailure = (method: string, path: string): ProxyFailure | undefined => {
    const index = failures.findIndex(
      (entry) => entry.failure.match === undefined || entry.failure.match(method, path),
    );
    const entry = failures[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) failures.splice(index, 1);
    return entry.failure;
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, entry: ProxiedRequest) => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    headers.host = upstream.host;
    const path = req.url ?? '/';
    const outgoing = (secureUpstream ? https : http).request(
      {
        agent,
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path,
        headers,
      },
      (answer) => {
        entry.status = answer.statusCode ?? 0;
        const out: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    outgoing.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502);
        res.end();
      } else res.destroy();
    });
    if (isWatch(path)) {
      const watch = { res, upstream: outgoing };
      watches.add(watch);
      res.on('close', () => {
        watches.delete(watch);
        outgoing.destroy();
      });
    } else {
      res.on('close', () => {
        if (!res.writableFinished) outgoing.destroy();
      });
    }
    req.pipe(outgoing);
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const entry: ProxiedRequest = {
      atMs: Date.now(),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: 0,
    };
    if (requests.length >= MAX_LOG) requests = requests.slice(MAX_LOG / 2);
    requests.push(entry);
    if (cut === 'reset') {
      req.socket.destroy();
      return;
    }
    if (cut === 'blackhole') {
      held.add(req.socket);
      return;
    }
    const failure = takeFailure(entry.method, entry.path);
    if (failure !== undefined) {
      entry.status = failure.status;
      req.resume();
      answerFailure(res, failure);
      return;
    }
    let delay = latencyMs;
    for (const rule of delays) if (rule.match(entry.method, entry.path)) delay += rule.latencyMs;
    if (delay > 0) {
      setTimeout(() => {
        if (cut !== undefined) req.socket.destroy();
        else forward(req, res, entry);
      }, delay);
      return;
    }
    forward(req, res, entry);
  };

  const server = options.tls
    ? https.createServer(
        { cert: options.tls.certificatePem, key: options.tls.privateKeyPem },
        handler,
      )
    : http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    if (cut === 'reset') {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      held.delete(socket);
    });
  });
  server.on('clientError', (_error, socket) => {
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${String(port)}`,
    cutOff(mode = 'reset') {
      cut = mode;
      for (const socket of sockets) socket.destroy();
      agent.destroy();
    },
    restore() {
      cut = undefined;
      for (const socket of held) socket.destroy();
      held.clear();
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    delay(ms, match) {
      const rule = { latencyMs: ms, match };
      delays.add(rule);
      return () => delays.delete(rule);
    },
    failNext(failure) {
      failures.push({ failure, remaining: failure.count ?? 1 });
    },
    dropWatches() {
      const open = [...watches];
      for (const watch of open) {
        watch.upstream.destroy();
        watch.res.end();
      }
      return open.length;
    },
    log: () => requests,
    countBetween(fromMs, toMs, method) {
      return requests.filter(
        (r) => r.atMs >= fromMs && r.atMs <= toMs && (method === undefined || r.method === method),
      ).length;
    },
    clearLog() {
      requests = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
