import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ImdsProtocolError,
  TokenAcquisitionError,
  TokenCache,
  authorize,
  formatImdsError,
  formatTextError,
  formatTokenResponse,
  IMDS_JSON_CONTENT_TYPE,
  parseTokenRequest,
  resolveImdsRoute,
  tokenCacheKey,
  type AuthorizationView,
  type AzureIdentity,
  type ImdsResponse,
  type PodIndex,
} from '@pod-identity/core';
import { createImdsTokenSource, type TokenSource } from '@pod-identity/core/azure';

/** What the broker decides from: the node's pods and the cluster objects, kept current by the caller. */
export interface AudienceGuardState {
  /** Pods of this node, looked up by source IP. */
  pods: PodIndex;
  /** Bindings, identities and exceptions (managed-mode view: the pod's namespace only). */
  view: Omit<AuthorizationView, 'mode' | 'assignedIdentities'>;
  /** The audiences (`resource` values) pods of a namespace may ask for. Empty: none. */
  allowedAudiences(namespace: string): readonly string[];
}

/** Options of {@link startAudienceGuardBroker}. */
export interface AudienceGuardBrokerOptions {
  /** Cluster state. */
  state: AudienceGuardState;
  /** The node's IMDS, where user-assigned identities' tokens come from. */
  imdsEndpoint: string;
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port. Default 0 (a free one). */
  port?: number;
}

/** A running broker. */
export interface AudienceGuardBroker {
  /** `http://host:port`. */
  readonly url: string;
  /** Token requests that reached the token source (cache misses). */
  readonly upstreamRequests: () => number;
  /** Stops listening and drops the cache. */
  close(): Promise<void>;
}

/**
 * A bespoke NMI assembled from core's broker primitives, with its own rule: on top of the managed-mode
 * decision (`authorize()`: the pod's bindings and identities in its own namespace), a pod may only ask
 * for audiences its namespace allows. Tokens come from the node's IMDS through `createImdsTokenSource`,
 * behind a `TokenCache` (single flight, refresh ahead of expiry). The request is parsed and answered in
 * the IMDS wire format by core (`resolveImdsRoute`, `parseTokenRequest`, `formatTokenResponse`), so
 * every Azure SDK talks to it unchanged.
 *
 * Refusals fail closed: an unknown or shared caller IP, a pod without an identity, an audience not on
 * the list are all 403; nothing is ever proxied to IMDS.
 */
export async function startAudienceGuardBroker(
  options: AudienceGuardBrokerOptions,
): Promise<AudienceGuardBroker> {
  const cache = new TokenCache();
  const sources = new Map<string, TokenSource>();
  let upstream = 0;
  const sourceFor = (identity: AzureIdentity): TokenSource => {
    const clientId = identity.spec.clientID ?? '';
    let source = sources.get(clientId);
    if (source === undefined) {
      source = createImdsTokenSource({
        selector: { kind: 'clientId', clientId },
        endpoint: options.imdsEndpoint,
      });
      sources.set(clientId, source);
    }
    return source;
  };

  const answer = async (request: IncomingMessage): Promise<ImdsResponse> => {
    const url = request.url ?? '/';
    const route = resolveImdsRoute(url.split('?')[0] ?? '/');
    if (route !== 'token') return formatTextError(404, 'only the token endpoint is served here');
    const parsed = parseTokenRequest({
      method: request.method ?? 'GET',
      url,
      metadata: request.headers.metadata,
    });
    if (!parsed.ok) return formatImdsError(parsed.error);

    const caller = options.state.pods.lookup(request.socket.remoteAddress ?? '');
    if (caller.kind !== 'pod')
      return refuse(`no single live pod has address ${request.socket.remoteAddress ?? '?'}`);
    const pod = caller.pod;
    const decision = authorize(pod, parsed.request.identity, {
      ...options.state.view,
      mode: 'managed',
      assignedIdentities: () => [],
    });
    if (decision.kind !== 'identity') {
      // Exceptions, object-ID requests and denials are all refused: this broker serves bound identities only.
      return refuse(
        decision.kind === 'deny'
          ? decision.message
          : `${decision.kind} requests are not served by this broker`,
      );
    }
    // The bespoke rule.
    const resource = parsed.request.resource;
    if (!options.state.allowedAudiences(pod.namespace).includes(resource)) {
      return refuse(`namespace ${pod.namespace} may not request tokens for ${resource}`);
    }
    const source = sourceFor(decision.identity);
    try {
      const tokens = await cache.get(tokenCacheKey(source.key, resource), (abortSignal) => {
        upstream++;
        return source.getTokens(resource, { abortSignal });
      });
      return {
        status: 200,
        headers: { 'content-type': IMDS_JSON_CONTENT_TYPE },
        body: formatTokenResponse(tokens, Date.now()),
      };
    } catch (error) {
      if (error instanceof TokenAcquisitionError)
        return formatTextError(error.failure === 'refused' ? 403 : 503, error.message);
      throw error;
    }
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    answer(request).then(
      (result) => {
        response.writeHead(result.status, {
          ...result.headers,
          'content-length': Buffer.byteLength(result.body),
        });
        response.end(result.body);
      },
      (error: unknown) => {
        const result = formatTextError(
          500,
          error instanceof Error ? error.message : 'internal error',
        );
        response.writeHead(result.status, result.headers);
        response.end(result.body);
      },
    );
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    upstreamRequests: () => upstream,
    close: async () => {
      cache.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

function refuse(message: string): ImdsResponse {
  return formatImdsError(
    new ImdsProtocolError(403, message, { error: 'forbidden', format: 'json' }),
  );
}
