import { createHash, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** The `kubernetes.io` claim of a service-account token, as kube-apiserver (1.30+) writes it. */
export interface KubernetesTokenBinding {
  readonly namespace: string;
  readonly serviceaccount: { readonly name: string; readonly uid: string };
  /** Present when the token is bound to a pod. */
  readonly pod?: { readonly name: string; readonly uid: string };
  /** The node of the bound pod (ServiceAccountTokenPodNodeInfo, on by default since 1.30). */
  readonly node?: { readonly name: string; readonly uid: string };
}

/** The claims of a service-account token. */
export interface ServiceAccountTokenClaims {
  readonly aud: readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly nbf: number;
  readonly iss: string;
  readonly jti: string;
  /** `system:serviceaccount:<namespace>:<name>` */
  readonly sub: string;
  readonly 'kubernetes.io': KubernetesTokenBinding;
}

/** What a {@link ServiceAccountTokenSigner} signs. */
export interface ServiceAccountTokenInput {
  readonly audiences: readonly string[];
  readonly expirationSeconds: number;
  readonly binding: KubernetesTokenBinding;
  /** Issue time; default now. */
  readonly now?: Date;
}

/**
 * Signs service-account tokens for one issuer with one RSA key, as kube-apiserver does with
 * `--service-account-issuer` and `--service-account-signing-key-file`, and describes that issuer the
 * way kube-apiserver's OIDC discovery endpoints do.
 */
export interface ServiceAccountTokenSigner {
  /** The `iss` of every token. */
  readonly issuer: string;
  /** The `kid` header: base64url SHA-256 of the public key's DER, as kube-apiserver computes it. */
  readonly keyId: string;
  /** What `/openid/v1/jwks` serves. */
  readonly jwks: { readonly keys: readonly Record<string, unknown>[] };
  /** What `/.well-known/openid-configuration` serves, with `jwks_uri` under `jwksBaseUrl`. */
  discoveryDocument(jwksBaseUrl: string): Record<string, unknown>;
  sign(input: ServiceAccountTokenInput): {
    readonly token: string;
    readonly claims: ServiceAccountTokenClaims;
  };
  /**
   * Checks signature, issuer and time (no audience, no binding); returns the claims, or `undefined`
   * for a token this signer did not issue or that expired.
   */
  verify(token: string, now?: Date): ServiceAccountTokenClaims | undefined;
}

/** An RSA key pair for {@link createServiceAccountTokenSigner}. */
export interface ServiceAccountSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

let sharedKey: ServiceAccountSigningKey | undefined;

/** Creates a fresh RSA-2048 signing key (tens of milliseconds). */
export function createServiceAccountSigningKey(): ServiceAccountSigningKey {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** One signing key per process, made on first use: key generation is the slow part of a start. */
export function getSharedServiceAccountSigningKey(): ServiceAccountSigningKey {
  sharedKey ??= createServiceAccountSigningKey();
  return sharedKey;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * A {@link ServiceAccountTokenSigner} for `issuer`. Tokens are RS256 JWTs with the claims kube-apiserver
 * puts in bound tokens: `aud`, `exp`, `iat`, `nbf`, `iss`, `jti`, `sub` and `kubernetes.io`.
 * @param issuer - the issuer URL
 * @param key - the signing key; default the per-process shared one
 */
export function createServiceAccountTokenSigner(
  issuer: string,
  key: ServiceAccountSigningKey = getSharedServiceAccountSigningKey(),
): ServiceAccountTokenSigner {
  const der = key.publicKey.export({ type: 'spki', format: 'der' });
  const keyId = base64url(createHash('sha256').update(der).digest());
  const jwk = key.publicKey.export({ format: 'jwk' });
  const jwks = { keys: [{ use: 'sig', kty: 'RSA', kid: keyId, alg: 'RS256', n: jwk.n, e: jwk.e }] };
  return {
    issuer,
    keyId,
    jwks,
    discoveryDocument: (jwksBaseUrl) => ({
      issuer,
      jwks_uri: `${jwksBaseUrl.replace(/\/$/, '')}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    }),
    sign(input) {
      const iat = Math.floor((input.now ?? new Date()).getTime() / 1000);
      const { binding } = input;
      const claims: ServiceAccountTokenClaims = {
        aud: [...input.audiences],
        exp: iat + input.expirationSeconds,
        iat,
        iss: issuer,
        jti: randomUUID(),
        'kubernetes.io': binding,
        nbf: iat,
        sub: `system:serviceaccount:${binding.namespace}:${binding.serviceaccount.name}`,
      };
      const head = base64url(JSON.stringify({ alg: 'RS256', kid: keyId }));
      const body = base64url(JSON.stringify(claims));
      const signature = base64url(sign('sha256', Buffer.from(`${head}.${body}`), key.privateKey));
      return { token: `${head}.${body}.${signature}`, claims };
    },
    verify(token, now = new Date()) {
      const [head = '', body = '', signature = ''] = token.split('.');
      let claims: ServiceAccountTokenClaims;
      try {
        const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as {
          alg?: unknown;
          kid?: unknown;
        };
        if (header.alg !== 'RS256' || header.kid !== keyId) return undefined;
        if (
          !verify(
            'sha256',
            Buffer.from(`${head}.${body}`),
            key.publicKey,
            Buffer.from(signature, 'base64url'),
          )
        )
          return undefined;
        claims = JSON.parse(
          Buffer.from(body, 'base64url').toString('utf8'),
        ) as ServiceAccountTokenClaims;
      } catch {
        return undefined;
      }
      const seconds = Math.floor(now.getTime() / 1000);
      if (claims.iss !== issuer || !(seconds < claims.exp) || seconds < claims.nbf)
        return undefined;
      return claims;
    },
  };
}
