import { constants, createHash, randomUUID, verify, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CertificateAuthority } from '../tls/certificate-authority.js';
import { getSharedCertificateAuthority } from '../tls/certificate-authority.js';
import { recordTraffic } from '../contract/record-traffic.js';
import { startLoopbackServer } from '../tls/start-loopback-server.js';
import {
  createIssuerKeyResolver,
  validateFederatedAssertion,
  type FederatedApplication,
  type FederatedIdentityDirectory,
} from './federated-assertion.js';
import type { IssuedToken, TokenIssuer } from './token-issuer.js';
import { decodeToken, getSharedTokenIssuer } from './token-issuer.js';

/** Options of {@link startEntraEmulator}. */
export interface StartEntraEmulatorOptions {
  /** CA that issues the https certificate; default the per-process shared one. */
  readonly certificateAuthority?: CertificateAuthority;
  /** Signs tokens; default the per-process shared issuer. */
  readonly tokenIssuer?: TokenIssuer;
  /** Loopback address; default `127.0.0.1`. */
  readonly host?: string;
  /** Access-token lifetime; default 1 h (Entra's `expires_in` 3599). */
  readonly tokenLifetimeMs?: number;
  /**
   * Applications and user-assigned identities that sign in with federated credentials (client
   * assertions from an OIDC issuer such as a cluster's service-account issuer), read at each request.
   */
  readonly federatedIdentities?: FederatedIdentityDirectory;
  /**
   * CA certificates (PEM) trusted when fetching an https issuer's discovery document and JWKS, beside
   * `certificateAuthority`'s. Issuers are fetched from loopback addresses only.
   */
  readonly trustedIssuerCaPems?: readonly string[];
}

/** A service principal to register: exactly one of `clientSecret` or `certificatePem`, or both. */
export interface ServicePrincipalSpec {
  readonly tenantId: string;
  /** Default a random GUID. */
  readonly clientId?: string;
  /** Default a random GUID. */
  readonly objectId?: string;
  readonly clientSecret?: string;
  /** The public certificate (PEM) whose key signs client assertions. A PEM with a private key is accepted too. */
  readonly certificatePem?: string;
}

/** A registered service principal. */
export interface ServicePrincipalInfo {
  readonly tenantId: string;
  readonly clientId: string;
  readonly objectId: string;
}

/** One token request the Entra emulator answered. */
export interface EntraRequestRecord {
  readonly path: string;
  readonly status: number;
  readonly tenantId: string;
  readonly clientId: string | undefined;
  /**
   * `secret` or `assertion` (a certificate's) for token requests, `federated` for a client assertion
   * checked against federated credentials, `metadata` for discovery documents.
   */
  readonly kind: 'secret' | 'assertion' | 'federated' | 'metadata' | 'other';
  readonly endpointVersion: 'v1' | 'v2.0' | undefined;
}

/** Fault injection of the Entra emulator's token endpoint. */
export interface EntraFaults {
  /** Answers the next `count` (default 1) token requests with this status (e.g. 500, 503, 429). */
  failNext(failure: {
    readonly status: number;
    readonly count?: number;
    readonly retryAfterSeconds?: number;
  }): void;
  /** Delays every token response (0 removes it). */
  setLatency(latencyMs: number): void;
  clear(): void;
}

/** A running Entra ID emulator. */
export interface EntraEmulator {
  /** `https://127.0.0.1:<port>`: the `authorityHost` of `@azure/identity` credentials. */
  readonly url: string;
  readonly certificateAuthority: CertificateAuthority;
  readonly tokenIssuer: TokenIssuer;
  readonly faults: EntraFaults;
  /** Registers (or replaces) a service principal. */
  registerServicePrincipal(spec: ServicePrincipalSpec): ServicePrincipalInfo;
  /** Removes a service principal; later token requests fail with AADSTS700016. */
  removeServicePrincipal(tenantId: string, clientId: string): boolean;
  requestLog(): readonly EntraRequestRecord[];
  stop(): Promise<void>;
}

interface StoredPrincipal extends ServicePrincipalInfo {
  readonly secret: string | undefined;
  readonly certificate:
    { readonly publicKey: KeyObject; readonly sha1: string; readonly sha256: string } | undefined;
}

class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`AADSTS${code}: ${description}`);
  }
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Entra tolerates five minutes of clock skew on client assertions. */
const SKEW_SECONDS = 300;

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Starts an https emulator of the Microsoft Entra ID token service for service principals, as
 * `@azure/identity` (MSAL) and the Go original's adal call it:
 *
 * - `POST /{tenant}/oauth2/v2.0/token` (form `scope`, e.g. `https://management.azure.com/.default`) and
 *   `POST /{tenant}/oauth2/token` (v1, form `resource`), grant `client_credentials`, authenticated with
 *   `client_secret` or a `client_assertion` JWT whose RS256/PS256 signature is verified against the
 *   registered certificate found by its `x5t` / `x5t#S256` thumbprint, with `aud`, `iss`, `sub`, `exp` checked.
 * - The discovery documents MSAL reads first: `/{tenant}/v2.0/.well-known/openid-configuration`,
 *   `/common/discovery/instance`, and the JWKS.
 *
 * Credentials reach it with `{ authorityHost: entra.url, disableInstanceDiscovery: true, ...azureClientTlsOptions(ca) }`.
 * Errors carry the AADSTS codes Entra uses.
 */
export async function startEntraEmulator(
  options: StartEntraEmulatorOptions = {},
): Promise<EntraEmulator> {
  const certificateAuthority = options.certificateAuthority ?? getSharedCertificateAuthority();
  const tokenIssuer = options.tokenIssuer ?? getSharedTokenIssuer();
  const lifetimeMs = options.tokenLifetimeMs ?? 3_599_000;
  const principals = new Map<string, StoredPrincipal>();
  const tenants = new Set<string>();
  const log: EntraRequestRecord[] = [];
  const pending: { status: number; remaining: number; retryAfterSeconds: number | undefined }[] =
    [];
  const timers = new Set<NodeJS.Timeout>();
  let latencyMs = 0;
  let baseUrl = '';

  const issuerKeys = createIssuerKeyResolver({
    trustedCaPems: [certificateAuthority.certificatePem, ...(options.trustedIssuerCaPems ?? [])],
  });
  const findFederated = (
    tenantId: string,
    clientId: string | undefined,
  ): FederatedApplication | undefined =>
    clientId === undefined
      ? undefined
      : options.federatedIdentities?.findApplication(tenantId, clientId);

  const key = (tenantId: string, clientId: string): string =>
    `${tenantId.toLowerCase()}/${clientId.toLowerCase()}`;

  const openIdConfiguration = (tenant: string, version: 'v1' | 'v2.0'): Record<string, unknown> => {
    const v = version === 'v2.0' ? '/v2.0' : '';
    return {
      token_endpoint: `${baseUrl}/${tenant}/oauth2${v}/token`,
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'private_key_jwt',
        'client_secret_basic',
      ],
      jwks_uri: `${baseUrl}/${tenant}/discovery${v}/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer:
        version === 'v2.0' ? `${baseUrl}/${tenant}/v2.0` : `https://sts.windows.net/${tenant}/`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
      authorization_endpoint: `${baseUrl}/${tenant}/oauth2${v}/authorize`,
      device_authorization_endpoint: `${baseUrl}/${tenant}/oauth2${v}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${baseUrl}/${tenant}/oauth2${v}/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
      kerberos_endpoint: `${baseUrl}/${tenant}/kerberos`,
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  };

  const checkAssertion = (
    principal: StoredPrincipal,
    assertion: string,
    audiences: readonly string[],
  ): void => {
    const invalid = (code: number, description: string): EntraError =>
      new EntraError(401, 'invalid_client', code, description);
    if (!principal.certificate)
      throw invalid(
        700027,
        'Client assertion failed signature validation. [Reason - No certificate is registered for the application.]',
      );
    let decoded;
    try {
      decoded = decodeToken(assertion);
    } catch {
      throw new EntraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    }
    const { header, claims } = decoded;
    const raw = claims as unknown as Record<string, unknown>;
    const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
    const x5t256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
    const thumbprintMatches =
      (x5t !== undefined && x5t === principal.certificate.sha1) ||
      (x5t256 !== undefined && x5t256 === principal.certificate.sha256);
    if (!thumbprintMatches) {
      throw invalid(
        700027,
        `Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${x5t256 ?? x5t ?? ''}']`,
      );
    }
    const [head, payload, signature] = assertion.split('.');
    const data = Buffer.from(`${head ?? ''}.${payload ?? ''}`);
    const signatureBytes = Buffer.from(signature ?? '', 'base64url');
    let valid: boolean;
    if (header.alg === 'RS256') {
      valid = verify('sha256', data, principal.certificate.publicKey, signatureBytes);
    } else if (header.alg === 'PS256') {
      valid = verify(
        'sha256',
        data,
        {
          key: principal.certificate.publicKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_AUTO,
        },
        signatureBytes,
      );
    } else {
      throw invalid(
        700027,
        `Client assertion failed signature validation. [Reason - Unsupported algorithm ${String(header.alg)}.]`,
      );
    }
    if (!valid)
      throw invalid(
        700027,
        'Client assertion failed signature validation. [Reason - The signature is invalid.]',
      );
    if (raw.iss !== principal.clientId || raw.sub !== principal.clientId) {
      throw invalid(
        700021,
        "Client assertion application identifier doesn't match 'client_id' parameter.",
      );
    }
    if (typeof raw.aud !== 'string' || !audiences.includes(raw.aud)) {
      throw invalid(
        700212,
        `No matching federated identity record found for presented assertion audience '${String(raw.aud)}'.`,
      );
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof raw.exp !== 'number' || raw.exp + SKEW_SECONDS < now) {
      throw invalid(700024, 'Client assertion is not within its valid time range.');
    }
    if (typeof raw.nbf === 'number' && raw.nbf - SKEW_SECONDS > now) {
      throw invalid(700024, 'Client assertion is not within its valid time range.');
    }
  };

  // v2.0 answers numbers, v1 answers strings (and adds expires_on / not_before / resource).
  const tokenBody = (
    version: 'v1' | 'v2.0',
    issued: IssuedToken,
    audience: string,
  ): Record<string, unknown> =>
    version === 'v2.0'
      ? {
          token_type: 'Bearer',
          expires_in: issued.expiresIn,
          ext_expires_in: issued.expiresIn,
          access_token: issued.accessToken,
        }
      : {
          token_type: 'Bearer',
          expires_in: String(issued.expiresIn),
          ext_expires_in: String(issued.expiresIn),
          expires_on: String(issued.expiresOn),
          not_before: String(issued.notBefore),
          resource: audience,
          access_token: issued.accessToken,
        };

  // A user-assigned identity or app signing in with a federated credential: the assertion is a token
  // of an external issuer (a cluster's service-account token), checked against its credentials.
  const issueFederated = async (
    application: FederatedApplication,
    form: URLSearchParams,
    audience: string,
  ): Promise<IssuedToken> => {
    if (!form.has('client_assertion')) {
      throw new EntraError(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    if (form.get('client_assertion_type') !== JWT_BEARER) {
      throw new EntraError(
        400,
        'invalid_request',
        50027,
        "The 'client_assertion_type' must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
      );
    }
    const refused = await validateFederatedAssertion(
      form.get('client_assertion') ?? '',
      application,
      issuerKeys,
      Math.floor(Date.now() / 1000),
    );
    if (refused !== undefined)
      throw new EntraError(refused.status, refused.error, refused.code, refused.description);
    return tokenIssuer.issue({
      audience,
      tenantId: application.tenantId,
      clientId: application.clientId,
      objectId: application.objectId,
      ...(application.managedIdentityResourceId === undefined
        ? {}
        : { managedIdentityResourceId: application.managedIdentityResourceId }),
      lifetimeMs,
    });
  };

  const handleToken = async (
    request: IncomingMessage,
    tenant: string,
    version: 'v1' | 'v2.0',
    path: string,
  ): Promise<{
    status: number;
    body: unknown;
    headers?: Readonly<Record<string, string>>;
    record: EntraRequestRecord;
  }> => {
    const form = await readForm(request);
    const clientId = form.get('client_id') ?? undefined;
    const hasAssertion = form.has('client_assertion');
    const federated = principals.has(key(tenant, clientId ?? ''))
      ? undefined
      : findFederated(tenant, clientId);
    const record = (status: number): EntraRequestRecord => ({
      path,
      status,
      tenantId: tenant,
      clientId,
      kind: hasAssertion ? (federated === undefined ? 'assertion' : 'federated') : 'secret',
      endpointVersion: version,
    });
    try {
      if (!tenants.has(tenant.toLowerCase()) && federated === undefined) {
        throw new EntraError(
          400,
          'invalid_request',
          90002,
          `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        );
      }
      await new Promise<void>((resolve) => {
        if (latencyMs <= 0) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, latencyMs);
        timers.add(timer);
      });
      const failure = pending[0];
      if (failure) {
        failure.remaining -= 1;
        if (failure.remaining === 0) pending.shift();
        throw new EntraError(
          failure.status,
          failure.status === 429 ? 'temporarily_unavailable' : 'server_error',
          failure.status === 429 ? 50196 : 50000,
          'Injected failure: there was an error issuing a token.',
          failure.retryAfterSeconds === undefined
            ? {}
            : { 'retry-after': String(failure.retryAfterSeconds) },
        );
      }
      if (form.get('grant_type') !== 'client_credentials') {
        throw new EntraError(
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${form.get('grant_type') ?? ''}'.`,
        );
      }
      if (!clientId)
        throw new EntraError(
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'client_id'.",
        );
      let audience: string;
      if (version === 'v2.0') {
        const scope = form.get('scope') ?? '';
        const scopes = scope
          .split(' ')
          .filter(
            (item) => item.length > 0 && !['openid', 'profile', 'offline_access'].includes(item),
          );
        if (scopes.length !== 1 || !scopes[0]?.endsWith('/.default')) {
          throw new EntraError(
            400,
            'invalid_scope',
            1002012,
            `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
          );
        }
        audience = scopes[0].slice(0, -'/.default'.length);
      } else {
        const resource = form.get('resource');
        if (!resource)
          throw new EntraError(
            400,
            'invalid_request',
            900144,
            "The request body must contain the following parameter: 'resource'.",
          );
        audience = resource;
      }
      if (federated !== undefined) {
        const issued = await issueFederated(federated, form, audience);
        return { status: 200, body: tokenBody(version, issued, audience), record: record(200) };
      }
      const principal = principals.get(key(tenant, clientId));
      if (!principal) {
        throw new EntraError(
          400,
          'unauthorized_client',
          700016,
          `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
        );
      }
      if (hasAssertion) {
        if (form.get('client_assertion_type') !== JWT_BEARER) {
          throw new EntraError(
            400,
            'invalid_request',
            50027,
            "The 'client_assertion_type' must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
          );
        }
        checkAssertion(principal, form.get('client_assertion') ?? '', [
          `${baseUrl}/${tenant}/oauth2/v2.0/token`,
          `${baseUrl}/${tenant}/oauth2/token`,
        ]);
      } else {
        const secret = form.get('client_secret');
        if (!secret) {
          throw new EntraError(
            401,
            'invalid_client',
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
          );
        }
        if (principal.secret === undefined || secret !== principal.secret) {
          throw new EntraError(
            401,
            'invalid_client',
            7000215,
            `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
          );
        }
      }
      const issued = tokenIssuer.issue({
        audience,
        tenantId: principal.tenantId,
        clientId: principal.clientId,
        objectId: principal.objectId,
        lifetimeMs,
      });
      return { status: 200, body: tokenBody(version, issued, audience), record: record(200) };
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      return {
        status: error.status,
        headers: error.headers,
        body: {
          error: error.error,
          error_description: `${error.message}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
          error_codes: [error.code],
          timestamp: new Date()
            .toISOString()
            .replace('T', ' ')
            .replace(/\.\d+Z$/, 'Z'),
          trace_id: randomUUID(),
          correlation_id: randomUUID(),
        },
        record: record(error.status),
      };
    }
  };

  const send = (
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): void => {
    const payload = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'cache-control': 'no-store, no-cache',
      'x-ms-request-id': randomUUID(),
      ...headers,
    });
    response.end(payload);
  };

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', baseUrl);
    const segments = url.pathname.split('/').filter((segment) => segment.length > 0);
    const path = url.pathname;
    const other = (status: number): EntraRequestRecord => ({
      path,
      status,
      tenantId: segments[0] ?? '',
      clientId: undefined,
      kind: 'metadata',
      endpointVersion: undefined,
    });
    const [tenant = '', ...rest] = segments;
    const tail = rest.join('/');
    if (request.method === 'POST' && (tail === 'oauth2/v2.0/token' || tail === 'oauth2/token')) {
      const result = await handleToken(
        request,
        tenant,
        tail === 'oauth2/token' ? 'v1' : 'v2.0',
        path,
      );
      log.push(result.record);
      send(response, result.status, result.body, result.headers);
      return;
    }
    request.resume();
    if (request.method !== 'GET') {
      log.push({ ...other(405), kind: 'other' });
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
      const status =
        tenant === 'common' || tenant === 'organizations' || tenants.has(tenant.toLowerCase())
          ? 200
          : 400;
      log.push(other(status));
      if (status === 200)
        send(response, 200, openIdConfiguration(tenant, tail.startsWith('v2.0') ? 'v2.0' : 'v1'));
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
      send(response, 200, tokenIssuer.jwks);
      return;
    }
    if (tenant === 'common' && tail === 'discovery/instance') {
      log.push(other(200));
      const host = url.host;
      const endpoint = url.searchParams.get('authorization_endpoint') ?? '';
      const endpointTenant = /^https?:\/\/[^/]+\/([^/]+)\//.exec(endpoint)?.[1] ?? 'common';
      send(response, 200, {
        tenant_discovery_endpoint: `${baseUrl}/${endpointTenant}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
      return;
    }
    log.push({ ...other(404), kind: 'other' });
    send(response, 404, { error: 'not_found', error_description: `No route for ${path}` });
  };

  const server = await startLoopbackServer({
    handler: recordTraffic('entra', handler),
    certificate: certificateAuthority.issueServerCertificate(),
    ...(options.host ? { host: options.host } : {}),
  });
  baseUrl = server.url;

  return {
    url: server.url,
    certificateAuthority,
    tokenIssuer,
    faults: {
      failNext(failure) {
        const count = failure.count ?? 1;
        if (!Number.isInteger(failure.status) || failure.status < 400 || failure.status > 599) {
          throw new RangeError(`status must be an HTTP error status, got ${failure.status}`);
        }
        if (!Number.isInteger(count) || count < 1)
          throw new RangeError(`count must be a positive integer, got ${count}`);
        pending.push({
          status: failure.status,
          remaining: count,
          retryAfterSeconds: failure.retryAfterSeconds,
        });
      },
      setLatency(ms) {
        if (!Number.isFinite(ms) || ms < 0)
          throw new RangeError(`latencyMs must be >= 0, got ${ms}`);
        latencyMs = ms;
      },
      clear() {
        pending.length = 0;
        latencyMs = 0;
      },
    },
    registerServicePrincipal(spec) {
      if (!GUID.test(spec.tenantId))
        throw new TypeError(`tenantId must be a GUID, got ${JSON.stringify(spec.tenantId)}`);
      const clientId = spec.clientId ?? randomUUID();
      if (!GUID.test(clientId))
        throw new TypeError(`clientId must be a GUID, got ${JSON.stringify(clientId)}`);
      if (spec.clientSecret === undefined && spec.certificatePem === undefined) {
        throw new TypeError(
          'registerServicePrincipal: give a clientSecret, a certificatePem, or both',
        );
      }
      if (spec.clientSecret?.length === 0) throw new TypeError('clientSecret must not be empty');
      let certificate: StoredPrincipal['certificate'];
      if (spec.certificatePem !== undefined) {
        const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(
          spec.certificatePem,
        );
        if (!match) throw new TypeError('certificatePem must contain a PEM certificate');
        const x509 = new X509Certificate(match[0]);
        if (x509.publicKey.asymmetricKeyType !== 'rsa')
          throw new TypeError(
            'the certificate key must be RSA (client assertions are RS256/PS256)',
          );
        certificate = {
          publicKey: x509.publicKey,
          sha1: createHash('sha1').update(x509.raw).digest('base64url'),
          sha256: createHash('sha256').update(x509.raw).digest('base64url'),
        };
      }
      const stored: StoredPrincipal = {
        tenantId: spec.tenantId,
        clientId,
        objectId: spec.objectId ?? randomUUID(),
        secret: spec.clientSecret,
        certificate,
      };
      tenants.add(spec.tenantId.toLowerCase());
      principals.set(key(spec.tenantId, clientId), stored);
      return { tenantId: stored.tenantId, clientId: stored.clientId, objectId: stored.objectId };
    },
    removeServicePrincipal(tenantId, clientId) {
      return principals.delete(key(tenantId, clientId));
    },
    requestLog: () => [...log],
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.close();
    },
  };
}
