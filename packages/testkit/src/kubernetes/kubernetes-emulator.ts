import { timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import { ApiServer, type DeleteParameters, type ListParameters } from './api-server.js';
import {
  ApiStatusError,
  badRequestError,
  methodNotAllowedError,
  statusObject,
  unknownPathError,
} from './api-status-error.js';
import { asObject, asString } from './json.js';
import {
  FaultRules,
  type DropWatchesOptions,
  type KubernetesFaults,
  type KubernetesVerb,
  type RequestAttributes,
} from './kubernetes-faults.js';
import { createEmulatorStore, type KubernetesEmulatorStore } from './emulator-store.js';
import { parseFieldValidation, warningHeader, type WriteOptions } from './field-validation.js';
import { ObjectStore } from './object-store.js';
import { isResourceRoute, requestVerb, routeRequest, type ResourceRoute } from './request-route.js';
import { prepareWatch, type ResourceWatch } from './resource-watch.js';
import {
  createServiceAccountTokenApi,
  type KubernetesUser,
  type ServiceAccountTokenRoute,
} from './service-account-token-api.js';
import {
  createServiceAccountTokenSigner,
  type ServiceAccountSigningKey,
  type ServiceAccountTokenSigner,
} from './service-account-token-signer.js';

/**
 * TLS material for serving https, e.g. a certificate from the testkit's certificate authority. The
 * kubeconfig then trusts `caPem` instead of skipping verification.
 */
export interface KubernetesEmulatorTls {
  /** Server certificate, PEM, valid for the listening host. */
  readonly certificatePem: string;
  /** Its private key, PEM. */
  readonly privateKeyPem: string;
  /** The CA certificate clients must trust, PEM. */
  readonly caPem: string;
}

/** Options of {@link startKubernetesEmulator}. */
export interface KubernetesEmulatorOptions {
  /**
   * Serve https with this certificate. Without it the emulator serves plain http on loopback and the
   * kubeconfig sets `insecure-skip-tls-verify`, which client-node requires for http:// servers.
   */
  readonly tls?: KubernetesEmulatorTls;
  /** Bearer token every request must carry; without it, requests are not authenticated. */
  readonly token?: string;
  /** Loopback address to listen on (default `127.0.0.1`). */
  readonly host?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 60 000, as kube's ~1 min). */
  readonly bookmarkIntervalMs?: number;
  /**
   * Changes kept for watch resumption and `continue` pages before older ones are compacted, like
   * kube's bounded watch cache (default 50 000: each kept change holds an object in memory).
   */
  readonly historyLimit?: number;
  /** Namespace of the kubeconfig context (default `default`). */
  readonly namespace?: string;
  /** Reported by `/version` (default `1.33`). */
  readonly kubernetesMinorVersion?: number;
  /**
   * More users, each with its own bearer token (beside `token`, the administrator's). A node is user
   * `system:node:<name>` in group `system:nodes`: its TokenRequests are held to NodeRestriction.
   */
  readonly users?: readonly KubernetesEmulatorUser[];
  /** `--service-account-issuer`: the `iss` of service-account tokens (default the emulator's URL). */
  readonly serviceAccountIssuer?: string;
  /** The service-account signing key (default one RSA key per process). */
  readonly serviceAccountSigningKey?: ServiceAccountSigningKey;
  /**
   * Audiences that nodes may request service-account tokens for although their pods do not mount
   * them: what a ClusterRole with verb `request-serviceaccounts-token-audience` bound to
   * `system:nodes` grants. Default none.
   */
  readonly nodeTokenAudiences?: readonly string[];
  /** `--service-account-max-token-expiration`, in seconds; default none. */
  readonly serviceAccountMaxTokenExpirationSeconds?: number;
}

/** A user of the Kubernetes emulator, authenticated by a static bearer token. */
export interface KubernetesEmulatorUser {
  readonly token: string;
  /** e.g. `system:node:aks-nodepool1-12345678-vmss000000` */
  readonly name: string;
  readonly groups: readonly string[];
}

/** A running Kubernetes API emulator. */
export interface KubernetesEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` (`https://` with the `tls` option). */
  readonly url: string;
  /** A client-node KubeConfig pointing at the emulator (token included when configured). */
  readonly kubeConfig: KubeConfig;
  /** The same kubeconfig as YAML, for subprocesses (`KUBECONFIG=<file with this content>`). */
  readonly kubeconfigYaml: string;
  /** Fault injection. */
  readonly faults: KubernetesFaults;
  /** Direct object access. */
  readonly store: KubernetesEmulatorStore;
  /** Signs the service-account tokens (TokenRequest) and describes the issuer (OIDC discovery, JWKS). */
  readonly serviceAccountTokens: ServiceAccountTokenSigner;
  /** Adds a user (see {@link KubernetesEmulatorOptions.users}); a user of the same name is replaced. */
  addUser(user: KubernetesEmulatorUser): void;
  /** A kubeconfig (YAML) that authenticates as one of the users, by name. */
  kubeconfigYamlFor(userName: string): string;
  /** Compacts the history: every resourceVersion before now becomes 410 Gone for watches and `continue`. */
  compact(): Promise<void>;
  /** Number of watch streams currently open. */
  openWatchCount(): number;
  /** Stops the server, ending watches and connections; leaves no handles behind. */
  close(): Promise<void>;
}

const maxBodyBytes = 3 * 1024 * 1024;
const maxWatchBufferBytes = 64 * 1024 * 1024;

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A write's `fieldValidation` directive and an empty warning list for it to fill. */
function writeOptions(
  query: URLSearchParams,
  optionsKind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
): WriteOptions & { warnings: string[] } {
  return {
    fieldValidation: parseFieldValidation(query.get('fieldValidation'), optionsKind),
    warnings: [],
  };
}

/** One `Warning` header per warning, as kube-apiserver sends them (none when there are none). */
function warningHeaders(warnings: readonly string[]): Record<string, string[]> {
  return warnings.length === 0 ? {} : { Warning: warnings.map(warningHeader) };
}

function sendError(res: ServerResponse, error: ApiStatusError): void {
  const headers: Record<string, string> = {};
  if (error.details?.retryAfterSeconds !== undefined)
    headers['Retry-After'] = String(error.details.retryAfterSeconds);
  sendJson(res, error.code, error.toStatus(), headers);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBodyBytes) {
      throw new ApiStatusError(
        413,
        'RequestEntityTooLarge',
        'Request entity too large: limit is 3145728',
      );
    }
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequestError(
      `couldn't get version/kind; json parse error: ${(error as Error).message}`,
    );
  }
}

// Compares in constant time, as credential checks should; a missing header never matches.
function authorized(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// A watch on an object's own path (`…/pods/<name>?watch=true`) is a watch of the collection narrowed
// to that name, as kube-apiserver serves it.
function watchFieldSelector(selector: string | null, name: string | undefined): string | undefined {
  if (name === undefined) return selector ?? undefined;
  const byName = `metadata.name=${name.replace(/[\\,=]/g, (c) => `\\${c}`)}`;
  return selector === null || selector === '' ? byName : `${selector},${byName}`;
}

function intParam(query: URLSearchParams, key: string): number | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw badRequestError(`invalid value for ${key}: ${raw}`);
  return Number(raw);
}

function listParams(query: URLSearchParams): ListParameters {
  return {
    labelSelector: query.get('labelSelector') ?? undefined,
    fieldSelector: query.get('fieldSelector') ?? undefined,
    limit: intParam(query, 'limit'),
    continue: query.get('continue') ?? undefined,
    resourceVersion: query.get('resourceVersion') ?? undefined,
    resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
  };
}

function deleteParams(query: URLSearchParams, body: unknown): DeleteParameters {
  const options = asObject(body) ?? {};
  const preconditions = asObject(options.preconditions);
  return {
    preconditions:
      preconditions === undefined
        ? undefined
        : {
            ...(typeof preconditions.uid === 'string' ? { uid: preconditions.uid } : {}),
            ...(typeof preconditions.resourceVersion === 'string'
              ? { resourceVersion: preconditions.resourceVersion }
              : {}),
          },
    propagationPolicy: query.get('propagationPolicy') ?? asString(options.propagationPolicy),
    gracePeriodSeconds:
      intParam(query, 'gracePeriodSeconds') ??
      (typeof options.gracePeriodSeconds === 'number' ? options.gracePeriodSeconds : undefined),
  };
}

/**
 * Starts an in-process Kubernetes API server emulator on loopback that `@kubernetes/client-node`
 * (and kubectl-style clients) talk to through an ordinary kubeconfig. It serves discovery, core/v1
 * pods, nodes, namespaces, secrets, configmaps, serviceaccounts and events, coordination.k8s.io
 * leases and apiextensions.k8s.io CRDs (which start serving their custom resources), with
 * kube-apiserver's semantics for resourceVersions, conflicts, selectors, paging, watches, finalizers,
 * status subresources, schema pruning and `Status` errors.
 *
 * @example
 * ```ts
 * const kube = await startKubernetesEmulator();
 * const core = kube.kubeConfig.makeApiClient(CoreV1Api);
 * await core.createNamespace({ body: { metadata: { name: 'demo' } } });
 * await kube.close();
 * ```
 */
export async function startKubernetesEmulator(
  options: KubernetesEmulatorOptions = {},
): Promise<KubernetesEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
    throw new RangeError(`the emulator listens on loopback only, got host ${host}`);
  }
  if (options.token?.trim() === '') throw new TypeError('token must not be empty when given');
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  if (!(bookmarkIntervalMs > 0)) throw new RangeError('bookmarkIntervalMs must be positive');
  const store = new ObjectStore(
    options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit },
  );
  const api = new ApiServer(store);
  const faults = new FaultRules();
  const watches = new Map<ResourceWatch, ServerResponse>();
  const shutdown = new AbortController();
  let serverAddress = '';
  const minor = options.kubernetesMinorVersion ?? 33;

  const admin: KubernetesUser = { name: 'admin', groups: ['system:masters'] };
  const expectedAuthorization =
    options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  const users = new Map<string, { user: KubernetesUser; token: string; authorization: Buffer }>();
  const addUser = (user: KubernetesEmulatorUser): void => {
    if (user.token.trim() === '') throw new TypeError(`users: the token of ${user.name} is empty`);
    users.set(user.name, {
      user: { name: user.name, groups: [...user.groups] },
      token: user.token,
      authorization: Buffer.from(`Bearer ${user.token}`),
    });
  };
  for (const user of options.users ?? []) addUser(user);
  // undefined: refused (401). Without a configured admin token every other request is the admin's.
  const authenticate = (header: string | undefined): KubernetesUser | undefined => {
    for (const candidate of users.values())
      if (authorized(header, candidate.authorization)) return candidate.user;
    if (expectedAuthorization === undefined) return admin;
    return authorized(header, expectedAuthorization) ? admin : undefined;
  };
  // The issuer defaults to the URL, known once the server listens.
  const issuing: { signer?: ServiceAccountTokenSigner } = {};
  const tokenApi = createServiceAccountTokenApi({
    store: createEmulatorStore(api),
    signer: () => {
      if (issuing.signer === undefined) throw new Error('the emulator is not listening yet');
      return issuing.signer;
    },
    externalUrl: () => emulatorUrl,
    nodeAudiences: options.nodeTokenAudiences ?? [],
    ...(options.serviceAccountMaxTokenExpirationSeconds === undefined
      ? {}
      : { maxExpirationSeconds: options.serviceAccountMaxTokenExpirationSeconds }),
    now: () => new Date(),
  });
  let emulatorUrl = '';

  api.onResourceRemoved = (storageKey) => {
    for (const watch of [...watches.keys()]) if (watch.storageKey === storageKey) watch.stop();
  };

  const serveResource = async (
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRoute,
    verb: KubernetesVerb,
    query: URLSearchParams,
  ): Promise<void> => {
    const { def } = r;
    const namespace = r.namespace ?? '';
    const name = r.name ?? '';
    switch (verb) {
      case 'get':
        sendJson(res, 200, api.get(def, namespace, name));
        return;
      case 'list':
        sendJson(res, 200, api.list(def, r.namespace, listParams(query)));
        return;
      case 'watch': {
        const start = prepareWatch(
          api,
          def,
          r.namespace,
          {
            labelSelector: query.get('labelSelector') ?? undefined,
            fieldSelector: watchFieldSelector(query.get('fieldSelector'), r.name),
            resourceVersion: query.get('resourceVersion') ?? undefined,
            allowWatchBookmarks: query.get('allowWatchBookmarks') === 'true',
            timeoutSeconds: intParam(query, 'timeoutSeconds'),
          },
          { bookmarkIntervalMs },
        );
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-cache, private',
          'Transfer-Encoding': 'chunked',
        });
        res.flushHeaders();
        // The stream may end while `start` runs (a 410 ERROR event), before `watch` exists.
        const stream: { ended: boolean; watch?: ResourceWatch } = { ended: false };
        const watch = start({
          write: (line) => {
            if (stream.ended) return;
            res.write(`${line}\n`);
            // Like kube's cacher, give up on a watcher that does not read: end its stream so that it
            // reconnects (from its last resourceVersion) instead of buffering without bound.
            if (res.writableLength > maxWatchBufferBytes) stream.watch?.stop();
          },
          end: () => {
            if (stream.ended) return;
            stream.ended = true;
            if (stream.watch !== undefined) watches.delete(stream.watch);
            res.end();
          },
        });
        stream.watch = watch;
        if (!stream.ended) {
          watches.set(watch, res);
          res.on('close', () => {
            watch.stop();
          });
        }
        return;
      }
      case 'create': {
        const write = writeOptions(query, 'CreateOptions');
        const body = await readBody(req);
        const created = api.create(def, r.namespace, body, write);
        sendJson(res, 201, created, warningHeaders(write.warnings));
        return;
      }
      case 'update': {
        const write = writeOptions(query, 'UpdateOptions');
        const body = await readBody(req);
        const updated = api.update(def, namespace, name, body, r.subresource, write);
        sendJson(res, 200, updated, warningHeaders(write.warnings));
        return;
      }
      case 'patch': {
        const write = writeOptions(query, 'PatchOptions');
        const body = await readBody(req);
        const contentType = req.headers['content-type'];
        const patched = api.patch(def, namespace, name, contentType, body, r.subresource, write);
        sendJson(res, 200, patched, warningHeaders(write.warnings));
        return;
      }
      case 'delete': {
        const body = await readBody(req);
        sendJson(res, 200, api.delete(def, namespace, name, deleteParams(query, body)));
        return;
      }
      case 'deletecollection': {
        const body = await readBody(req);
        sendJson(
          res,
          200,
          api.deleteCollection(def, r.namespace, listParams(query), deleteParams(query, body)),
        );
        return;
      }
    }
  };

  const applyFaults = async (
    req: IncomingMessage,
    res: ServerResponse,
    attributes: RequestAttributes,
  ): Promise<boolean> => {
    const delayMs = faults.takeDelay(attributes);
    if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: shutdown.signal });
      } catch {
        return false; // shutting down
      }
    }
    const failure = faults.takeFailure(attributes);
    if (failure !== undefined) {
      req.resume();
      sendJson(res, failure.code, failure.body, { ...failure.headers });
      return false;
    }
    return true;
  };

  const serveTokenRoute = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: ServiceAccountTokenRoute,
    user: KubernetesUser,
  ): Promise<void> => {
    if (route.attributes !== undefined && !(await applyFaults(req, res, route.attributes))) return;
    const body = await readBody(req);
    const result = route.serve(body, user);
    sendJson(res, result.status, result.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const user = authenticate(req.headers.authorization);
    const url = new URL(req.url ?? '/', 'http://emulator');
    let segments: string[];
    try {
      segments = url.pathname
        .split('/')
        .filter((s) => s !== '')
        .map(decodeURIComponent);
    } catch {
      throw badRequestError(`malformed request path: ${url.pathname}`);
    }
    const method = req.method ?? 'GET';
    const tokenRoute = tokenApi.route(method, segments);
    if (user === undefined && tokenRoute?.authenticated !== false) {
      req.resume();
      sendJson(res, 401, statusObject(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (tokenRoute !== undefined) {
      await serveTokenRoute(req, res, tokenRoute, user ?? admin);
      return;
    }
    if (segments.length === 1 && ['healthz', 'readyz', 'livez'].includes(segments[0] ?? '')) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    if (segments.length === 1 && segments[0] === 'version') {
      sendJson(res, 200, {
        major: '1',
        minor: String(minor),
        gitVersion: `v1.${minor}.0`,
        gitCommit: 'pod-identity-testkit',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'emulated',
        compiler: 'gc',
        platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
      });
      return;
    }
    const r = routeRequest(api, segments, serverAddress);
    if (r === undefined) throw unknownPathError();
    if (!isResourceRoute(r)) {
      if (method !== 'GET') throw methodNotAllowedError();
      sendJson(res, 200, r.document);
      return;
    }
    const verb = requestVerb(method, r, url.searchParams);
    if (verb === undefined) throw methodNotAllowedError();
    const attributes: RequestAttributes = {
      verb,
      group: r.def.group,
      resource: r.subresource === undefined ? r.def.plural : `${r.def.plural}/${r.subresource}`,
      namespace: r.namespace ?? '',
      name: r.name ?? '',
    };
    if (!(await applyFaults(req, res, attributes))) return;
    await serveResource(req, res, r, verb, url.searchParams);
  };

  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      req.resume();
      if (error instanceof ApiStatusError) sendError(res, error);
      else {
        const message = error instanceof Error ? error.message : String(error);
        sendJson(
          res,
          500,
          statusObject(500, 'InternalError', `Internal error occurred: ${message}`),
        );
      }
    });
  };
  const tls = options.tls;
  const server =
    tls === undefined
      ? createServer(listener)
      : createHttpsServer({ cert: tls.certificatePem, key: tls.privateKeyPem }, listener);
  // client-node 2.0.1 builds a new undici Agent for every request to a cluster with TLS options
  // (a CA or skipTLSVerify), so its connections are never reused; a short keep-alive makes undici
  // close them right after each response instead of leaving hundreds of idle sockets per second.
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls === undefined ? 'http' : 'https'}://${urlHost}:${address.port}`;
  serverAddress = `${urlHost}:${address.port}`;
  emulatorUrl = url;
  const signer = createServiceAccountTokenSigner(
    options.serviceAccountIssuer ?? url,
    ...(options.serviceAccountSigningKey === undefined ? [] : [options.serviceAccountSigningKey]),
  );
  issuing.signer = signer;

  const contextNamespace = options.namespace ?? 'default';
  const kubeconfigFor = (token: string | undefined): string =>
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'emulator',
          cluster:
            tls === undefined
              ? { server: url, 'insecure-skip-tls-verify': true }
              : {
                  server: url,
                  'certificate-authority-data': Buffer.from(tls.caPem).toString('base64'),
                },
        },
      ],
      users: [{ name: 'emulator', user: token === undefined ? {} : { token } }],
      contexts: [
        {
          name: 'emulator',
          context: { cluster: 'emulator', user: 'emulator', namespace: contextNamespace },
        },
      ],
      'current-context': 'emulator',
    });
  const kubeconfigYaml = kubeconfigFor(options.token);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfigYaml);

  const dropWatches = (drop: DropWatchesOptions = {}): number => {
    let count = 0;
    for (const [watch, res] of [...watches]) {
      const [group = '', plural = ''] = watch.storageKey.split('/');
      if (drop.resource !== undefined && drop.resource !== plural) continue;
      if (drop.group !== undefined && drop.group !== group) continue;
      count += 1;
      if (drop.abrupt === true) {
        watches.delete(watch);
        res.destroy();
      } else {
        watch.stop();
      }
    }
    return count;
  };

  const objectStore = createEmulatorStore(api);

  let closed: Promise<void> | undefined;
  return {
    url,
    kubeConfig,
    kubeconfigYaml,
    faults: {
      failNext: (rule) => {
        faults.addFailure(rule);
      },
      delay: (rule) => faults.addDelay(rule),
      dropWatches,
      reset: () => {
        faults.reset();
      },
    },
    store: objectStore,
    serviceAccountTokens: signer,
    addUser,
    kubeconfigYamlFor: (userName) => {
      const found = users.get(userName);
      if (found === undefined) throw new RangeError(`no emulator user named ${userName}`);
      return kubeconfigFor(found.token);
    },
    compact: () => {
      store.compact();
      return Promise.resolve();
    },
    openWatchCount: () => watches.size,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        shutdown.abort();
        for (const watch of [...watches.keys()]) watch.stop();
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
