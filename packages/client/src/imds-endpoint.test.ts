import { describe, expect, it } from 'vitest';
import { resolveImdsEndpoint } from './imds-endpoint.js';

describe('resolveImdsEndpoint', () => {
  it('prefers the option, then AZURE_POD_IDENTITY_AUTHORITY_HOST, then IMDS', () => {
    const env = { AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:2579' };
    expect(resolveImdsEndpoint('http://127.0.0.2:80', env).origin).toBe('http://127.0.0.2');
    expect(resolveImdsEndpoint(undefined, env).origin).toBe('http://127.0.0.1:2579');
    expect(resolveImdsEndpoint(undefined, {}).origin).toBe('http://169.254.169.254');
    expect(resolveImdsEndpoint(undefined, { AZURE_POD_IDENTITY_AUTHORITY_HOST: '' }).origin).toBe(
      'http://169.254.169.254',
    );
  });
  it('keeps only scheme, host and port', () => {
    expect(resolveImdsEndpoint('http://127.0.0.1:9/some/path?x=1', {}).href).toBe(
      'http://127.0.0.1:9/',
    );
  });
  it('names the source of a bad value', () => {
    expect(() =>
      resolveImdsEndpoint(undefined, { AZURE_POD_IDENTITY_AUTHORITY_HOST: 'nope' }),
    ).toThrow(/AZURE_POD_IDENTITY_AUTHORITY_HOST is not a URL/);
    expect(() => resolveImdsEndpoint('file:///etc/passwd', {})).toThrow(
      /endpoint option must be an http or https URL/,
    );
  });
});
