import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../src/contract/record-traffic.js';
import { validateArmExchange } from './arm/validate-arm-exchange.js';
import { validateEntraExchange } from './entra/validate-entra-exchange.js';
import { validateImdsExchange } from './imds/validate-imds-exchange.js';

// The validators must catch what they are for: each case takes a conforming exchange, breaks one
// rule of the contract, and expects that rule's violation (and none for the conforming one).

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000001';
const IDENTITY = `${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/frontend`;
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln';

const armGet: RecordedExchange = {
  service: 'arm',
  method: 'GET',
  url: `${IDENTITY}?api-version=2024-11-30`,
  requestHeaders: { authorization: 'Bearer <redacted>' },
  requestBody: '',
  status: 200,
  responseHeaders: {
    'content-type': 'application/json; charset=utf-8',
    'x-ms-request-id': 'a',
    'x-ms-correlation-request-id': 'b',
    'x-ms-ratelimit-remaining-subscription-reads': '11999',
  },
  responseBody: JSON.stringify({
    id: IDENTITY,
    name: 'frontend',
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: 'westus2',
    tags: {},
    properties: {
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      principalId: '25cc773c-7f05-40fc-a104-32d2300754ad',
      clientId: '4024ab25-56a8-4370-aea6-6389221caf29',
      isolationScope: 'None',
    },
  }),
};

const messages = (violations: readonly { message: string }[]): string[] =>
  violations.map((violation) => violation.message);

describe('ARM exchange validator', () => {
  it('accepts a conforming answer', () => {
    expect(validateArmExchange(armGet)).toEqual([]);
  });

  it('flags a property the definition does not have, a wrong type, a missing budget header', () => {
    const body = JSON.parse(armGet.responseBody) as { properties: Record<string, unknown> };
    body.properties.extra = 1;
    body.properties.clientId = 'not-a-guid';
    const headers: Record<string, string> = { ...armGet.responseHeaders };
    delete headers['x-ms-ratelimit-remaining-subscription-reads'];
    expect(
      messages(
        validateArmExchange({
          ...armGet,
          responseBody: JSON.stringify(body),
          responseHeaders: headers,
        }),
      ),
    ).toEqual([
      'expected format uuid, got "not-a-guid"',
      'property not defined by the specification',
      'missing or not a count: undefined',
    ]);
  });

  it('flags a 429 without Retry-After and an error outside the CloudError shape', () => {
    const throttled = {
      ...armGet,
      status: 429,
      responseBody: JSON.stringify({ code: 'TooManyRequests' }),
    };
    expect(messages(validateArmExchange(throttled))).toEqual([
      "missing required property 'error'",
      'property not defined by the specification',
      '429 needs Retry-After in whole seconds, got undefined',
    ]);
  });

  it('flags a read-only property sent in a request body and an undeclared status', () => {
    const put: RecordedExchange = {
      ...armGet,
      method: 'PUT',
      requestBody: JSON.stringify({ location: 'westus2', id: IDENTITY }),
      status: 202,
      responseHeaders: {
        ...armGet.responseHeaders,
        'x-ms-ratelimit-remaining-subscription-writes': '1199',
      },
    };
    expect(messages(validateArmExchange(put))).toEqual([
      'read-only property sent in a request',
      '202 is not a status UserAssignedIdentities_CreateOrUpdate declares',
    ]);
  });
});

const imdsToken: RecordedExchange = {
  service: 'imds',
  method: 'GET',
  url: '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/',
  requestHeaders: { metadata: 'true' },
  requestBody: '',
  status: 200,
  responseHeaders: { 'content-type': 'application/json' },
  responseBody: JSON.stringify({
    access_token: TOKEN,
    refresh_token: '',
    expires_in: '86399',
    expires_on: '1700000000',
    not_before: '1699913600',
    resource: 'https://management.azure.com/',
    token_type: 'Bearer',
  }),
};

describe('IMDS exchange validator', () => {
  it('accepts the documented answer and flags numbers where IMDS answers strings', () => {
    expect(validateImdsExchange(imdsToken)).toEqual([]);
    const numeric = imdsToken.responseBody.replace('"86399"', '86399');
    expect(messages(validateImdsExchange({ ...imdsToken, responseBody: numeric }))).toEqual([
      'expected string, got number',
    ]);
  });

  it('flags a token answered without Metadata: true', () => {
    expect(messages(validateImdsExchange({ ...imdsToken, requestHeaders: {} }))).toEqual([
      'answered 200 without Metadata: true',
    ]);
  });

  it('holds instance metadata to its api-version: a field newer than the version is flagged', () => {
    const compute: RecordedExchange = {
      ...imdsToken,
      url: '/metadata/instance/compute?api-version=2017-08-01',
      responseBody: JSON.stringify({ name: 'vm', subscriptionId: 's', vmScaleSetName: 'pool' }),
    };
    // vmScaleSetName came with 2017-12-01.
    expect(messages(validateImdsExchange(compute))).toEqual([
      'property not defined by the specification',
    ]);
    const later = { ...compute, url: '/metadata/instance/compute?api-version=2017-12-01' };
    expect(validateImdsExchange(later)).toEqual([]);
    const undocumented = { ...compute, url: '/metadata/instance/compute?api-version=2022-01-01' };
    expect(messages(validateImdsExchange(undocumented))).toContain(
      "answered 200 to api-version '2022-01-01', not a documented version",
    );
  });

  it('flags a token error code the IMDS definition does not list', () => {
    const failed: RecordedExchange = {
      ...imdsToken,
      status: 500,
      responseBody: JSON.stringify({ error: 'unknown_error', error_description: 'failed' }),
    };
    expect(messages(validateImdsExchange(failed))).toEqual([
      expect.stringMatching(/got "unknown_error"$/) as string,
    ]);
  });
});

describe('Entra exchange validator', () => {
  const error: RecordedExchange = {
    service: 'entra',
    method: 'POST',
    url: '/tenant/oauth2/v2.0/token',
    requestHeaders: {},
    requestBody:
      'grant_type=client_credentials&client_id=c&client_secret=%3Credacted%3E&scope=x%2F.default',
    status: 401,
    responseHeaders: { 'content-type': 'application/json' },
    responseBody: JSON.stringify({
      error: 'invalid_client',
      error_description: 'AADSTS7000215: Invalid client secret provided.',
      error_codes: [7000215],
      timestamp: '2026-01-01 00:00:00Z',
      trace_id: '25cc773c-7f05-40fc-a104-32d2300754ad',
      correlation_id: '4024ab25-56a8-4370-aea6-6389221caf29',
    }),
  };

  it('accepts an AADSTS error and flags error_codes that disagree with the description', () => {
    expect(validateEntraExchange(error)).toEqual([]);
    const wrong = error.responseBody.replace('[7000215]', '[700016]');
    expect(messages(validateEntraExchange({ ...error, responseBody: wrong }))).toEqual([
      "does not start with the description's AADSTS7000215",
    ]);
  });

  it('flags an AADSTS code Entra does not document, and an error its code does not go with', () => {
    const unknown = error.responseBody.replaceAll('7000215', '7999999');
    expect(messages(validateEntraExchange({ ...error, responseBody: unknown }))).toEqual([
      'AADSTS7999999 is not a known code',
    ]);
    const mismatched = error.responseBody.replace('"invalid_client"', '"invalid_request"');
    expect(
      messages(validateEntraExchange({ ...error, status: 400, responseBody: mismatched })),
    ).toEqual([expect.stringMatching(/^invalid_request for AADSTS7000215 /) as string]);
  });

  it('flags a token issued to a request with both a secret and an assertion', () => {
    const both: RecordedExchange = {
      ...error,
      requestBody: `${error.requestBody}&client_assertion=${TOKEN}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer`,
      status: 200,
      responseBody: JSON.stringify({
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: TOKEN,
      }),
    };
    expect(messages(validateEntraExchange(both))).toContain(
      'a token for a request without exactly one of client_secret and client_assertion',
    );
  });
});
