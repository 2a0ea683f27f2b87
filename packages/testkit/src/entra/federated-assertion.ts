import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

/** A federated identity credential, as ARM stores it on a user-assigned identity or an app. */
export interface FederatedCredential {
  readonly name: string;
  /** Compared exactly (case-sensitive), as Entra does. */
  readonly issuer: string;
  /** Compared exactly (case-sensitive), e.g. `system:serviceaccount:<namespace>:<name>`. */
  readonly subject: string;
  /** Usually `["api://AzureADTokenExchange"]`. */
  readonly audiences: readonly string[];
}

/** An application (or user-assigned identity) that can sign in with federated credentials. */
export interface FederatedApplication {
  readonly tenantId: string;
  readonly clientId: string;
  readonly objectId: string;
  /** Set for a user-assigned identity: its resource id, carried as `xms_mirid` in its tokens. */
  readonly managedIdentityResourceId?: string;
  readonly federatedCredentials: readonly FederatedCredential[];
}

/**
 * Where the Entra emulator learns federated credentials, read at each token request: in Azure, ARM
 * writes an identity's federated credentials and Entra honours them.
 */
export interface FederatedIdentityDirectory {
  /** The application with this client id in this tenant, or `undefined`. */
  findApplication(tenantId: string, clientId: string): FederatedApplication | undefined;
}

/** Why Entra refused a federated client assertion: the parts of its error body. */
export interface FederatedAssertionRefusal {
  readonly status: number;
  readonly error: string;
  readonly code: number;
  readonly description: string;
}

/** Fetches an issuer's signing keys through its OIDC discovery document. */
export interface IssuerKeyResolver {
  /** The key with this `kid`; `undefined` when the issuer publishes none. Throws when the issuer cannot be read. */
  resolve(issuer: string, keyId: string): Promise<KeyObject | undefined>;
}

/** Options of {@link createIssuerKeyResolver}. */
export interface IssuerKeyResolverOptions {
  /** CA certificates (PEM) trusted for https issuers. */
  readonly trustedCaPems: readonly string[];
  /** How long fetched keys are used before they are fetched again; default 5 minutes. */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

const MAX_DOCUMENT_BYTES = 256 * 1024;

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function getJson(url: URL, ca: readonly string[]): Promise<unknown> {
  // The emulator never reaches beyond this machine: an issuer elsewhere is refused, not fetched.
  if (!isLoopback(url.hostname))
    return Promise.reject(
      new Error(`the emulator reads issuer metadata from loopback only, not ${url.host}`),
    );
  const request =
    url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (request === undefined)
    return Promise.reject(new Error(`unsupported issuer scheme ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json, application/jwk-set+json' },
        ...(url.protocol === 'https:' ? { ca: [...ca] } : {}),
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_DOCUMENT_BYTES) req.destroy(new Error(`${url.href}: document too large`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`${url.href}: HTTP ${String(res.statusCode)}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url.href}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * An {@link IssuerKeyResolver} that reads `<issuer>/.well-known/openid-configuration`, checks that it
 * names the same issuer, and reads its `jwks_uri`, as Entra does for a federated credential's issuer.
 * Keys are cached per issuer; an unknown `kid` fetches again (a rotated key), at most once a second.
 */
export function createIssuerKeyResolver(options: IssuerKeyResolverOptions): IssuerKeyResolver {
  const cacheMs = options.cacheMs ?? 300_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { fetchedAt: number; keys: Map<string, KeyObject> }>();
  const fetchKeys = async (issuer: string): Promise<Map<string, KeyObject>> => {
    const base = new URL(issuer.endsWith('/') ? issuer : `${issuer}/`);
    const discovery = (await getJson(
      new URL('.well-known/openid-configuration', base),
      options.trustedCaPems,
    )) as {
      issuer?: unknown;
      jwks_uri?: unknown;
    };
    if (discovery.issuer !== issuer)
      throw new Error(
        `the discovery document names issuer ${String(discovery.issuer)}, not ${issuer}`,
      );
    if (typeof discovery.jwks_uri !== 'string')
      throw new Error('the discovery document has no jwks_uri');
    const jwks = (await getJson(new URL(discovery.jwks_uri), options.trustedCaPems)) as {
      keys?: unknown;
    };
    const keys = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(jwks.keys) ? (jwks.keys as Record<string, unknown>[]) : []) {
      if (typeof jwk.kid !== 'string' || jwk.kty !== 'RSA') continue;
      keys.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
    }
    // Bounded: one entry per issuer a federated credential names.
    if (cache.size >= 256) cache.clear();
    cache.set(issuer, { fetchedAt: now(), keys });
    return keys;
  };
  return {
    async resolve(issuer, keyId) {
      const cached = cache.get(issuer);
      const age = cached === undefined ? Infinity : now() - cached.fetchedAt;
      if (cached !== undefined && age < cacheMs && (cached.keys.has(keyId) || age < 1_000))
        return cached.keys.get(keyId);
      return (await fetchKeys(issuer)).get(keyId);
    },
  };
}

/** Entra tolerates five minutes of clock skew on assertions. */
const SKEW_SECONDS = 300;

const refusal = (
  status: number,
  error: string,
  code: number,
  description: string,
): FederatedAssertionRefusal => ({
  status,
  error,
  code,
  description,
});

const CHECK_HINT =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

/**
 * Validates a client assertion against an application's federated credentials the way Entra does,
 * returning `undefined` when it is accepted or the refusal Entra answers: AADSTS50027 (not a JWT),
 * AADSTS70021 (the application has no federated credential), AADSTS700211 (no credential for the
 * issuer), AADSTS7000272 (signing key not published by the issuer), AADSTS700027 (bad signature),
 * AADSTS700024 (outside its valid time range), AADSTS700213 (subject), AADSTS700212 (audience).
 */
export async function validateFederatedAssertion(
  assertion: string,
  application: FederatedApplication,
  keys: IssuerKeyResolver,
  nowSeconds: number,
): Promise<FederatedAssertionRefusal | undefined> {
  const [head = '', body = '', signature = '', ...rest] = assertion.split('.');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    if (rest.length > 0 || signature === '') throw new Error('not three segments');
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return refusal(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  }
  const issuer = typeof claims.iss === 'string' ? claims.iss : '';
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  const audiences = Array.isArray(claims.aud)
    ? claims.aud.filter((a): a is string => typeof a === 'string')
    : typeof claims.aud === 'string'
      ? [claims.aud]
      : [];
  const credentials = application.federatedCredentials;
  if (credentials.length === 0)
    return refusal(
      400,
      'invalid_request',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${subject}'. Assertion Audience: '${audiences.join(',')}'.`,
    );
  const byIssuer = credentials.filter((credential) => credential.issuer === issuer);
  if (byIssuer.length === 0)
    return refusal(
      401,
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${issuer}'. ${CHECK_HINT}`,
    );
  const keyId = typeof header.kid === 'string' ? header.kid : '';
  let key: KeyObject | undefined;
  try {
    key = await keys.resolve(issuer, keyId);
  } catch (error) {
    return refusal(
      401,
      'invalid_client',
      7000272,
      `The certificate with identifier ${keyId} used to sign the federated credential could not be found in the metadata of identity provider ${issuer}: ${(error as Error).message}.`,
    );
  }
  if (key === undefined || header.alg !== 'RS256')
    return refusal(
      401,
      'invalid_client',
      7000272,
      `The certificate with identifier ${keyId} used to sign the federated credential could not be found in the metadata of identity provider ${issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.`,
    );
  if (!verify('sha256', Buffer.from(`${head}.${body}`), key, Buffer.from(signature, 'base64url')))
    return refusal(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
  const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
  if (
    exp === undefined ||
    exp + SKEW_SECONDS < nowSeconds ||
    (nbf !== undefined && nbf - SKEW_SECONDS > nowSeconds)
  ) {
    const at = (seconds: number | undefined): string =>
      seconds === undefined ? 'unknown' : new Date(seconds * 1000).toISOString();
    return refusal(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${at(nowSeconds)}, assertion valid from ${at(nbf)}, expiry time of assertion ${at(exp)}.`,
    );
  }
  const bySubject = byIssuer.filter((credential) => credential.subject === subject);
  if (bySubject.length === 0)
    return refusal(
      401,
      'invalid_client',
      700213,
      `No matching federated identity record found for presented assertion subject '${subject}'. ${CHECK_HINT}`,
    );
  if (
    !bySubject.some((credential) =>
      credential.audiences.some((audience) => audiences.includes(audience)),
    )
  )
    return refusal(
      401,
      'invalid_client',
      700212,
      `No matching federated identity record found for presented assertion audience '${audiences.join(',')}'. ${CHECK_HINT}`,
    );
  return undefined;
}
