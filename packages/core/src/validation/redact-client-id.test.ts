import { describe, expect, it } from 'vitest';
import { redactClientId } from './redact-client-id.js';

describe('redactClientId', () => {
  it('keeps the first and last four characters around the original marker', () => {
    expect(redactClientId('7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9')).toBe(
      '7eb6##### REDACTED #####a6a9',
    );
  });

  it('redacts an eight-character value to its two ends', () => {
    expect(redactClientId('12345678')).toBe('1234##### REDACTED #####5678');
  });

  it('never returns a short value unredacted (the original did)', () => {
    expect(redactClientId('1234567')).toBe('##### REDACTED #####');
    expect(redactClientId('')).toBe('##### REDACTED #####');
  });

  it('refuses to keep whitespace at the ends, like the original’s \\S{4}', () => {
    expect(redactClientId(' 234567890')).toBe('##### REDACTED #####');
    expect(redactClientId('123456789 ')).toBe('##### REDACTED #####');
  });

  it('never leaks the middle of the value', () => {
    const redacted = redactClientId('aaaa-SECRET-MIDDLE-zzzz');
    expect(redacted).not.toContain('SECRET');
    expect(redacted).not.toContain('MIDDLE');
  });
});
