import { ImdsProtocolError } from './imds-protocol-error.js';
import { MAX_IMDS_REQUEST_TARGET_LENGTH } from './resolve-imds-route.js';

import type { IdentitySelector } from './identity-selector.js';

/**
 * Which identity a token request names.
 * @deprecated The same type as {@link IdentitySelector}; use that name.
 */
export type RequestedIdentity = IdentitySelector;

/** A well-formed IMDS token request. */
export interface TokenRequest {
  /** The `resource` parameter: the token's audience, e.g. `https://management.azure.com/`. */
  readonly resource: string;
  /**
   * The identity selector, if any (`msi_res_id` and its older spelling `mi_res_id` both become
   * `resourceId`).
   */
  readonly identity: IdentitySelector;
  /** The `api-version` parameter as sent (IMDS wants `2018-02-01` or later; not validated, as in the original). */
  readonly apiVersion: string | undefined;
}

/** What {@link parseTokenRequest} reads from an HTTP request. */
export interface TokenHttpRequest {
  /** HTTP method. */
  readonly method: string;
  /** The raw request target, e.g. `/metadata/identity/oauth2/token?resource=…` (Node's `req.url`). */
  readonly url: string;
  /** The value(s) of the `Metadata` header; `undefined` when absent. */
  readonly metadata: string | readonly string[] | undefined;
}

/** The outcome of {@link parseTokenRequest}: the request, or the protocol error to answer with. */
export type TokenRequestParseResult =
  | { readonly ok: true; readonly request: TokenRequest }
  | { readonly ok: false; readonly error: ImdsProtocolError };

/**
 * The error IMDS and the original NMI answer when `Metadata: true` is missing (SSRF protection). This
 * is also what `@azure/identity`'s availability probe (no query, no header) receives, at once.
 */
export function metadataHeaderRequiredError(): ImdsProtocolError {
  return new ImdsProtocolError(400, 'Required metadata header not specified', { format: 'json' });
}

/**
 * Whether the `Metadata` header is exactly `true` (name case-insensitive, value case-sensitive, as
 * IMDS requires). A repeated header is refused: Node joins repeats, and IMDS wants one value.
 *
 * @param value - the header value(s) as Node parsed them
 * @returns whether the request carries the header IMDS requires
 */
export function hasMetadataHeader(value: string | readonly string[] | undefined): boolean {
  return value === 'true';
}

const SELECTOR_PARAMS = ['client_id', 'object_id', 'msi_res_id', 'mi_res_id'] as const;
type KnownParam = (typeof SELECTOR_PARAMS)[number] | 'resource' | 'api-version';
const KNOWN_PARAMS: ReadonlySet<string> = new Set<KnownParam>([
  ...SELECTOR_PARAMS,
  'resource',
  'api-version',
]);

/**
 * Parses an IMDS token request: checks, in the original NMI's order, the `Metadata` header, the
 * method, the query string, and `resource`, then reads the identity selector.
 *
 * Differences from the original, each closing a hole:
 * - `object_id` is a selector (the original ignored it and so chose an identity the caller did not ask for);
 * - only `GET` is accepted (405 otherwise), as IMDS does;
 * - a known parameter given twice is refused (400) instead of silently taking the first;
 * - two different selectors are refused (400) instead of matching either;
 * - a request target over {@link MAX_IMDS_REQUEST_TARGET_LENGTH} characters is refused (414);
 * - malformed percent-encoding is refused (400).
 *
 * @param input - method, raw URL and `Metadata` header
 * @param options - `metadataHeaderRequired` (default true, as since v1.8.4)
 * @returns the typed request or the protocol error to answer with
 */
export function parseTokenRequest(
  input: TokenHttpRequest,
  options: { readonly metadataHeaderRequired?: boolean } = {},
): TokenRequestParseResult {
  if ((options.metadataHeaderRequired ?? true) && !hasMetadataHeader(input.metadata)) {
    return { ok: false, error: metadataHeaderRequiredError() };
  }
  if (input.method !== 'GET') {
    return {
      ok: false,
      error: new ImdsProtocolError(405, 'method not allowed', { headers: { allow: 'GET' } }),
    };
  }
  if (input.url.length > MAX_IMDS_REQUEST_TARGET_LENGTH) {
    return { ok: false, error: new ImdsProtocolError(414, 'request URI too long') };
  }
  const q = input.url.indexOf('?');
  const params = parseKnownParams(q === -1 ? '' : input.url.slice(q + 1));
  if (params instanceof ImdsProtocolError) return { ok: false, error: params };

  const resource = params.get('resource') ?? '';
  if (resource === '') {
    return { ok: false, error: new ImdsProtocolError(400, 'parameter resource cannot be empty') };
  }
  const identity = readSelector(params);
  if (identity instanceof ImdsProtocolError) return { ok: false, error: identity };
  return { ok: true, request: { resource, identity, apiVersion: params.get('api-version') } };
}

/** Reads the known parameters of a query string; unknown ones are ignored, as IMDS does. */
function parseKnownParams(query: string): Map<string, string> | ImdsProtocolError {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const key = decodeComponent(rawKey);
    // Unknown (or undecodable) names are skipped, as Go's `URL.Query()` drops what it cannot parse.
    if (key === undefined || !KNOWN_PARAMS.has(key)) continue;
    const value = decodeComponent(rawValue);
    if (value === undefined) return new ImdsProtocolError(400, 'malformed query string');
    if (params.has(key)) {
      return new ImdsProtocolError(400, `parameter ${key} specified more than once`);
    }
    params.set(key, value);
  }
  return params;
}

/** `application/x-www-form-urlencoded` decoding as Go's `url.ParseQuery` does it (`+` is a space). */
function decodeComponent(raw: string): string | undefined {
  const plus = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return undefined;
  }
}

function readSelector(params: Map<string, string>): IdentitySelector | ImdsProtocolError {
  const clientId = params.get('client_id') ?? '';
  const objectId = params.get('object_id') ?? '';
  const msiResId = params.get('msi_res_id') ?? '';
  const miResId = params.get('mi_res_id') ?? '';
  if (msiResId !== '' && miResId !== '' && msiResId !== miResId) {
    return new ImdsProtocolError(400, 'parameters msi_res_id and mi_res_id disagree');
  }
  const resourceId = msiResId !== '' ? msiResId : miResId;
  const given = (clientId !== '' ? 1 : 0) + (objectId !== '' ? 1 : 0) + (resourceId !== '' ? 1 : 0);
  if (given > 1) {
    return new ImdsProtocolError(
      400,
      'only one of client_id, object_id and msi_res_id may be specified',
    );
  }
  if (clientId !== '') return { kind: 'clientId', clientId };
  if (objectId !== '') return { kind: 'objectId', objectId };
  if (resourceId !== '') return { kind: 'resourceId', resourceId };
  return NO_IDENTITY;
}

const NO_IDENTITY: IdentitySelector = Object.freeze({ kind: 'none' });
