import { ImdsProtocolError } from './imds-protocol-error.js';

/**
 * Why a request is malformed, before any route is looked at:
 * - `target`: the request target is no origin-form path a server would route (see `resolveImdsRoute`);
 * - `host`: no `Host` header (required by HTTP/1.1; required here of HTTP/1.0 and 0.9 too, so every
 *   version follows the same rules);
 * - `headers`: more header fields than any IMDS client sends (the server may have dropped some);
 * - `header-size`: the request line and headers exceed the server's limit;
 * - `syntax`: bytes that are not HTTP;
 * - `timeout`: the request did not arrive in time (answered 408).
 */
export type MalformedRequestReason =
  'target' | 'host' | 'headers' | 'header-size' | 'syntax' | 'timeout';

const DESCRIPTIONS: Readonly<Record<MalformedRequestReason, string>> = {
  target: 'Malformed request target',
  host: 'Required Host header not specified',
  headers: 'Too many request headers',
  'header-size': 'Request header section too large',
  syntax: 'Malformed HTTP request',
  timeout: 'Request not received in time',
};

/**
 * The refusal of a malformed request, in IMDS's JSON error shape (`{"error":"invalid_request",
 * "error_description":…}`, `application/json; charset=utf-8`), status 400 (408 for `timeout`): what
 * a client's IMDS error handling can read, whatever was wrong with the bytes it sent.
 *
 * @param reason - what is wrong
 * @returns the protocol error to answer with (`formatImdsError`)
 */
export function malformedRequestError(reason: MalformedRequestReason): ImdsProtocolError {
  return new ImdsProtocolError(reason === 'timeout' ? 408 : 400, DESCRIPTIONS[reason], {
    format: 'json',
  });
}
