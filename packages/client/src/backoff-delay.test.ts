import { describe, expect, it } from 'vitest';
import { backoffDelayMs, resolveRetryOptions } from './backoff-delay.js';

describe('backoffDelayMs', () => {
  const options = resolveRetryOptions({ initialDelayMs: 1000, maxDelayMs: 10_000 });
  it('doubles from the initial delay and caps at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, options, 0.999999))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });
  it('jitters between half and all of the step', () => {
    expect(backoffDelayMs(3, options, 0)).toBe(2000);
    expect(backoffDelayMs(3, options, 0.5)).toBe(3000);
  });
});

describe('resolveRetryOptions', () => {
  it('fills defaults and keeps given values', () => {
    expect(resolveRetryOptions({ maxRetries: 3 })).toEqual({
      maxRetries: 3,
      initialDelayMs: 1000,
      maxDelayMs: 30_000,
    });
  });
  it('rejects negative, non-finite and fractional retry counts', () => {
    expect(() => resolveRetryOptions({ initialDelayMs: -1 })).toThrow(RangeError);
    expect(() => resolveRetryOptions({ maxDelayMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => resolveRetryOptions({ maxRetries: 1.5 })).toThrow(/integer/);
  });
});
