import http from 'node:http';
import {
  authorize,
  formatHostTokenResponse,
  formatImdsError,
  formatTextError,
  formatTokenResponse,
  hasMetadataHeader,
  isFederatedPod,
  malformedRequestError,
  metadataHeaderRequiredError,
  parseTokenRequest,
  redactClientId,
  resolveImdsRoute,
  resourceMetricLabel,
  type AcquiredToken,
  type AuthorizationView,
  type ImdsResponse,
  type MalformedRequestReason,
  type PodRecord,
  type IdentitySelector,
  type TokenRequest,
  type TokenRequestParseResult,
} from '@pod-identity/core';
import type { Logger } from '@pod-identity/core';
import type { NmiClusterState } from './cluster-state.js';
import type { FederatedBroker } from './federated-broker.js';
import type { NmiMetrics } from './nmi-metrics.js';
import {
  WARMING_RETRY_AFTER_SECONDS,
  imdsStyleError,
  refusalResponse,
  type RefusalStyle,
} from './refusal-response.js';
import { confirmedAnswer } from './confirmed-answer.js';
import { nextClusterChange } from './next-cluster-change.js';
import type { RefusalConfirmer } from './refusal-confirmer.js';
import type { BrokerOutcome, CallerRecheck, TokenBroker } from './token-broker.js';

/** What the request handler needs. */
export interface NmiRequestHandlerOptions {
  readonly state: NmiClusterState;
  readonly broker: TokenBroker;
  /** Federated mode: pods labelled `azure.workload.identity/use: "true"` are answered by it. */
  readonly federated?: FederatedBroker;
  readonly logger: Logger;
  readonly metrics?: NmiMetrics;
  /** `--metadata-header-required`. */
  readonly metadataHeaderRequired: boolean;
  /** `--block-instance-metadata`. */
  readonly blockInstanceMetadata: boolean;
  /** The real IMDS for the pass-through route. */
  readonly metadataHost: string;
  readonly metadataPort: number;
  /** How long to wait for the pod informer to deliver an unknown caller (the original: 4 × 300 ms). */
  readonly podLookupTimeoutMs: number;
  /** How refusals are answered (see {@link RefusalStyle}). Default `imds`. */
  readonly refusalStyle?: RefusalStyle;
  /**
   * Confirms each permanent refusal of the standard or managed decision with the API server before
   * it is sent (see `confirmedAnswer`); without it, the cache's permanent refusals are sent as they are.
   */
  readonly refusalConfirmer?: RefusalConfirmer;
  /** Called when a pod is refused a token (for a Kubernetes event). */
  readonly onRefused?: (
    pod: PodRecord,
    outcome: Extract<BrokerOutcome, { kind: 'refused' }>,
  ) => void;
  /** Aborted on shutdown: waits end. */
  readonly shutdownSignal: AbortSignal;
  /** `Retry-After` (seconds) of a 503 for a request that NMI's shutdown ended. Default 2. */
  readonly unavailableRetryAfterSeconds?: number;
}

const TOKEN_PATH_LABEL = '/metadata/identity/oauth2/token';
const HOST_PATH_LABEL = '/host/token';
const proxyAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * The NMI request handler for `node:http`: routes as the original did (see `resolveImdsRoute`), finds
 * the caller by its source address, and answers in IMDS's shape. Never throws; every failure becomes
 * the documented status.
 * @param options - dependencies and settings
 */
export function createNmiRequestHandler(
  options: NmiRequestHandlerOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { state, broker, federated, logger, metrics, refusalConfirmer } = options;
  const refusalStyle = options.refusalStyle ?? 'imds';
  // Which broker answers a pod: federation for pods that opt in (when the mode is on), else the
  // standard or managed decision, whose permanent refusals are confirmed when a confirmer is given.
  const answer = (
    pod: PodRecord,
    requested: IdentitySelector,
    resource: string,
    view: AuthorizationView,
    signal: AbortSignal,
    recheck: CallerRecheck,
  ): Promise<BrokerOutcome> => {
    if (federated !== undefined && isFederatedPod(pod))
      return federated.answerRequest(pod, requested, resource, signal, recheck);
    const decide = (): Promise<BrokerOutcome> =>
      broker.answer(pod, requested, resource, view, signal, recheck);
    if (refusalConfirmer === undefined) return decide();
    return confirmedAnswer({
      confirmer: refusalConfirmer,
      state,
      pod,
      requested,
      view,
      recheck,
      abortSignal: signal,
      answer: decide,
    });
  };
  const noExceptions: AuthorizationView = { ...state.view, exceptions: () => [] };
  const histogramChildren = new Map<string, { observe(value: number): void }>();

  // The body of a cached token changes only when its `expires_in` second does: serialise it once a
  // second, not once a request, and keep its header list. The body stays a string: Node then sends the
  // header block and the body in one write, where a Buffer body takes a two-part writev.
  const bodies = new WeakMap<
    readonly AcquiredToken[],
    { second: number; headers: string[]; body: string }
  >();
  const writeCachedTokens = (res: http.ServerResponse, tokens: readonly AcquiredToken[]): void => {
    const second = Math.floor(Date.now() / 1000);
    let memo = bodies.get(tokens);
    if (memo?.second !== second) {
      const body = formatTokenResponse(tokens, second * 1000);
      memo = {
        second,
        headers: [
          'content-type',
          'application/json',
          'content-length',
          String(Buffer.byteLength(body)),
        ],
        body,
      };
      bodies.set(tokens, memo);
    }
    res.writeHead(200, memo.headers);
    res.end(memo.body);
  };

  // Clients repeat the same request target (an SDK asks for the same resource again and again): keep
  // the parsed form of recent well-formed targets. Bounded, since the target is client-chosen.
  const parsedTargets = new Map<string, TokenRequest>();
  const parseToken = (req: http.IncomingMessage): TokenRequestParseResult => {
    const url = req.url ?? '';
    if (
      req.method === 'GET' &&
      (!options.metadataHeaderRequired || hasMetadataHeader(req.headers.metadata))
    ) {
      const known = parsedTargets.get(url);
      if (known !== undefined) return { ok: true, request: known };
    }
    const parsed = parseTokenRequest(
      { method: req.method ?? '', url, metadata: req.headers.metadata },
      { metadataHeaderRequired: options.metadataHeaderRequired },
    );
    if (parsed.ok) {
      if (parsedTargets.size >= 1024) parsedTargets.clear();
      parsedTargets.set(url, parsed.request);
    }
    return parsed;
  };

  const write = (res: http.ServerResponse, response: ImdsResponse): void => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(response.status, {
      ...response.headers,
      'content-length': Buffer.byteLength(response.body),
    });
    res.end(response.body);
  };
  const writeJson = (res: http.ServerResponse, body: string): void => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  // Requests in progress, each aborted when NMI shuts down: one listener on the shutdown signal for
  // all of them. `AbortSignal.any([request, shutdown])` per request left a WeakRef and two
  // finalization cells on the long-lived shutdown signal for every request, freed only by a later
  // cleanup task: about 350 bytes a request, tens of MB after a burst, and work on every request.
  const inProgress = new Set<AbortController>();
  options.shutdownSignal.addEventListener(
    'abort',
    () => {
      for (const controller of inProgress) controller.abort(options.shutdownSignal.reason);
    },
    { once: true },
  );
  const requestSignal = (req: http.IncomingMessage, res: http.ServerResponse): AbortSignal => {
    const controller = new AbortController();
    if (options.shutdownSignal.aborted) {
      controller.abort(options.shutdownSignal.reason);
      return controller.signal;
    }
    inProgress.add(controller);
    const abort = (): void => {
      if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
    };
    res.once('close', () => {
      inProgress.delete(controller);
      abort();
    });
    req.once('aborted', abort);
    return controller.signal;
  };

  const findPod = async (
    address: string | undefined,
    signal: AbortSignal,
  ): Promise<PodRecord | ImdsResponse> => {
    if (address === undefined || address === '')
      return formatTextError(500, 'request remote address is empty');
    let found = state.pods.lookup(address);
    const deadline = Date.now() + options.podLookupTimeoutMs;
    // A pod's first request can beat the informer's event for it (the original retried 4 × 300 ms).
    while (found.kind === 'unknown' && Date.now() < deadline) {
      await nextClusterChange(state, deadline - Date.now(), signal, false);
      found = state.pods.lookup(address);
    }
    if (found.kind === 'pod') return found.pod;
    if (found.kind === 'shared') {
      logger.warn(
        { ip: address, pods: found.pods.map((p) => `${p.namespace}/${p.name}`) },
        'refusing a token: pod ip is claimed by more than one running pod',
      );
      metrics?.kubernetesErrors.inc({ operation_type: 'get_pod_list' });
      return formatTextError(
        500,
        `failed to match pod IP ${address}: claimed by more than one pod`,
      );
    }
    metrics?.kubernetesErrors.inc({ operation_type: 'get_pod_list' });
    const message = `no running pod found with IP ${address}`;
    // The pod informer may simply not have delivered the pod yet: a state to retry, not a failure.
    return refusalStyle === 'imds'
      ? imdsStyleError(
          503,
          'temporarily_unavailable',
          `${message}; if this is a new pod, NMI has not seen it yet`,
          WARMING_RETRY_AFTER_SECONDS,
        )
      : formatTextError(500, message);
  };

  const finish = (
    res: http.ServerResponse,
    started: number,
    route: string,
    req: http.IncomingMessage,
    namespace: string,
    resource: string,
  ): void => {
    const seconds = (performance.now() - started) / 1000;
    // `resource` is client-chosen: its label is one of a fixed set (well-known audiences or
    // `other`), and only on answered (200) requests, so no caller can add series.
    if (metrics !== undefined) {
      const status = res.statusCode;
      const labelResource = status === 200 ? resourceMetricLabel(resource) : '';
      // One labelled child per label set, kept: prom-client hashes a label object on every observe.
      const key = `${route}\u0000${String(status)}\u0000${namespace}\u0000${labelResource}`;
      let child = histogramChildren.get(key);
      if (child === undefined) {
        if (histogramChildren.size >= 10_000) histogramChildren.clear();
        child = metrics.operations.labels({
          operation_type: route,
          status_code: String(status),
          namespace,
          resource: labelResource,
        });
        histogramChildren.set(key, child);
      }
      child.observe(seconds);
    }
    if (logger.isLevelEnabled?.('debug') ?? true) {
      logger.debug(
        {
          status: res.statusCode,
          durationMs: seconds * 1000,
          method: req.method,
          path: route,
          remote: req.socket.remoteAddress,
        },
        'token request served',
      );
    }
  };

  const outcomeResponse = (
    res: http.ServerResponse,
    pod: PodRecord,
    requested: IdentitySelector,
    outcome: BrokerOutcome,
    host: boolean,
  ): void => {
    if (outcome.kind === 'tokens') {
      const now = Date.now();
      const [first] = outcome.tokens;
      if (host) {
        if (first === undefined) {
          write(res, formatTextError(500, 'no token'));
          return;
        }
        writeJson(
          res,
          formatHostTokenResponse(
            first,
            outcome.identity?.spec.clientID ?? first.clientId ?? '',
            now,
          ),
        );
        return;
      }
      writeJson(res, formatTokenResponse(outcome.tokens, now));
      return;
    }
    const response = refusalResponse(outcome, refusalStyle);
    logger.info(
      {
        namespace: pod.namespace,
        pod: pod.name,
        status: response.status,
        reason: outcome.reason,
        ...(requested.kind === 'clientId' ? { clientId: redactClientId(requested.clientId) } : {}),
      },
      'token request refused',
    );
    options.onRefused?.(pod, outcome);
    write(res, response);
  };

  // Cache-hit fast path, synchronous: one map read for the pod, one authorize(), one cache read. Returns
  // false when the request must take the full path (unknown pod, refusal, miss, refresh due).
  const serveCachedToken = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: TokenRequest,
    started: number,
  ): boolean => {
    const address = req.socket.remoteAddress;
    if (address === undefined) return false;
    const found = state.pods.lookup(address);
    if (found.kind !== 'pod') return false;
    if (federated !== undefined && isFederatedPod(found.pod)) {
      const cached = federated.peekRequest(found.pod, request.identity, request.resource);
      if (cached === undefined) return false;
      writeCachedTokens(res, cached);
      finish(res, started, TOKEN_PATH_LABEL, req, found.pod.namespace, request.resource);
      return true;
    }
    const decision = authorize(found.pod, request.identity, state.view);
    if (decision.kind !== 'identity') return false;
    const tokens = broker.peekFor(found.pod, decision.identity, request.resource);
    if (tokens === undefined) return false;
    writeCachedTokens(res, tokens);
    finish(res, started, TOKEN_PATH_LABEL, req, found.pod.namespace, request.resource);
    return true;
  };

  const handleToken = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: TokenRequest,
    started: number,
  ): Promise<void> => {
    const address = req.socket.remoteAddress;
    const signal = requestSignal(req, res);
    const pod = await findPod(address, signal);
    if (!('namespace' in pod)) {
      write(res, pod);
      finish(res, started, TOKEN_PATH_LABEL, req, '', '');
      return;
    }
    // The source address must still be this pod's (same UID) when the answer goes out.
    const recheck = (): PodRecord | undefined => {
      const found = state.pods.lookup(address ?? '');
      return found.kind === 'pod' && isSamePod(found.pod, pod) ? found.pod : undefined;
    };
    const outcome = await answer(
      pod,
      request.identity,
      request.resource,
      state.view,
      signal,
      recheck,
    );
    outcomeResponse(res, pod, request.identity, outcome, false);
    finish(res, started, TOKEN_PATH_LABEL, req, pod.namespace, request.resource);
  };

  const handleHost = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    started: number,
  ): Promise<void> => {
    const podns = req.headers.podns;
    const podname = req.headers.podname;
    if (
      typeof podns !== 'string' ||
      podns === '' ||
      typeof podname !== 'string' ||
      podname === ''
    ) {
      write(res, formatTextError(400, "missing 'podname' and 'podns' from request header"));
      finish(res, started, HOST_PATH_LABEL, req, '', '');
      return;
    }
    const remote = req.socket.remoteAddress;
    if (remote !== '127.0.0.1' && remote !== '::ffff:127.0.0.1' && remote !== '::1') {
      write(res, formatTextError(500, 'request remote address is not from a host'));
      finish(res, started, HOST_PATH_LABEL, req, '', '');
      return;
    }
    // The host route is for node agents acting for a pod: same rules, no exception bypass, no Metadata check.
    const parsed = parseTokenRequest(
      { method: req.method ?? '', url: req.url ?? '', metadata: 'true' },
      { metadataHeaderRequired: false },
    );
    if (!parsed.ok) {
      write(res, formatImdsError(parsed.error));
      finish(res, started, HOST_PATH_LABEL, req, '', '');
      return;
    }
    const pod = state.pods.get(podns, podname);
    if (pod === undefined) {
      write(res, formatTextError(404, `pod ${podns}/${podname} not found on this node`));
      finish(res, started, HOST_PATH_LABEL, req, '', '');
      return;
    }
    const signal = requestSignal(req, res);
    const recheck = (): PodRecord | undefined => {
      const current = state.pods.get(podns, podname);
      return current !== undefined && isSamePod(current, pod) ? current : undefined;
    };
    const outcome = await answer(
      pod,
      parsed.request.identity,
      parsed.request.resource,
      noExceptions,
      signal,
      recheck,
    );
    outcomeResponse(res, pod, parsed.request.identity, outcome, true);
    finish(res, started, HOST_PATH_LABEL, req, pod.namespace, parsed.request.resource);
  };

  const proxy = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (options.metadataHeaderRequired && !hasMetadataHeader(req.headers.metadata)) {
      write(res, formatImdsError(metadataHeaderRequiredError()));
      return;
    }
    const headers = {
      ...req.headers,
      host: `${options.metadataHost}:${String(options.metadataPort)}`,
    };
    const upstream = http.request(
      {
        agent: proxyAgent,
        host: options.metadataHost,
        port: options.metadataPort,
        method: req.method,
        path: req.url,
        headers,
        timeout: 30_000,
      },
      (answer) => {
        if (res.headersSent || res.destroyed) {
          answer.resume();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('IMDS did not answer')));
    upstream.on('error', (error) => {
      logger.warn({ err: error, path: req.url }, 'instance metadata request failed');
      write(res, formatTextError(500, 'failed to reach the instance metadata service'));
    });
    req.pipe(upstream);
  };

  return (req, res) => {
    const started = performance.now();
    const malformed = malformedReason(req);
    if (malformed !== undefined) {
      write(res, formatImdsError(malformedRequestError(malformed)));
      return;
    }
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const route = resolveImdsRoute(q === -1 ? url : url.slice(0, q));
    let work: Promise<void> | undefined;
    switch (route) {
      case 'token': {
        const parsed = parseToken(req);
        if (!parsed.ok) {
          write(res, formatImdsError(parsed.error));
          finish(res, started, TOKEN_PATH_LABEL, req, '', '');
          return;
        }
        if (serveCachedToken(req, res, parsed.request, started)) return;
        work = handleToken(req, res, parsed.request, started);
        break;
      }
      case 'host-token':
        work = handleHost(req, res, started);
        break;
      case 'invalid':
        write(res, formatTextError(400, 'Invalid request'));
        return;
      case 'malformed':
        write(res, formatImdsError(malformedRequestError('target')));
        return;
      case 'instance':
        if (options.blockInstanceMetadata) {
          write(res, formatTextError(403, 'Request blocked by AAD Pod Identity NMI'));
          return;
        }
        proxy(req, res);
        return;
      case 'proxy':
        proxy(req, res);
        return;
    }
    work.catch((error: unknown) => {
      if (options.shutdownSignal.aborted) {
        write(
          res,
          formatTextError(503, 'NMI is shutting down', {
            'retry-after': String(options.unavailableRetryAfterSeconds ?? 2),
          }),
        );
        return;
      }
      if (res.destroyed) return; // the client went away while the request waited
      logger.error({ err: error, path: route }, 'token request failed');
      write(res, formatTextError(500, 'internal error'));
    });
  };
}

/** Most header fields a request may carry; IMDS clients send fewer than ten. */
const MAX_REQUEST_HEADERS = 100;

// What is wrong with a request before its route is looked at: every HTTP version must name a Host
// (Node checks only 1.1, and only when asked), and a request with more headers than the server keeps
// (2,000 by default) may have lost the ones that matter.
function malformedReason(req: http.IncomingMessage): MalformedRequestReason | undefined {
  if (req.headers.host === undefined) return 'host';
  if (req.rawHeaders.length / 2 > MAX_REQUEST_HEADERS) return 'headers';
  return undefined;
}

// The same pod, not merely the same name: a pod deleted and created again has a new UID.
function isSamePod(a: PodRecord, b: PodRecord): boolean {
  return a.namespace === b.namespace && a.name === b.name && a.uid === b.uid;
}
