import { describe, expect, it } from 'vitest';
import { parseTokenResponse } from './parse-token-response.js';
import { ImdsResponseError } from './errors/imds-response-error.js';

const NOW = Date.UTC(2026, 0, 1);
const R = 'https://management.azure.com/';

describe('parseTokenResponse', () => {
  it('reads the IMDS shape: every number a string, expires_on in epoch seconds', () => {
    const body =
      '{"access_token":"t","refresh_token":"","expires_in":"3599","expires_on":"1767229199","not_before":"1767225600","resource":"https://management.azure.com/","token_type":"Bearer"}';
    expect(parseTokenResponse(body, NOW, R)).toEqual({
      token: 't',
      expiresOnTimestamp: 1_767_229_199_000,
      resource: R,
      tokenType: 'Bearer',
    });
  });

  it('reads expires_on as a number of seconds', () => {
    expect(
      parseTokenResponse('{"access_token":"t","expires_on":1767229199}', NOW, R).expiresOnTimestamp,
    ).toBe(1_767_229_199_000);
  });

  it('reads expires_on as a date string (App Service and Arc style)', () => {
    const body = '{"access_token":"t","expires_on":"2026-01-01T01:00:00.000Z"}';
    expect(parseTokenResponse(body, NOW, R).expiresOnTimestamp).toBe(NOW + 3_600_000);
    const slashes = '{"access_token":"t","expires_on":"01/01/2026 01:00:00 +00:00"}';
    expect(parseTokenResponse(slashes, NOW, R).expiresOnTimestamp).toBe(NOW + 3_600_000);
  });

  it('falls back to now + expires_in', () => {
    expect(
      parseTokenResponse('{"access_token":"t","expires_in":"60"}', NOW, R).expiresOnTimestamp,
    ).toBe(NOW + 60_000);
  });

  it('takes the primary token of an array (multi-tenant service principal)', () => {
    const body =
      '[{"access_token":"primary","expires_on":"1767229199"},{"access_token":"aux","expires_on":"1767229199"}]';
    expect(parseTokenResponse(body, NOW, R).token).toBe('primary');
  });

  it('uses the requested resource when none is echoed and keeps a client_id', () => {
    const parsed = parseTokenResponse(
      '{"access_token":"t","expires_in":1,"client_id":"cid"}',
      NOW,
      R,
    );
    expect(parsed.resource).toBe(R);
    expect(parsed.clientId).toBe('cid');
  });

  it.each([
    ['not json', 'not JSON'],
    ['[]', 'empty array'],
    ['"x"', 'not a JSON object'],
    ['{"expires_on":"1"}', 'no access_token'],
    ['{"access_token":"secret-token"}', 'neither expires_on nor expires_in'],
    ['{"access_token":"secret-token","expires_on":"soon"}', 'unreadable expires_on'],
  ])('rejects %s with a message that never holds the body', (body, message) => {
    let caught: unknown;
    try {
      parseTokenResponse(body, NOW, R);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ImdsResponseError);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toContain('secret-token');
  });
});
