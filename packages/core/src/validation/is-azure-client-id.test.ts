import { describe, expect, it } from 'vitest';
import { isAzureClientId } from './is-azure-client-id.js';

describe('isAzureClientId', () => {
  it.each([
    '7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9',
    '7EB6E5B8-1C4F-4A0E-9B2E-6F1F0B3CA6A9',
    '00000000-0000-0000-0000-000000000000',
  ])('accepts the GUID %s', (id) => {
    expect(isAzureClientId(id)).toBe(true);
  });

  it.each([
    '',
    'clientid',
    '{7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9}',
    '7eb6e5b81c4f4a0e9b2e6f1f0b3ca6a9',
    '7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a',
    '7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9 ',
    'g7b6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9',
  ])('rejects %j', (id) => {
    expect(isAzureClientId(id)).toBe(false);
  });
});
