// Objects written for AAD Pod Identity before v1.6 (capitalised field names, read case-insensitively
// by the original until then) as a structural CRD leaves them: the API server drops every old name,
// so they arrive empty. The parsers say so and what to do, instead of only "is required".
import { describe, expect, it } from 'vitest';
import { safeParseAzureAssignedIdentity } from './parse-azure-assigned-identity.js';
import { safeParseAzureIdentity } from './parse-azure-identity.js';
import { safeParseAzureIdentityBinding } from './parse-azure-identity-binding.js';
import { safeParseAzurePodIdentityException } from './parse-azure-pod-identity-exception.js';

const meta = { name: 'old', namespace: 'default' };
const GV = 'aadpodidentity.k8s.io/v1';

function problem(result: { ok: boolean; error?: Error }): string {
  expect(result.ok).toBe(false);
  return result.error?.message ?? '';
}

describe('objects of a pre-1.6 manifest after pruning', () => {
  it('an AzureIdentity of ClientID/ResourceID keeps only its type', () => {
    const message = problem(
      safeParseAzureIdentity({
        apiVersion: GV,
        kind: 'AzureIdentity',
        metadata: meta,
        spec: { type: 0 },
      }),
    );
    expect(message).toMatch(/^spec\.clientID: is required for type 0 \(UserAssignedMSI\)/);
    expect(message).toContain('ClientID, ResourceID and TenantID');
    expect(message).toContain('pod-identity upgrade-types');
  });

  it('a binding of AzureIdentity/Selector keeps nothing', () => {
    const message = problem(
      safeParseAzureIdentityBinding({
        apiVersion: GV,
        kind: 'AzureIdentityBinding',
        metadata: meta,
        spec: {},
      }),
    );
    expect(message).toMatch(/^spec\.azureIdentity: is required/);
    expect(message).toContain('AzureIdentity and Selector');
  });

  it('an exception of PodLabels keeps nothing', () => {
    const message = problem(
      safeParseAzurePodIdentityException({
        apiVersion: GV,
        kind: 'AzurePodIdentityException',
        metadata: meta,
        spec: {},
      }),
    );
    expect(message).toMatch(/^spec\.podLabels: is required/);
    expect(message).toContain('PodLabels');
  });

  it('a record of the Go MIC 1.5.x keeps its pod and node only', () => {
    const message = problem(
      safeParseAzureAssignedIdentity({
        apiVersion: GV,
        kind: 'AzureAssignedIdentity',
        metadata: meta,
        spec: { pod: 'p', nodename: 'n' },
      }),
    );
    expect(message).toMatch(
      /^spec\.azureIdentityRef: is required \(a record written by the Go MIC 1\.5\.x/,
    );
  });

  it('still says "is required" alone when only one field is missing', () => {
    const message = problem(
      safeParseAzureIdentity({
        apiVersion: GV,
        kind: 'AzureIdentity',
        metadata: meta,
        spec: { type: 0, clientID: '00000000-0000-0000-0000-000000000001' },
      }),
    );
    expect(message).toBe('spec.resourceID: is required for type 0 (UserAssignedMSI)');
  });
});
