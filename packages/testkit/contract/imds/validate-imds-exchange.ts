import type { RecordedExchange } from '../../src/contract/record-traffic.js';
import { parseBody } from '../recorded-traffic.js';
import { closedObject, str, validate } from '../schema.js';
import type { ObjectSchema, Schema, Violation } from '../schema.js';

/**
 * The IMDS contract, from Microsoft's "How to use managed identities for Azure resources on an Azure
 * VM to acquire an access token" (token request, response and error table) and "Azure Instance
 * Metadata Service" (instance endpoint, `Metadata: true`, api-version): written here by hand.
 */
const digits: Schema = { type: 'string', pattern: /^\d+$/ };

/** The token answer: every field a string; epoch seconds for the times. */
export const imdsTokenResponse: ObjectSchema = closedObject(
  {
    access_token: { type: 'string', format: 'jwt' },
    refresh_token: str,
    client_id: { type: 'string', format: 'uuid' },
    expires_in: digits,
    expires_on: digits,
    ext_expires_in: digits,
    not_before: digits,
    resource: str,
    token_type: { type: 'string', enum: ['Bearer'] },
  },
  ['access_token', 'expires_in', 'expires_on', 'not_before', 'resource', 'token_type'],
);

/** The token endpoint's errors: OAuth-style `error` and `error_description`. */
export const imdsTokenError: ObjectSchema = closedObject({ error: str, error_description: str }, [
  'error',
]);

/** The statuses the error table documents (and retries 404, 410, 429, 5xx). */
const TOKEN_ERROR_STATUSES = new Set([400, 401, 403, 404, 405, 410, 429, 500, 502, 503, 504]);

/** `/metadata/instance` answers: the fields pod-identity reads, typed as documented. */
const instanceCompute: ObjectSchema = {
  type: 'object',
  properties: {
    location: str,
    name: str,
    resourceGroupName: str,
    resourceId: str,
    subscriptionId: str,
    vmId: { type: 'string', format: 'uuid' },
    vmScaleSetName: str,
    osProfile: { type: 'object', properties: { computerName: str } },
  },
};
const instanceNetwork: ObjectSchema = {
  type: 'object',
  properties: { interface: { type: 'array', items: { type: 'object' } } },
};
const instanceResponse: ObjectSchema = {
  type: 'object',
  properties: { compute: instanceCompute, network: instanceNetwork },
};

const instanceError: ObjectSchema = {
  type: 'object',
  properties: { error: str },
  required: ['error'],
};

/** Checks one recorded IMDS exchange against the documented contract. */
export function validateImdsExchange(exchange: RecordedExchange): Violation[] {
  const url = new URL(exchange.url, 'http://imds.invalid');
  const path = url.pathname.replace(/\/$/, '');
  const body = parseBody(exchange.responseBody);
  const violations: Violation[] = [];
  if (exchange.status === 200 && exchange.requestHeaders.metadata !== 'true')
    violations.push({
      path: '$request.headers.metadata',
      message: 'answered 200 without Metadata: true',
    });
  if (exchange.status === 200 && !url.searchParams.get('api-version'))
    violations.push({ path: '$request.query', message: 'answered 200 without api-version' });
  if (!(exchange.responseHeaders['content-type'] ?? '').startsWith('application/json'))
    violations.push({ path: '$headers.content-type', message: 'not application/json' });
  if (path === '/metadata/identity/oauth2/token') {
    violations.push(...checkToken(exchange, url, body));
  } else if (path.startsWith('/metadata/instance')) {
    const schema: Schema =
      exchange.status !== 200
        ? instanceError
        : path === '/metadata/instance/compute'
          ? instanceCompute
          : path === '/metadata/instance/network'
            ? instanceNetwork
            : instanceResponse;
    violations.push(...validate(body, schema, 'response', '$response'));
  } else if (exchange.status < 400) {
    violations.push({
      path: '$request',
      message: `${path} answered ${exchange.status} but is no documented endpoint`,
    });
  }
  return violations;
}

function checkToken(exchange: RecordedExchange, url: URL, body: unknown): Violation[] {
  if (exchange.status === 200) {
    const violations = validate(body, imdsTokenResponse, 'response', '$response');
    if (!url.searchParams.get('resource'))
      violations.push({ path: '$request.query', message: 'answered 200 without resource' });
    return violations;
  }
  const violations = validate(body, imdsTokenError, 'response', '$response');
  if (!TOKEN_ERROR_STATUSES.has(exchange.status))
    violations.push({ path: '$status', message: `${exchange.status} is not a documented status` });
  return violations;
}
