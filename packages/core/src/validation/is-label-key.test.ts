import { describe, expect, it } from 'vitest';
import { isLabelKey } from './is-label-key.js';
import { isLabelValue } from './is-label-value.js';

describe('isLabelKey', () => {
  it.each([
    'app',
    'aadpodidbinding',
    'app.kubernetes.io/component',
    'kubernetes.azure.com/managedby',
    'A_b.c',
  ])('accepts %s', (key) => {
    expect(isLabelKey(key)).toBe(true);
  });

  it.each(['', '/app', 'Example.com/app', 'app/', 'a/b/c', '-app', 'a'.repeat(64), '__proto__'])(
    'rejects %j',
    (key) => {
      expect(isLabelKey(key)).toBe(false);
    },
  );
});

describe('isLabelValue', () => {
  it('accepts empty and qualified values up to 63 characters', () => {
    expect(isLabelValue('')).toBe(true);
    expect(isLabelValue('demo')).toBe(true);
    expect(isLabelValue('Demo_1.x-y')).toBe(true);
    expect(isLabelValue('a'.repeat(63))).toBe(true);
  });

  it('rejects values no pod label can hold', () => {
    expect(isLabelValue('a'.repeat(64))).toBe(false);
    expect(isLabelValue('-demo')).toBe(false);
    expect(isLabelValue('de mo')).toBe(false);
    expect(isLabelValue('a/b')).toBe(false);
  });
});
