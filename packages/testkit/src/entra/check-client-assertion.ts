import { constants, verify } from 'node:crypto';
import { EntraError } from './entra-error.js';
import type { StoredPrincipal } from './service-principal-directory.js';
import { decodeToken } from './token-issuer.js';

/** Entra tolerates five minutes of clock skew on client assertions. */
const SKEW_SECONDS = 300;

const invalid = (code: number, description: string): EntraError =>
  new EntraError(401, 'invalid_client', code, description);

function verifySignature(
  assertion: string,
  algorithm: unknown,
  certificate: NonNullable<StoredPrincipal['certificate']>,
): boolean {
  const [head, payload, signature] = assertion.split('.');
  const data = Buffer.from(`${head ?? ''}.${payload ?? ''}`);
  const signatureBytes = Buffer.from(signature ?? '', 'base64url');
  if (algorithm === 'RS256') return verify('sha256', data, certificate.publicKey, signatureBytes);
  if (algorithm === 'PS256')
    return verify(
      'sha256',
      data,
      {
        key: certificate.publicKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_AUTO,
      },
      signatureBytes,
    );
  throw invalid(
    700027,
    `Client assertion failed signature validation. [Reason - Unsupported algorithm ${String(algorithm)}.]`,
  );
}

/**
 * Checks a service principal's certificate client assertion as Entra does: the certificate named by
 * its `x5t` / `x5t#S256` thumbprint, the RS256/PS256 signature, `iss` and `sub` the client id, `aud`
 * one of the token endpoints, `exp` and `nbf` within the skew. Throws the {@link EntraError} Entra
 * would answer.
 */
export function checkClientAssertion(
  principal: StoredPrincipal,
  assertion: string,
  audiences: readonly string[],
): void {
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
  if (!verifySignature(assertion, header.alg, principal.certificate))
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
}
