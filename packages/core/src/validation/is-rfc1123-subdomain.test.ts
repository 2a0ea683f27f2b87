import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import {
  isRfc1123Label,
  isRfc1123Subdomain,
  validatePodIdentityName,
} from './is-rfc1123-subdomain.js';

describe('isRfc1123Subdomain', () => {
  it.each(['demo', 'demo-aad1', 'a', '0', 'demo.default.svc', 'pod-1-default-id', 'a'.repeat(253)])(
    'accepts %s',
    (name) => {
      expect(isRfc1123Subdomain(name)).toBe(true);
    },
  );

  it.each([
    '',
    'Demo',
    'demo_1',
    '-demo',
    'demo-',
    'demo..x',
    '.demo',
    'demo.',
    'dé',
    'a'.repeat(254),
    'a b',
  ])('rejects %j', (name) => {
    expect(isRfc1123Subdomain(name)).toBe(false);
  });
});

describe('isRfc1123Label', () => {
  it('accepts namespace names and refuses dots and length over 63', () => {
    expect(isRfc1123Label('kube-system')).toBe(true);
    expect(isRfc1123Label('a'.repeat(63))).toBe(true);
    expect(isRfc1123Label('a'.repeat(64))).toBe(false);
    expect(isRfc1123Label('a.b')).toBe(false);
    expect(isRfc1123Label('')).toBe(false);
  });
});

describe('validatePodIdentityName', () => {
  it('accepts a valid name', () => {
    expect(() => {
      validatePodIdentityName('demo-aad1');
    }).not.toThrow();
  });

  it.each([
    ['', 'metadata.name: must not be empty'],
    ['Demo', 'metadata.name: "Demo" is not an RFC 1123 subdomain'],
    ['a'.repeat(254), 'metadata.name: must be at most 253 characters (got 254)'],
  ])('rejects %j with a ValidationError naming metadata.name', (name, message) => {
    expect(() => {
      validatePodIdentityName(name);
    }).toThrow(ValidationError);
    expect(() => {
      validatePodIdentityName(name);
    }).toThrow(message);
  });

  it('names the field it is given', () => {
    expect(() => {
      validatePodIdentityName('Bad', 'spec.azureIdentity');
    }).toThrow(/^spec\.azureIdentity: /);
  });
});
