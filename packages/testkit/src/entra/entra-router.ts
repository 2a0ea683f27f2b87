import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http/send-json.js';
import { instanceDiscovery, openIdConfiguration } from './entra-discovery.js';
import type { EntraTokenEndpoint } from './entra-token-endpoint.js';
import type { EntraRequestRecord } from './start-entra-emulator.js';
import type { TokenIssuer } from './token-issuer.js';

/** What {@link createEntraRouter} routes to and records in. */
export interface EntraRouterOptions {
  readonly tokenEndpoint: EntraTokenEndpoint;
  readonly tokenIssuer: TokenIssuer;
  /** Whether a tenant's discovery document exists (a service principal was registered in it). */
  readonly knownTenant: (tenant: string) => boolean;
  /** Every answered request is appended here. */
  readonly log: EntraRequestRecord[];
  readonly baseUrl: () => string;
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJson(response, status, body, {
    'cache-control': 'no-store, no-cache',
    'x-ms-request-id': randomUUID(),
    ...headers,
  });
}

/**
 * The Entra emulator's routes: `POST` to the v1 and v2.0 token endpoints, `GET` of the tenant's
 * OpenID configuration, the JWKS and MSAL's instance discovery; anything else 404 (405 for a method
 * other than GET off the token endpoints).
 */
export function createEntraRouter(
  options: EntraRouterOptions,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const { log } = options;
  return async (request, response) => {
    const baseUrl = options.baseUrl();
    const url = new URL(request.url ?? '/', baseUrl);
    const path = url.pathname;
    const [tenant = '', ...rest] = path.split('/').filter((segment) => segment.length > 0);
    const tail = rest.join('/');
    const other = (
      status: number,
      kind: EntraRequestRecord['kind'] = 'metadata',
    ): EntraRequestRecord => ({
      path,
      status,
      tenantId: tenant,
      clientId: undefined,
      kind,
      endpointVersion: undefined,
    });
    if (request.method === 'POST' && (tail === 'oauth2/v2.0/token' || tail === 'oauth2/token')) {
      const endpointVersion = tail === 'oauth2/token' ? 'v1' : 'v2.0';
      const answer = await options.tokenEndpoint(request, tenant, endpointVersion);
      const { status, clientId, kind } = answer;
      log.push({ path, status, tenantId: tenant, clientId, kind, endpointVersion });
      send(response, status, answer.body, answer.headers);
      return;
    }
    request.resume();
    if (request.method !== 'GET') {
      log.push(other(405, 'other'));
      send(response, 405, {
        error: 'invalid_request',
        error_description: 'AADSTS900561: The endpoint only accepts POST requests.',
      });
      return;
    }
    if (
      tail === 'v2.0/.well-known/openid-configuration' ||
      tail === '.well-known/openid-configuration'
    ) {
      const known =
        tenant === 'common' || tenant === 'organizations' || options.knownTenant(tenant);
      log.push(other(known ? 200 : 400));
      if (known)
        send(
          response,
          200,
          openIdConfiguration(baseUrl, tenant, tail.startsWith('v2.0') ? 'v2.0' : 'v1'),
        );
      else
        send(response, 400, {
          error: 'invalid_tenant',
          error_description: `AADSTS90002: Tenant '${tenant}' not found.`,
          error_codes: [90002],
        });
      return;
    }
    if (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys') {
      log.push(other(200));
      send(response, 200, options.tokenIssuer.jwks);
      return;
    }
    if (tenant === 'common' && tail === 'discovery/instance') {
      log.push(other(200));
      send(response, 200, instanceDiscovery(baseUrl, url));
      return;
    }
    log.push(other(404, 'other'));
    send(response, 404, { error: 'not_found', error_description: `No route for ${path}` });
  };
}
