import { ImdsResponseError } from './errors/imds-response-error.js';

/** An access token as the token endpoint issued it. */
export interface PodIdentityToken {
  /** The bearer token. Never log it. */
  token: string;
  /** When the token expires, in milliseconds since the epoch. */
  expiresOnTimestamp: number;
  /** The resource (audience) the token is for, as the endpoint echoed it (or as requested). */
  resource: string;
  /** The token type, normally `Bearer`. */
  tokenType: string;
  /** The client ID of the identity, when the endpoint says (real IMDS does, NMI does not). */
  clientId?: string;
}

/**
 * Parses the body of a 200 answer from an IMDS-shaped token endpoint. Accepts what IMDS, NMI and
 * the other Azure managed-identity sources send: numeric fields as strings or numbers, `expires_on`
 * as epoch seconds or as a date string, and a JSON array (a multi-tenant service principal; the
 * first token is the primary tenant's).
 *
 * @param body - the response body text
 * @param nowMs - the current time, used when only `expires_in` is given
 * @param requestedResource - used when the body does not echo `resource`
 * @throws {@link ImdsResponseError} when the body is not a usable token
 */
export function parseTokenResponse(
  body: string,
  nowMs: number,
  requestedResource: string,
): PodIdentityToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new ImdsResponseError('token response is not JSON', { cause: error });
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) throw new ImdsResponseError('token response is an empty array');
    parsed = parsed[0];
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ImdsResponseError('token response is not a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  const token = record.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new ImdsResponseError('token response has no access_token');
  }
  const expiresOnTimestamp = parseExpiry(record, nowMs);
  const resource =
    typeof record.resource === 'string' && record.resource !== ''
      ? record.resource
      : requestedResource;
  const tokenType =
    typeof record.token_type === 'string' && record.token_type !== ''
      ? record.token_type
      : 'Bearer';
  const result: PodIdentityToken = { token, expiresOnTimestamp, resource, tokenType };
  if (typeof record.client_id === 'string' && record.client_id !== '')
    result.clientId = record.client_id;
  return result;
}

/** Epoch seconds as a number or a string of digits (IMDS, NMI) or a date string (App Service, Arc). */
function parseExpiry(record: Record<string, unknown>, nowMs: number): number {
  const expiresOn = record.expires_on;
  if (typeof expiresOn === 'number' && Number.isFinite(expiresOn) && expiresOn > 0) {
    return expiresOn * 1000;
  }
  if (typeof expiresOn === 'string' && expiresOn.trim() !== '') {
    const text = expiresOn.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
    const dateMs = Date.parse(text);
    if (!Number.isNaN(dateMs)) return dateMs;
    throw new ImdsResponseError('token response has an unreadable expires_on');
  }
  const expiresIn = record.expires_in;
  const seconds =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\d+$/.test(expiresIn.trim())
        ? Number(expiresIn.trim())
        : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return nowMs + seconds * 1000;
  throw new ImdsResponseError('token response has neither expires_on nor expires_in');
}
