import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** The claims of an access token minted by the emulators (Entra ID v1 access-token shape). */
export interface AccessTokenClaims {
  /** Audience: the `resource` asked for (IMDS, Entra v1) or the scope without `/.default` (Entra v2.0). */
  readonly aud: string;
  /** `https://sts.windows.net/<tid>/`, as v1 tokens carry. */
  readonly iss: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  /** The client (application) id of the identity or service principal. */
  readonly appid: string;
  /** The object (principal) id of the identity or service principal. */
  readonly oid: string;
  /** Equals `oid` for app-only tokens. */
  readonly sub: string;
  readonly tid: string;
  /** `app` for app-only tokens. */
  readonly idtyp: 'app';
  readonly ver: '1.0';
  /** Managed identity tokens only: the identity's resource id (for system-assigned, the VM or scale set). */
  readonly xms_mirid?: string;
  /** A unique token id. */
  readonly uti: string;
}

/** What to put in a token; see {@link AccessTokenClaims}. */
export interface IssueTokenInput {
  readonly audience: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly objectId: string;
  /** Sets `xms_mirid`. */
  readonly managedIdentityResourceId?: string;
  /** Default 24 h (IMDS tokens); Entra client credentials use 1 h. */
  readonly lifetimeMs?: number;
  /** Issue time; default now. */
  readonly now?: Date;
}

/** An access token and its times, in epoch seconds. */
export interface IssuedToken {
  readonly accessToken: string;
  readonly claims: AccessTokenClaims;
  readonly expiresOn: number;
  readonly notBefore: number;
  readonly expiresIn: number;
}

/** Signs RS256 access tokens for the IMDS and Entra emulators. */
export interface TokenIssuer {
  /** The `kid` header of its tokens (base64url SHA-1 of the public key, like Entra's). */
  readonly keyId: string;
  /** The verification key, SPKI PEM. */
  readonly publicKeyPem: string;
  /** The key as a JWK set (what `/discovery/v2.0/keys` serves). */
  readonly jwks: { readonly keys: readonly Record<string, unknown>[] };
  issue(input: IssueTokenInput): IssuedToken;
  /** Verifies signature, issuer key, and time; returns the claims. Throws `TokenVerificationError` otherwise. */
  verify(token: string, options?: VerifyTokenOptions): AccessTokenClaims;
}

/** Options of {@link verifyToken}. */
export interface VerifyTokenOptions {
  /** Expected `aud`; compared ignoring one trailing slash, as Azure resources do. */
  readonly audience?: string;
  /** Time to check `nbf`/`exp` against; default now. */
  readonly now?: Date;
}

/** A token that fails verification. */
export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError';
}

/** A decoded (not verified) JWT. */
export interface DecodedToken {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: AccessTokenClaims;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** Decodes a JWT without checking its signature: for tests that ask "which identity is this token for?". */
export function decodeToken(token: string): DecodedToken {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => part.length === 0)) {
    throw new TokenVerificationError('not a JWT: expected three base64url segments');
  }
  try {
    const header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const claims = JSON.parse(
      Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'),
    ) as AccessTokenClaims;
    return { header, claims };
  } catch (cause) {
    throw new TokenVerificationError('not a JWT: header or payload is not base64url JSON', {
      cause,
    });
  }
}

/**
 * Verifies an RS256 JWT against a public key (PEM or KeyObject) or a {@link TokenIssuer}: signature,
 * `nbf` ≤ now < `exp`, and optionally the audience. Returns its claims.
 */
export function verifyToken(
  token: string,
  key: TokenIssuer | KeyObject | string,
  options: VerifyTokenOptions = {},
): AccessTokenClaims {
  const publicKey =
    typeof key === 'string'
      ? createPublicKey(key)
      : 'publicKeyPem' in key
        ? createPublicKey(key.publicKeyPem)
        : key;
  const { header, claims } = decodeToken(token);
  if (header.alg !== 'RS256')
    throw new TokenVerificationError(`unexpected alg ${String(header.alg)}`);
  const [head, payload, signature] = token.split('.');
  const valid = verify(
    'sha256',
    Buffer.from(`${head ?? ''}.${payload ?? ''}`),
    publicKey,
    Buffer.from(signature ?? '', 'base64url'),
  );
  if (!valid) throw new TokenVerificationError('signature does not verify');
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (typeof claims.nbf === 'number' && now < claims.nbf)
    throw new TokenVerificationError('token not yet valid');
  if (typeof claims.exp !== 'number' || now >= claims.exp)
    throw new TokenVerificationError('token expired');
  if (options.audience !== undefined) {
    const strip = (value: string): string => value.replace(/\/$/, '');
    if (typeof claims.aud !== 'string' || strip(claims.aud) !== strip(options.audience)) {
      throw new TokenVerificationError(
        `audience ${JSON.stringify(claims.aud)} is not ${options.audience}`,
      );
    }
  }
  return claims;
}

/** Creates a token issuer with a fresh RSA-2048 key (tens of milliseconds; see {@link getSharedTokenIssuer}). */
export function createTokenIssuer(): TokenIssuer {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = base64url(createHash('sha1').update(spki).digest());
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const jwk = publicKey.export({ format: 'jwk' });
  const issuer: TokenIssuer = {
    keyId,
    publicKeyPem,
    jwks: { keys: [{ ...jwk, kty: 'RSA', use: 'sig', kid: keyId, x5t: keyId, alg: 'RS256' }] },
    issue(input) {
      const lifetimeMs = input.lifetimeMs ?? 86_400_000;
      if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0)
        throw new RangeError(`lifetimeMs must be positive, got ${lifetimeMs}`);
      for (const field of ['audience', 'tenantId', 'clientId', 'objectId'] as const) {
        if (typeof input[field] !== 'string' || input[field].length === 0)
          throw new TypeError(`issue: ${field} is required`);
      }
      const iat = Math.floor((input.now ?? new Date()).getTime() / 1000);
      // Entra back-dates nbf by five minutes to absorb clock skew; so do we.
      const nbf = iat - 300;
      const expiresIn = Math.floor(lifetimeMs / 1000);
      const exp = iat + expiresIn;
      const claims: AccessTokenClaims = {
        aud: input.audience,
        iss: `https://sts.windows.net/${input.tenantId}/`,
        iat,
        nbf,
        exp,
        appid: input.clientId,
        oid: input.objectId,
        sub: input.objectId,
        tid: input.tenantId,
        idtyp: 'app',
        ver: '1.0',
        ...(input.managedIdentityResourceId ? { xms_mirid: input.managedIdentityResourceId } : {}),
        uti: base64url(Buffer.from(randomUUID().replace(/-/g, ''), 'hex')),
      };
      const head = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5t: keyId, kid: keyId }));
      const body = base64url(JSON.stringify(claims));
      const signature = base64url(sign('sha256', Buffer.from(`${head}.${body}`), privateKey));
      return {
        accessToken: `${head}.${body}.${signature}`,
        claims,
        expiresOn: exp,
        notBefore: nbf,
        expiresIn,
      };
    },
    verify(token, options) {
      return verifyToken(token, publicKey, options);
    },
  };
  return issuer;
}

let shared: TokenIssuer | undefined;

/** One {@link TokenIssuer} per process, created on first use: RSA key generation is the slow part of a start. */
export function getSharedTokenIssuer(): TokenIssuer {
  shared ??= createTokenIssuer();
  return shared;
}
