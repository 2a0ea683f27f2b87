import type { ImdsProtocolError } from './imds-protocol-error.js';

/** A response ready to write: status, headers and body. */
export interface ImdsResponse {
  /** HTTP status code. */
  status: number;
  /** Response headers (lower-case names). `content-length` is left to the writer. */
  headers: Record<string, string>;
  /** The body. */
  body: string;
}

/** `Content-Type` of token responses, as the original NMI and IMDS send it. */
export const IMDS_JSON_CONTENT_TYPE = 'application/json';

/**
 * The response for a protocol error, byte for byte what the original NMI answered: a JSON error object
 * followed by a newline (`application/json; charset=utf-8`) for the metadata-header check, and Go's
 * `http.Error` shape (`text/plain; charset=utf-8`, `X-Content-Type-Options: nosniff`, body plus a
 * newline) for everything else.
 *
 * @param error - the protocol error
 * @returns the response to write
 */
export function formatImdsError(error: ImdsProtocolError): ImdsResponse {
  if (error.format === 'json') {
    return {
      status: error.status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...error.headers },
      body: `${JSON.stringify({ error: error.error, error_description: error.description })}\n`,
    };
  }
  return formatTextError(error.status, error.description, error.headers);
}

/**
 * A plain-text error in the shape of Go's `http.Error`, which every non-JSON error of the original NMI
 * used (clients that match on bodies see the same text).
 *
 * @param status - HTTP status
 * @param message - the message; a newline is appended
 * @param headers - extra headers (e.g. `retry-after`)
 * @returns the response to write
 */
export function formatTextError(
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): ImdsResponse {
  return {
    status,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    body: `${message}\n`,
  };
}
