import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  OTHER_RESOURCE_LABEL,
  WELL_KNOWN_RESOURCES,
  resourceMetricLabel,
} from './resource-metric-label.js';

describe('resourceMetricLabel', () => {
  it.each([
    ['https://management.azure.com/', 'https://management.azure.com/'],
    ['https://management.azure.com', 'https://management.azure.com/'],
    ['HTTPS://Management.Azure.com//', 'https://management.azure.com/'],
    ['https://vault.azure.net', 'https://vault.azure.net'],
    ['https://vault.azure.net/', 'https://vault.azure.net'],
    ['https://storage.azure.com/', 'https://storage.azure.com/'],
    ['https://myaccount.blob.core.windows.net/', 'other'],
    ['https://vault.azure.net/.default', 'other'],
    ['https://management.azure.com/\r\nevil 1', 'other'],
    ['https://management.azure.com/\u0000', 'other'],
    ['', 'other'],
    ['x'.repeat(4000), 'other'],
  ])('labels %j as %j', (resource, label) => {
    expect(resourceMetricLabel(resource)).toBe(label);
  });

  it('has at most the well-known values plus other, each printable, for any input', () => {
    const allowed = new Set([...WELL_KNOWN_RESOURCES, OTHER_RESOURCE_LABEL]);
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom(...WELL_KNOWN_RESOURCES), fc.string({ unit: 'binary' })),
        (resource) => {
          const label = resourceMetricLabel(resource);
          expect(allowed.has(label)).toBe(true);
          expect(label).toMatch(/^[\x21-\x7e]+$/);
        },
      ),
    );
  });
});
