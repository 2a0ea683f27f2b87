import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiStatusError,
  badRequestError,
  methodNotAllowedError,
  statusObject,
  unknownPathError,
} from './api-status-error.js';
import { readBody, sendError, sendJson } from './emulator-http.js';
import type { EmulatorUsers } from './emulator-users.js';
import type { FaultRules, RequestAttributes } from './kubernetes-faults.js';
import { isResourceRoute, requestVerb, routeRequest } from './request-route.js';
import { serveResource, type ResourceServing } from './serve-resource.js';
import type {
  KubernetesUser,
  ServiceAccountTokenApi,
  ServiceAccountTokenRoute,
} from './service-account-token-api.js';

/** What {@link createKubernetesRequestListener} routes to. */
export interface KubernetesRequestListenerOptions {
  readonly serving: ResourceServing;
  readonly faults: FaultRules;
  readonly users: EmulatorUsers;
  readonly tokenApi: ServiceAccountTokenApi;
  /** Aborted at close: ends injected delays. */
  readonly shutdown: AbortSignal;
  /** Reported by `/version`. */
  readonly minorVersion: number;
  /** `host:port` the discovery documents name (known once the server listens). */
  readonly serverAddress: () => string;
}

function versionDocument(minor: number): Record<string, string> {
  return {
    major: '1',
    minor: String(minor),
    gitVersion: `v1.${minor}.0`,
    gitCommit: 'pod-identity-testkit',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'emulated',
    compiler: 'gc',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

function pathSegments(pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    throw badRequestError(`malformed request path: ${pathname}`);
  }
}

/**
 * The emulator's HTTP front: authentication (401), the service-account token routes, health and
 * `/version`, discovery, then resources; injected delays and failures apply to what they match;
 * errors answer as kube-apiserver's `Status`.
 */
export function createKubernetesRequestListener(
  options: KubernetesRequestListenerOptions,
): RequestListener {
  const { faults, users } = options;

  // false: the request is answered (an injected failure) or the emulator is shutting down.
  const applyFaults = async (
    req: IncomingMessage,
    res: ServerResponse,
    attributes: RequestAttributes,
  ): Promise<boolean> => {
    const delayMs = faults.takeDelay(attributes);
    if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: options.shutdown });
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
    const user = users.authenticate(req.headers.authorization);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const segments = pathSegments(url.pathname);
    const method = req.method ?? 'GET';
    const tokenRoute = options.tokenApi.route(method, segments);
    if (user === undefined && tokenRoute?.authenticated !== false) {
      req.resume();
      sendJson(res, 401, statusObject(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (tokenRoute !== undefined) {
      await serveTokenRoute(req, res, tokenRoute, user ?? users.admin);
      return;
    }
    if (segments.length === 1 && ['healthz', 'readyz', 'livez'].includes(segments[0] ?? '')) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    if (segments.length === 1 && segments[0] === 'version') {
      sendJson(res, 200, versionDocument(options.minorVersion));
      return;
    }
    const { api } = options.serving;
    const r = routeRequest(api, segments, options.serverAddress());
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
    await serveResource(options.serving, req, res, r, verb, url.searchParams);
  };

  return (req, res) => {
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
}
