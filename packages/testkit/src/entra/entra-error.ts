import { randomUUID } from 'node:crypto';

/** A refusal of the Entra emulator: the HTTP status, OAuth error and AADSTS code Entra answers with. */
export class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`AADSTS${code}: ${description}`);
  }
}

/** The error body Entra sends, as MSAL parses it (codes, trace and correlation ids, timestamp). */
export function entraErrorBody(error: EntraError): Record<string, unknown> {
  return {
    error: error.error,
    error_description: `${error.message}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
    error_codes: [error.code],
    timestamp: new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  };
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A token request authenticating with a client assertion must say it is a JWT bearer assertion. */
export function requireJwtBearerAssertion(form: URLSearchParams): void {
  if (form.get('client_assertion_type') !== JWT_BEARER) {
    throw new EntraError(
      400,
      'invalid_request',
      50027,
      `The 'client_assertion_type' must be '${JWT_BEARER}'.`,
    );
  }
}

/** The refusal of a token request that carries neither a client assertion nor a client secret. */
export function missingClientCredential(): EntraError {
  return new EntraError(
    401,
    'invalid_client',
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

/** The refusal of a token request without a parameter it needs. */
export function missingParameter(name: string): EntraError {
  return new EntraError(
    400,
    'invalid_request',
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}
