import type { ImdsToken } from '../imds/token-response.js';

/**
 * A token as a token source returns it and the cache keeps it: what IMDS's response needs, plus the
 * identity's object ID when the token says (its `oid` claim), which lets a broker honour `object_id`.
 */
export interface AcquiredToken extends ImdsToken {
  /** The `oid` claim: object (principal) ID of the identity the token was issued to. */
  readonly objectId?: string;
}

/**
 * The claims of a JWT's payload, without verifying anything: for reading `oid`, `nbf` and `exp` of a
 * token that came straight from IMDS or Entra over a connection the broker made itself.
 *
 * @param token - a compact JWS
 * @returns the payload's claims, or `undefined` when the token is not a readable JWT
 * @internal Used by the token sources of `@pod-identity/core/azure`; not for applications.
 */
export function readJwtClaims(token: string): Record<string, unknown> | undefined {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1) return undefined;
  try {
    const json = new TextDecoder().decode(base64UrlDecode(token.slice(first + 1, second)));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function base64UrlDecode(text: string): Uint8Array {
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}
