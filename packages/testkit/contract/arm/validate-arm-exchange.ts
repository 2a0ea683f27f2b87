import type { RecordedExchange } from '../../src/contract/record-traffic.js';
import { validate } from '../schema.js';
import type { Violation } from '../schema.js';
import { managedIdentityCloudError } from './arm-schemas.js';
import { findArmOperation } from './arm-operations.js';

/** The provisioning states the resource-provider contract calls terminal. */
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/**
 * Checks one recorded ARM exchange against the contract: the request (api-version, bearer token,
 * body schema with no read-only properties), the status among the operation's declared ones or an
 * error in the definition's error shape, the body schema, and the headers the resource-provider
 * contract requires (request ids, `x-ms-ratelimit-remaining-subscription-*`, `Retry-After` on 429,
 * an absolute `Azure-AsyncOperation`/`Location` on a long-running answer that is not terminal).
 */
export function validateArmExchange(exchange: RecordedExchange): Violation[] {
  const url = new URL(exchange.url, 'https://arm.invalid');
  const operation = findArmOperation(exchange.method, url.pathname);
  const violations: Violation[] = [];
  const body = parseJson(exchange.responseBody, 'response', violations);
  if (exchange.status >= 400) {
    violations.push(
      ...validate(body, operation?.error ?? managedIdentityCloudError, 'response', '$response'),
    );
    violations.push(...checkErrorHeaders(exchange));
    return violations;
  }
  if (!operation)
    return [
      {
        path: '$request',
        message: `${exchange.method} ${url.pathname} succeeded but is no operation of the contract`,
      },
    ];
  if (!url.searchParams.get('api-version'))
    violations.push({ path: '$request.query', message: 'answered without an api-version' });
  if (!/^Bearer /i.test(exchange.requestHeaders.authorization ?? ''))
    violations.push({ path: '$request.headers', message: 'answered without a bearer token' });
  if (operation.request) {
    const requestBody = parseJson(exchange.requestBody, 'request', violations);
    violations.push(...validate(requestBody, operation.request, 'request', '$request'));
  }
  if (!(exchange.status in operation.responses)) {
    violations.push({
      path: '$status',
      message: `${exchange.status} is not a status ${operation.operationId} declares`,
    });
    return violations;
  }
  const schema = operation.responses[exchange.status];
  if (schema === null) {
    if (exchange.responseBody !== '')
      violations.push({ path: '$response', message: 'a body where the definition has none' });
  } else if (schema !== undefined) {
    violations.push(...validate(body, schema, 'response', '$response'));
  }
  violations.push(...checkSuccessHeaders(exchange, operation.longRunning === true, body));
  return violations;
}

function checkSuccessHeaders(
  exchange: RecordedExchange,
  longRunning: boolean,
  body: unknown,
): Violation[] {
  const headers = exchange.responseHeaders;
  const violations = checkCommonHeaders(exchange);
  const state = (body as { properties?: { provisioningState?: unknown } } | undefined)?.properties
    ?.provisioningState;
  const inProgress = typeof state === 'string' && !TERMINAL.has(state.toLowerCase());
  if (longRunning && (exchange.status === 202 || inProgress)) {
    const poll = headers['azure-asyncoperation'] ?? headers.location;
    if (poll === undefined)
      violations.push({
        path: '$headers',
        message: 'a long-running answer without Azure-AsyncOperation or Location',
      });
    else if (!/^https?:\/\//.test(poll))
      violations.push({ path: '$headers', message: `polling URL is not absolute: ${poll}` });
  }
  if (exchange.status === 202 && headers.location === undefined)
    violations.push({ path: '$headers.location', message: '202 Accepted without Location' });
  return violations;
}

function checkErrorHeaders(exchange: RecordedExchange): Violation[] {
  const violations = exchange.status === 401 ? [] : checkCommonHeaders(exchange);
  if (exchange.status === 429) {
    const retryAfter = exchange.responseHeaders['retry-after'];
    if (retryAfter === undefined || !/^\d+$/.test(retryAfter))
      violations.push({
        path: '$headers.retry-after',
        message: `429 needs Retry-After in whole seconds, got ${String(retryAfter)}`,
      });
  }
  if (exchange.status === 401 && exchange.responseHeaders['www-authenticate'] === undefined)
    violations.push({ path: '$headers.www-authenticate', message: '401 without WWW-Authenticate' });
  return violations;
}

/** Headers every answer that passed authentication carries. */
function checkCommonHeaders(exchange: RecordedExchange): Violation[] {
  const headers = exchange.responseHeaders;
  const violations: Violation[] = [];
  for (const name of ['x-ms-request-id', 'x-ms-correlation-request-id'])
    if (headers[name] === undefined)
      violations.push({ path: `$headers.${name}`, message: 'missing' });
  const budget =
    exchange.method === 'GET'
      ? 'x-ms-ratelimit-remaining-subscription-reads'
      : 'x-ms-ratelimit-remaining-subscription-writes';
  if (!/^\d+$/.test(headers[budget] ?? ''))
    violations.push({
      path: `$headers.${budget}`,
      message: `missing or not a count: ${String(headers[budget])}`,
    });
  if (
    exchange.responseBody !== '' &&
    !(headers['content-type'] ?? '').startsWith('application/json')
  )
    violations.push({
      path: '$headers.content-type',
      message: 'a body that is not application/json',
    });
  return violations;
}

function parseJson(text: string, where: 'request' | 'response', violations: Violation[]): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    violations.push({ path: `$${where}`, message: 'body is not JSON' });
    return undefined;
  }
}
