import http from 'node:http';
import https from 'node:https';
import { KubernetesApiError } from './kubernetes-api-error.js';
import type { KubeConnection } from './kube-connection.js';

/** Query parameters; `undefined` values are left out. */
export type KubeQuery = Readonly<Record<string, string | number | boolean | undefined>>;

/** Options of one {@link KubeHttpClient.request}. */
export interface KubeRequestOptions {
  query?: KubeQuery;
  /** JSON body. */
  body?: unknown;
  /** Default `application/json`; patches name their kind, e.g. `application/merge-patch+json`. */
  contentType?: string;
  abortSignal?: AbortSignal;
}

/**
 * A small JSON client of the Kubernetes API over node:http(s): one keep-alive pool per connection
 * settings, typed errors, watches as line-delimited JSON. What informers, the event recorder and
 * NMI's secret reads need, without `@kubernetes/client-node`'s generated models.
 */
export interface KubeHttpClient {
  /**
   * One request; resolves the parsed JSON body (or `undefined` when empty).
   * @throws KubernetesApiError with the HTTP status and the `Status` reason for a non-2xx answer
   */
  request<T = unknown>(method: string, path: string, options?: KubeRequestOptions): Promise<T>;
  /**
   * Opens a watch (`watch=true` is added) and hands each event to `onEvent`. Resolves when the server
   * ends the stream (its `timeoutSeconds`) or `abortSignal` aborts; rejects with a
   * {@link KubernetesApiError} when the server refuses the watch (e.g. 410 Gone).
   */
  watch(
    path: string,
    query: KubeQuery,
    onEvent: (type: string, object: unknown) => void,
    abortSignal: AbortSignal,
  ): Promise<void>;
  /** Closes idle pooled connections. */
  close(): void;
}

/** Longest silence on a watch before it is dropped and reopened (the server sends bookmarks). */
const WATCH_IDLE_MS = 5 * 60_000;
/** Longest wait for an answer to a request that is not a watch. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * A request's signal: aborts at {@link REQUEST_TIMEOUT_MS} or when the caller's signal aborts, and is
 * released (timer cleared, listener removed) as soon as the request ends. `AbortSignal.timeout` with
 * `AbortSignal.any` kept every finished request (its socket listeners and buffers) reachable until
 * the timer fired a minute later, and left a dependent on the caller's long-lived signal each time
 * (a burst of writes held them all for that minute).
 */
function requestDeadline(callerSignal: AbortSignal | undefined): {
  signal: AbortSignal;
  release(): void;
} {
  const controller = new AbortController();
  const onCallerAbort = (): void => {
    controller.abort(callerSignal?.reason);
  };
  const timer = setTimeout(() => {
    controller.abort(new DOMException('the Kubernetes API request timed out', 'TimeoutError'));
  }, REQUEST_TIMEOUT_MS);
  if (callerSignal?.aborted === true) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    release() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

interface TlsSettings {
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  rejectUnauthorized?: boolean;
  servername?: string;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

function sameTls(a: TlsSettings, b: TlsSettings): boolean {
  return (
    sameValue(a.ca, b.ca) &&
    sameValue(a.cert, b.cert) &&
    sameValue(a.key, b.key) &&
    a.rejectUnauthorized === b.rejectUnauthorized &&
    a.servername === b.servername
  );
}

const clients = new WeakMap<KubeConnection, KubeHttpClient>();

/**
 * The client of a connection: one per connection object, so every informer, recorder and reader
 * built on it shares one keep-alive pool.
 * @param connection - a `KubeConfig` or a {@link KubeConnection}
 */
export function kubeHttpClientFor(connection: KubeConnection): KubeHttpClient {
  let client = clients.get(connection);
  if (client === undefined) {
    client = createKubeHttpClient(connection);
    clients.set(connection, client);
  }
  return client;
}

/**
 * Creates a client. Prefer {@link kubeHttpClientFor}, which shares one per connection.
 * @param connection - a `KubeConfig` or a {@link KubeConnection}
 */
export function createKubeHttpClient(connection: KubeConnection): KubeHttpClient {
  let pool: { tls: TlsSettings; agent: http.Agent } | undefined;

  const prepare = async (
    method: string,
    path: string,
    query: KubeQuery | undefined,
  ): Promise<{ url: URL; options: https.RequestOptions; secure: boolean }> => {
    const cluster = connection.getCurrentCluster();
    if (cluster === null) throw new TypeError('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [name, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.set(name, String(value));
    const options: https.RequestOptions = {};
    await connection.applyToHTTPSOptions(options);
    const secure = url.protocol === 'https:';
    const tls: TlsSettings = {
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      ...(options.rejectUnauthorized === undefined
        ? cluster.skipTLSVerify === true
          ? { rejectUnauthorized: false }
          : {}
        : { rejectUnauthorized: options.rejectUnauthorized }),
      ...((options.servername ?? cluster.tlsServerName)
        ? { servername: options.servername ?? cluster.tlsServerName }
        : {}),
    };
    if (pool === undefined || !sameTls(pool.tls, tls)) {
      // Rotated credentials get a new pool; the old one closes once its requests end.
      const old = pool?.agent;
      const agent = secure
        ? new https.Agent({ keepAlive: true, ...(tls as https.AgentOptions) })
        : new http.Agent({ keepAlive: true });
      pool = { tls, agent };
      if (old !== undefined)
        setTimeout(() => {
          old.destroy();
        }, REQUEST_TIMEOUT_MS).unref();
    }
    const headers: http.OutgoingHttpHeaders = {
      Accept: 'application/json',
      ...(options.headers as http.OutgoingHttpHeaders | undefined),
    };
    return {
      url,
      secure,
      options: {
        method,
        agent: pool.agent,
        headers,
        ...(options.auth === undefined || options.auth === null ? {} : { auth: options.auth }),
      },
    };
  };

  const open = (
    target: { url: URL; options: https.RequestOptions; secure: boolean },
    body: string | undefined,
    contentType: string,
    abortSignal: AbortSignal | undefined,
  ): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      const headers = { ...(target.options.headers as http.OutgoingHttpHeaders) };
      if (body !== undefined) {
        headers['Content-Type'] = contentType;
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const request = (target.secure ? https : http).request(
        target.url,
        {
          ...target.options,
          headers,
          ...(abortSignal === undefined ? {} : { signal: abortSignal }),
        },
        resolve,
      );
      request.on('error', reject);
      request.end(body);
    });

  const readBody = (response: http.IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
      });
      response.on('end', () => {
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      response.on('error', reject);
      response.on('aborted', () => {
        reject(new Error('the response was cut off'));
      });
    });

  const failure = (status: number, text: string, what: string): KubernetesApiError => {
    let reason: string | undefined;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { reason?: unknown; message?: unknown };
      if (typeof parsed.reason === 'string') reason = parsed.reason;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not a Status object
    }
    return new KubernetesApiError(`${what}: ${String(status)} ${message}`, {
      statusCode: status,
      ...(reason === undefined ? {} : { reason }),
    });
  };

  return {
    async request<T>(method: string, path: string, options: KubeRequestOptions = {}): Promise<T> {
      const target = await prepare(method, path, options.query);
      const deadline = requestDeadline(options.abortSignal);
      try {
        const response = await open(
          target,
          options.body === undefined ? undefined : JSON.stringify(options.body),
          options.contentType ?? 'application/json',
          deadline.signal,
        );
        const text = await readBody(response);
        const status = response.statusCode ?? 0;
        if (status < 200 || status >= 300) throw failure(status, text, `${method} ${path}`);
        return (text === '' ? undefined : JSON.parse(text)) as T;
      } finally {
        deadline.release();
      }
    },

    async watch(path, query, onEvent, abortSignal) {
      const target = await prepare('GET', path, { ...query, watch: true });
      const idle = new AbortController();
      let response: http.IncomingMessage;
      try {
        response = await open(target, undefined, '', AbortSignal.any([abortSignal, idle.signal]));
      } catch (error) {
        if (abortSignal.aborted) return;
        throw error;
      }
      const status = response.statusCode ?? 0;
      if (status !== 200) throw failure(status, await readBody(response), `watch ${path}`);
      await new Promise<void>((resolve, reject) => {
        let timer = setTimeout(() => {
          idle.abort();
        }, WATCH_IDLE_MS);
        let pending = '';
        const settle = (error?: unknown): void => {
          clearTimeout(timer);
          if (error === undefined || abortSignal.aborted || idle.signal.aborted) resolve();
          else reject(error instanceof Error ? error : new Error('the watch stream failed'));
        };
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            idle.abort();
          }, WATCH_IDLE_MS);
          pending += chunk;
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const line = pending.slice(0, newline);
            pending = pending.slice(newline + 1);
            if (line.trim() !== '') {
              let event: { type?: unknown; object?: unknown };
              try {
                event = JSON.parse(line) as { type?: unknown; object?: unknown };
              } catch (error) {
                response.destroy();
                settle(error);
                return;
              }
              if (typeof event.type === 'string') onEvent(event.type, event.object);
            }
            newline = pending.indexOf('\n');
          }
        });
        response.on('end', () => {
          settle();
        });
        response.on('error', settle);
        response.on('aborted', () => {
          settle();
        });
      });
    },

    close() {
      pool?.agent.destroy();
      pool = undefined;
    },
  };
}
