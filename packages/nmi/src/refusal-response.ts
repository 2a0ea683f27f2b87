import { formatTextError, type ImdsResponse } from '@pod-identity/core';
import type { BrokerOutcome, RefusalNature } from './token-broker.js';

/**
 * How NMI answers a refused token request:
 * - `imds` (default): as the Azure SDKs read IMDS. A refusal nothing in flight can change is IMDS's
 *   answer for a user-assigned identity not on the VM, `400` with
 *   `{"error":"invalid_request","error_description":"Identity not found: …"}` (NMI's reason after
 *   IMDS's words), which every SDK treats as final; a state that may still resolve (MIC has not
 *   assigned the identity yet, NMI's caches are filling, Azure unreachable) is `503` with
 *   `Retry-After`, which every SDK retries. Bodies are JSON.
 * - `original`: the original NMI's statuses and `text/plain` bodies (`404` for no identity, `403`
 *   when Azure refused, `503` when unavailable, `500` otherwise), for tooling that matches on them.
 */
export type RefusalStyle = 'imds' | 'original';

/** `Retry-After` while MIC may still create or assign the pod's record. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 5;
/** `Retry-After` while NMI's caches are filling or the caller's pod is not known yet. */
export const WARMING_RETRY_AFTER_SECONDS = 1;
/** `Retry-After` when Azure was unreachable or failed. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** The longest NMI holds a request whose identity is in flight, in the `imds` style. */
export const IMDS_STYLE_MAX_HOLD_MS = 15_000;

// IMDS's own description of a user-assigned identity that is not on the VM; .NET's Azure.Identity
// matches on these words to tell a final refusal from its probe's answer.
const IDENTITY_NOT_FOUND = 'Identity not found';

const STATUS_OF: Readonly<Record<RefusalNature, number>> = {
  permanent: 400,
  'in-flight': 503,
  'azure-refused': 403,
  'azure-unavailable': 503,
  internal: 500,
};

// OAuth 2.0 error codes (RFC 6749 §5.2, §4.1.2.1), as IMDS uses `invalid_request`.
const ERROR_OF: Readonly<Record<RefusalNature, string>> = {
  permanent: 'invalid_request',
  'in-flight': 'temporarily_unavailable',
  'azure-refused': 'access_denied',
  'azure-unavailable': 'temporarily_unavailable',
  internal: 'server_error',
};

const RETRY_AFTER_OF: Readonly<Partial<Record<RefusalNature, number>>> = {
  'in-flight': IN_FLIGHT_RETRY_AFTER_SECONDS,
  'azure-unavailable': UNAVAILABLE_RETRY_AFTER_SECONDS,
};

/**
 * The response for a refused token request in the given style.
 * @param outcome - the broker's refusal
 * @param style - `imds` or `original`
 * @returns the response to write
 */
export function refusalResponse(
  outcome: Extract<BrokerOutcome, { kind: 'refused' }>,
  style: RefusalStyle,
): ImdsResponse {
  if (style === 'original') {
    return formatTextError(
      outcome.status,
      outcome.message,
      outcome.retryAfterSeconds === undefined
        ? {}
        : { 'retry-after': String(outcome.retryAfterSeconds) },
    );
  }
  const description =
    outcome.nature === 'permanent' ? `${IDENTITY_NOT_FOUND}: ${outcome.message}` : outcome.message;
  const retryAfter = RETRY_AFTER_OF[outcome.nature];
  return imdsStyleError(
    STATUS_OF[outcome.nature],
    ERROR_OF[outcome.nature],
    description,
    // --set-retry-after-header's 20 s, when the broker set it.
    retryAfter === undefined ? undefined : (outcome.retryAfterSeconds ?? retryAfter),
  );
}

/**
 * An error in IMDS's JSON shape: `{"error":…,"error_description":…}` and a newline,
 * `application/json; charset=utf-8`, with `Retry-After` when given. A permanent refusal never
 * carries `Retry-After`: Python's azure-core retries any status that has one.
 * @param status - HTTP status
 * @param error - the OAuth error code
 * @param description - the explanation
 * @param retryAfterSeconds - `Retry-After`, for answers a client should retry
 * @returns the response to write
 */
export function imdsStyleError(
  status: number,
  error: string,
  description: string,
  retryAfterSeconds?: number,
): ImdsResponse {
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }),
    },
    body: `${JSON.stringify({ error, error_description: description })}\n`,
  };
}
