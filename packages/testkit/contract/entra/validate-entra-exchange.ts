import type { RecordedExchange } from '../../src/contract/record-traffic.js';
import { parseBody } from '../recorded-traffic.js';
import { closedObject, int, str, validate } from '../schema.js';
import type { ObjectSchema, Schema, Violation } from '../schema.js';
import { ENTRA_ERROR_CODES } from './entra-error-codes.js';

/**
 * The Microsoft identity platform's token endpoint contract, written by hand from Microsoft's "OAuth
 * 2.0 client credentials flow" (requests with a shared secret or a certificate assertion, the
 * successful response, the error response and its fields), "Microsoft identity platform application
 * authentication certificate credentials" (the assertion's header and claims), RFC 6749 §5.2 (error
 * codes) and OpenID Connect Discovery 1.0 §3 (the metadata document's required fields).
 */

const digits: Schema = { type: 'string', pattern: /^\d+$/ };
const uuid: Schema = { type: 'string', format: 'uuid' };

/** v2.0 token response: numbers for the lifetimes. */
export const v2TokenResponse: ObjectSchema = closedObject(
  {
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: int,
    ext_expires_in: int,
    access_token: { type: 'string', format: 'jwt' },
  },
  ['token_type', 'expires_in', 'access_token'],
);

/** v1 token response: strings, plus expires_on, not_before and resource. */
export const v1TokenResponse: ObjectSchema = closedObject(
  {
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: digits,
    ext_expires_in: digits,
    expires_on: digits,
    not_before: digits,
    resource: str,
    access_token: { type: 'string', format: 'jwt' },
  },
  ['token_type', 'expires_in', 'access_token'],
);

/**
 * RFC 6749 §5.2 error codes, Entra's `invalid_resource`, `interaction_required` and `invalid_tenant`,
 * and the two RFC 6749 §4.1.2.1 codes for a server that cannot answer (`server_error`,
 * `temporarily_unavailable`), which the emulator uses for injected 5xx and 429 answers.
 */
const OAUTH_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_resource',
  'interaction_required',
  'invalid_tenant',
  'server_error',
  'temporarily_unavailable',
];

/** The token endpoint's error response, with the AADSTS code in `error_codes` and the description. */
export const tokenError: ObjectSchema = closedObject(
  {
    error: { type: 'string', enum: OAUTH_ERRORS },
    error_description: { type: 'string', pattern: /^AADSTS\d+: / },
    error_codes: { type: 'array', items: int, minItems: 1 },
    timestamp: str,
    trace_id: uuid,
    correlation_id: uuid,
    error_uri: { type: 'string', format: 'uri' },
  },
  ['error', 'error_description', 'error_codes', 'timestamp', 'trace_id', 'correlation_id'],
);

/** Other endpoints' errors: at least `error` and an AADSTS description. */
const otherError: ObjectSchema = {
  type: 'object',
  properties: {
    error: { type: 'string', enum: [...OAUTH_ERRORS, 'not_found'] },
    error_description: str,
    error_codes: { type: 'array', items: int },
  },
  required: ['error', 'error_description'],
};

/** OpenID Connect Discovery §3 required metadata. */
const openIdConfiguration: ObjectSchema = {
  type: 'object',
  required: [
    'issuer',
    'authorization_endpoint',
    'token_endpoint',
    'jwks_uri',
    'response_types_supported',
    'subject_types_supported',
    'id_token_signing_alg_values_supported',
  ],
  properties: {
    issuer: { type: 'string', format: 'uri' },
    authorization_endpoint: { type: 'string', format: 'uri' },
    token_endpoint: { type: 'string', format: 'uri' },
    jwks_uri: { type: 'string', format: 'uri' },
    response_types_supported: { type: 'array', items: str },
    subject_types_supported: { type: 'array', items: str },
    id_token_signing_alg_values_supported: { type: 'array', items: str },
  },
};

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Checks one recorded Entra exchange against the protocol. */
export function validateEntraExchange(exchange: RecordedExchange): Violation[] {
  const url = new URL(exchange.url, 'https://entra.invalid');
  const body = parseBody(exchange.responseBody);
  const violations: Violation[] = [];
  if (!(exchange.responseHeaders['content-type'] ?? '').startsWith('application/json'))
    violations.push({ path: '$headers.content-type', message: 'not application/json' });
  const token = /^\/[^/]+\/oauth2\/(v2\.0\/)?token$/.exec(url.pathname);
  if (token && exchange.method === 'POST') {
    const version = token[1] ? 'v2.0' : 'v1';
    violations.push(...checkTokenRequest(exchange, version));
    if (exchange.status === 200)
      violations.push(
        ...validate(
          body,
          version === 'v2.0' ? v2TokenResponse : v1TokenResponse,
          'response',
          '$response',
        ),
      );
    else violations.push(...checkTokenError(exchange, body));
    return violations;
  }
  if (url.pathname.endsWith('/.well-known/openid-configuration') && exchange.status === 200) {
    violations.push(...validate(body, openIdConfiguration, 'response', '$response'));
    return violations;
  }
  if (exchange.status >= 400)
    violations.push(...validate(body, otherError, 'response', '$response'));
  return violations;
}

function checkTokenError(exchange: RecordedExchange, body: unknown): Violation[] {
  const violations = validate(body, tokenError, 'response', '$response');
  const record = body as {
    error?: unknown;
    error_description?: unknown;
    error_codes?: unknown;
  } | null;
  const code = /^AADSTS(\d+):/.exec(
    typeof record?.error_description === 'string' ? record.error_description : '',
  );
  const codes = Array.isArray(record?.error_codes) ? (record.error_codes as unknown[]) : [];
  if (code && codes[0] !== Number(code[1]))
    violations.push({
      path: '$response.error_codes',
      message: `does not start with the description's AADSTS${code[1]}`,
    });
  // RFC 6749 §5.2: invalid_client may be 401, other client errors are 400; a server that cannot
  // answer says so with a 5xx (or 429 when throttling).
  const error = typeof record?.error === 'string' ? record.error : '';
  const allowed =
    error === 'invalid_client'
      ? (status: number) => status === 400 || status === 401
      : error === 'server_error' || error === 'temporarily_unavailable'
        ? (status: number) => status === 429 || status >= 500
        : (status: number) => status === 400;
  if (!allowed(exchange.status))
    violations.push({ path: '$status', message: `${String(exchange.status)} for ${error}` });
  if (code) violations.push(...checkDocumentedCode(Number(code[1]), error));
  return violations;
}

/** The AADSTS code is one Entra documents, answered with the OAuth error that code goes with. */
function checkDocumentedCode(code: number, error: string): Violation[] {
  const documented = ENTRA_ERROR_CODES[code];
  if (documented === undefined)
    return [
      { path: '$response.error_codes', message: `AADSTS${String(code)} is not a known code` },
    ];
  if (!documented.errors.includes(error))
    return [
      {
        path: '$response.error',
        message: `${error} for AADSTS${String(code)} (${documented.meaning}), which goes with ${documented.errors.join(' or ')}`,
      },
    ];
  return [];
}

/**
 * The client credentials request: grant type, client id, scope (v2.0) or resource (v1), and exactly
 * one credential: a secret, or an assertion of type jwt-bearer, either a certificate assertion
 * (header `x5t` or `x5t#S256`, RS256/PS256; claims aud, iss = sub = client id, jti, exp) or a
 * federated one (an https issuer, a subject, an audience, exp). A request that breaks this must not
 * get a token.
 */
function checkTokenRequest(exchange: RecordedExchange, version: 'v1' | 'v2.0'): Violation[] {
  if (exchange.status !== 200) return [];
  const form = new URLSearchParams(exchange.requestBody);
  const violations: Violation[] = [];
  const problem = (message: string): void => {
    violations.push({ path: '$request.body', message: `a token for a request ${message}` });
  };
  if (form.get('grant_type') !== 'client_credentials')
    problem(`with grant_type ${String(form.get('grant_type'))}`);
  const clientId = form.get('client_id');
  if (!clientId) problem('without client_id');
  if (version === 'v2.0' && !form.get('scope')?.endsWith('/.default'))
    problem('whose scope is not <resource>/.default');
  if (version === 'v1' && !form.get('resource')) problem('without resource');
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if ((secret === null) === (assertion === null))
    problem('without exactly one of client_secret and client_assertion');
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== ASSERTION_TYPE)
      problem('whose client_assertion_type is not jwt-bearer');
    const [header, claims] = assertion.split('.').slice(0, 2).map(decodeSegment);
    const certificate = header?.x5t !== undefined || header?.['x5t#S256'] !== undefined;
    // A certificate credential: signed by the app itself, so iss = sub = client id and a jti.
    // A federated credential (workload identity): an external issuer's token, matched by Entra
    // against the identity's federated credential (issuer, subject, audience), so iss is that
    // issuer's URL and sub the external identity.
    if (certificate) {
      if (typeof header.alg !== 'string' || !/^(RS|PS)256$/.test(header.alg))
        problem(`whose certificate assertion alg is ${String(header.alg)}`);
      if (claims === undefined) problem('whose certificate assertion has no readable claims');
      else if (claims.iss !== clientId || claims.sub !== clientId)
        problem('whose certificate assertion iss/sub are not the client id');
      if (
        typeof claims?.aud !== 'string' ||
        typeof claims.exp !== 'number' ||
        typeof claims.jti !== 'string'
      )
        problem('whose certificate assertion lacks aud, exp or jti');
    } else {
      const audiences: unknown = claims?.aud;
      // The issuer must be the URL a federated credential names (ARM takes https ones; tests of
      // the Entra emulator alone may use a loopback http issuer).
      if (typeof claims?.iss !== 'string' || !URL.canParse(claims.iss))
        problem('whose federated assertion has no issuer URL');
      if (typeof claims?.sub !== 'string' || claims.sub === '')
        problem('whose federated assertion has no subject');
      if (typeof claims?.exp !== 'number') problem('whose federated assertion has no exp');
      if (typeof audiences !== 'string' && !Array.isArray(audiences))
        problem('whose federated assertion has no audience');
    }
  }
  return violations;
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
}
