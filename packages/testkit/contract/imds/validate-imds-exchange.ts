import type { RecordedExchange } from '../../src/contract/record-traffic.js';
import { parseBody } from '../recorded-traffic.js';
import { closedObject, str, validate } from '../schema.js';
import type { ObjectSchema, Schema, Violation } from '../schema.js';
import {
  COMPUTE_FIELD_SINCE,
  DOCUMENTED_IMDS_API_VERSIONS,
  IDENTITY_CATEGORY_SINCE,
  IDENTITY_ERRORS,
  OS_PROFILE_FIELD_SINCE,
} from './imds-api-versions.js';

/**
 * The IMDS contract, from Microsoft's "How to use managed identities for Azure resources on an Azure
 * VM to acquire an access token" (token request, response and error table), "Azure Instance
 * Metadata Service" (instance endpoint, `Metadata: true`, api-versions and the version that
 * introduced each compute field) and the IMDS definitions in azure-rest-api-specs (the token
 * endpoint's error codes): written here by hand.
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

/** The token endpoint's errors: one of the defined `error` codes and an `error_description`. */
export const imdsTokenError: ObjectSchema = closedObject(
  { error: { type: 'string', enum: IDENTITY_ERRORS }, error_description: str },
  ['error'],
);

/** The statuses the error table documents (and retries 404, 410, 429, 5xx). */
const TOKEN_ERROR_STATUSES = new Set([400, 401, 403, 404, 405, 410, 429, 500, 502, 503, 504]);

/** Types of the compute fields pod-identity reads; other documented fields are checked for presence by version only. */
const COMPUTE_FIELD_TYPES: Readonly<Record<string, Schema>> = {
  location: str,
  name: str,
  resourceGroupName: str,
  resourceId: str,
  subscriptionId: str,
  vmId: { type: 'string', format: 'uuid' },
  vmScaleSetName: str,
};

const since = (table: Readonly<Record<string, string>>, apiVersion: string): string[] =>
  Object.keys(table).filter((field) => (table[field] ?? '9999') <= apiVersion);

/**
 * The compute answer of `apiVersion`: closed over the fields documented at that version, so a
 * field introduced later is a violation; JSON primitives are strings throughout.
 */
function computeSchema(apiVersion: string): ObjectSchema {
  const properties: Record<string, Schema> = {};
  for (const field of since(COMPUTE_FIELD_SINCE, apiVersion))
    properties[field] = COMPUTE_FIELD_TYPES[field] ?? { type: 'any' };
  if ('osProfile' in properties)
    properties.osProfile = closedObject(
      Object.fromEntries(since(OS_PROFILE_FIELD_SINCE, apiVersion).map((field) => [field, str])),
    );
  return closedObject(properties);
}

const networkSchema: ObjectSchema = {
  type: 'object',
  properties: { interface: { type: 'array', items: { type: 'object' } } },
};

const instanceError: ObjectSchema = {
  type: 'object',
  properties: { error: str },
  required: ['error'],
};

/** An unknown or missing api-version: the error and the newest documented versions. */
const versionError: ObjectSchema = closedObject(
  {
    error: str,
    'newest-versions': {
      type: 'array',
      items: { type: 'string', enum: DOCUMENTED_IMDS_API_VERSIONS },
      minItems: 1,
    },
  },
  ['error', 'newest-versions'],
);

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
  const apiVersion = url.searchParams.get('api-version') ?? '';
  if (exchange.status === 200 && !DOCUMENTED_IMDS_API_VERSIONS.includes(apiVersion))
    violations.push({
      path: '$request.query',
      message: `answered 200 to api-version '${apiVersion}', not a documented version`,
    });
  if (!(exchange.responseHeaders['content-type'] ?? '').startsWith('application/json'))
    violations.push({ path: '$headers.content-type', message: 'not application/json' });
  if (path === '/metadata/identity/oauth2/token') {
    violations.push(...checkToken(exchange, url, body));
  } else if (path.startsWith('/metadata/instance')) {
    violations.push(...checkInstance(exchange, path, apiVersion, body));
  } else if (exchange.status < 400) {
    violations.push({
      path: '$request',
      message: `${path} answered ${exchange.status} but is no documented endpoint`,
    });
  }
  return violations;
}

function checkInstance(
  exchange: RecordedExchange,
  path: string,
  apiVersion: string,
  body: unknown,
): Violation[] {
  if (exchange.status !== 200) {
    const versionRefused =
      exchange.status === 400 && !DOCUMENTED_IMDS_API_VERSIONS.includes(apiVersion);
    return validate(body, versionRefused ? versionError : instanceError, 'response', '$response');
  }
  const compute = computeSchema(apiVersion);
  const schema: Schema =
    path === '/metadata/instance/compute'
      ? compute
      : path === '/metadata/instance/network'
        ? networkSchema
        : { type: 'object', properties: { compute, network: networkSchema } };
  return validate(body, schema, 'response', '$response');
}

function checkToken(exchange: RecordedExchange, url: URL, body: unknown): Violation[] {
  if (exchange.status === 200) {
    const violations = validate(body, imdsTokenResponse, 'response', '$response');
    if (!url.searchParams.get('resource'))
      violations.push({ path: '$request.query', message: 'answered 200 without resource' });
    if ((url.searchParams.get('api-version') ?? '') < IDENTITY_CATEGORY_SINCE)
      violations.push({
        path: '$request.query',
        message: `a token for an api-version before ${IDENTITY_CATEGORY_SINCE}, the identity category's first`,
      });
    return violations;
  }
  const violations = validate(body, imdsTokenError, 'response', '$response');
  if (!TOKEN_ERROR_STATUSES.has(exchange.status))
    violations.push({ path: '$status', message: `${exchange.status} is not a documented status` });
  return violations;
}
