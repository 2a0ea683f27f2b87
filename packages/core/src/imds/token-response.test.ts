import { describe, expect, it } from 'vitest';
import { formatHostTokenResponse, formatTokenResponse, type ImdsToken } from './token-response.js';

const token: ImdsToken = {
  accessToken: 'eyJ0.x.y',
  expiresOnTimestamp: 1_700_003_600_500,
  notBeforeTimestamp: 1_700_000_000_000,
  resource: 'https://management.azure.com/',
};

describe('formatTokenResponse', () => {
  it('writes the IMDS object with every value a string and expires_in counted from now', () => {
    const body = formatTokenResponse([token], 1_700_000_100_000);
    expect(body).toBe(
      '{"access_token":"eyJ0.x.y","refresh_token":"","expires_in":"3500","expires_on":"1700003600","not_before":"1700000000","resource":"https://management.azure.com/","token_type":"Bearer"}',
    );
  });

  it('adds client_id when known, as IMDS does', () => {
    const parsed = JSON.parse(formatTokenResponse([{ ...token, clientId: 'c' }], 0)) as Record<
      string,
      unknown
    >;
    expect(parsed.client_id).toBe('c');
    expect(Object.values(parsed).every((v) => typeof v === 'string')).toBe(true);
  });

  it('writes an array, primary first, for several tokens (auxiliary tenants)', () => {
    const parsed = JSON.parse(
      formatTokenResponse([token, { ...token, accessToken: 'aux' }], 1_700_000_000_000),
    ) as { access_token: string }[];
    expect(parsed.map((t) => t.access_token)).toEqual(['eyJ0.x.y', 'aux']);
  });

  it('never reports a negative expires_in', () => {
    const parsed = JSON.parse(formatTokenResponse([token], 1_800_000_000_000)) as Record<
      string,
      string
    >;
    expect(parsed.expires_in).toBe('0');
  });

  it('refuses an empty list', () => {
    expect(() => formatTokenResponse([], 0)).toThrow(RangeError);
  });
});

describe('formatHostTokenResponse', () => {
  it('nests the token object beside the identity client ID, as the original host route did', () => {
    const parsed = JSON.parse(
      formatHostTokenResponse({ ...token, clientId: 'x' }, 'client-1', 1_700_000_000_000),
    ) as { token: Record<string, string>; clientid: string };
    expect(parsed.clientid).toBe('client-1');
    expect(Object.keys(parsed.token)).toEqual([
      'access_token',
      'refresh_token',
      'expires_in',
      'expires_on',
      'not_before',
      'resource',
      'token_type',
    ]);
  });
});
