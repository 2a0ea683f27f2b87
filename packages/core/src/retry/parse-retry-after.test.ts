import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './parse-retry-after.js';

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1);
  const clock = { now: () => now };

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('20', clock)).toBe(20_000);
    expect(parseRetryAfter(' 0 ', clock)).toBe(0);
    expect(parseRetryAfter(['7', '9'], clock)).toBe(7000);
  });

  it('reads an HTTP-date against the clock passed in, never negative', () => {
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), clock)).toBe(5000);
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), clock)).toBe(0);
    // The obsolete RFC 850 form is an HTTP-date too.
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:00:09 GMT', clock)).toBe(9000);
  });

  it.each([undefined, null, '', '   ', '-3', '1.5', '+5', 'later', '2026-01-01'])(
    'ignores %j',
    (value) => {
      expect(parseRetryAfter(value, clock)).toBeUndefined();
    },
  );
});
