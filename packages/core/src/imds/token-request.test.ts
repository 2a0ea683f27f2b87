import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImdsProtocolError } from './imds-protocol-error.js';
import { formatImdsError } from './imds-response.js';
import { parseTokenRequest, type TokenHttpRequest } from './token-request.js';

const path = '/metadata/identity/oauth2/token';
const get = (query: string, metadata: TokenHttpRequest['metadata'] = 'true'): TokenHttpRequest => ({
  method: 'GET',
  url: `${path}?${query}`,
  metadata,
});

function errorOf(input: TokenHttpRequest): ImdsProtocolError {
  const result = parseTokenRequest(input);
  if (result.ok) throw new Error('expected a protocol error');
  return result.error;
}

describe('parseTokenRequest', () => {
  it('reads resource, api-version and no selector, as @azure/identity sends them', () => {
    const result = parseTokenRequest(
      get('api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com'),
    );
    expect(result).toEqual({
      ok: true,
      request: {
        resource: 'https://management.azure.com',
        apiVersion: '2018-02-01',
        identity: { kind: 'none' },
      },
    });
  });

  it.each([
    ['client_id=abc', { kind: 'clientId', clientId: 'abc' }],
    ['object_id=def', { kind: 'objectId', objectId: 'def' }],
    ['msi_res_id=/subscriptions/s/x', { kind: 'resourceId', resourceId: '/subscriptions/s/x' }],
    ['mi_res_id=/subscriptions/s/y', { kind: 'resourceId', resourceId: '/subscriptions/s/y' }],
    ['msi_res_id=/a&mi_res_id=/a', { kind: 'resourceId', resourceId: '/a' }],
    ['client_id=', { kind: 'none' }],
  ])('reads the selector %s', (selector, identity) => {
    const result = parseTokenRequest(get(`resource=r&${selector}`));
    expect(result.ok && result.request.identity).toEqual(identity);
  });

  it('answers a missing or wrong Metadata header with the JSON 400 of IMDS, before anything else', () => {
    for (const metadata of [undefined, 'True', 'TRUE', '1', '', ['true', 'true'], 'true, true']) {
      const error = errorOf({ method: 'POST', url: '/metadata/identity/oauth2/token', metadata });
      expect(formatImdsError(error)).toEqual({
        status: 400,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: '{"error":"invalid_request","error_description":"Required metadata header not specified"}\n',
      });
    }
  });

  it('does not require the header when configured off', () => {
    const result = parseTokenRequest(
      { method: 'GET', url: `${path}?resource=r`, metadata: undefined },
      { metadataHeaderRequired: false },
    );
    expect(result.ok).toBe(true);
  });

  it('answers a missing resource with the original text 400', () => {
    for (const query of ['', 'resource=', 'api-version=2018-02-01', 'Resource=r']) {
      expect(formatImdsError(errorOf(get(query)))).toEqual({
        status: 400,
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          'x-content-type-options': 'nosniff',
        },
        body: 'parameter resource cannot be empty\n',
      });
    }
  });

  it('refuses methods other than GET with 405 and an Allow header', () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'get']) {
      const error = errorOf({ ...get('resource=r'), method });
      expect(error.status).toBe(405);
      expect(error.headers).toEqual({ allow: 'GET' });
    }
  });

  it('refuses duplicated parameters, conflicting selectors and bad encoding with 400', () => {
    expect(errorOf(get('resource=a&resource=b')).description).toBe(
      'parameter resource specified more than once',
    );
    expect(errorOf(get('resource=r&client_id=a&client_id=a')).status).toBe(400);
    expect(errorOf(get('resource=r&client_id=a&object_id=b')).description).toBe(
      'only one of client_id, object_id and msi_res_id may be specified',
    );
    expect(errorOf(get('resource=r&msi_res_id=/a&mi_res_id=/b')).status).toBe(400);
    expect(errorOf(get('resource=%E0%A4%A')).description).toBe('malformed query string');
  });

  it('refuses a huge request target with 414', () => {
    expect(errorOf(get(`resource=${'a'.repeat(5000)}`)).status).toBe(414);
  });

  it('decodes + as a space and ignores unknown parameters, as Go url.ParseQuery does', () => {
    const result = parseTokenRequest(get('resource=a+b&bogus=%ZZ&foo'));
    expect(result.ok && result.request.resource).toBe('a b');
  });

  it('never throws, whatever the request target', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 8 }), (query, method) => {
        const result = parseTokenRequest({ method, url: `${path}?${query}`, metadata: 'true' });
        if (!result.ok) expect(ImdsProtocolError.is(result.error)).toBe(true);
        else expect(result.request.resource).not.toBe('');
      }),
    );
  });
});
