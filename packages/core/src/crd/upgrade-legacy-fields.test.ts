import { describe, expect, it } from 'vitest';
import { parseAzureAssignedIdentity } from './parse-azure-assigned-identity.js';
import { parseAzureIdentity } from './parse-azure-identity.js';
import { parseAzureIdentityBinding } from './parse-azure-identity-binding.js';
import { parseAzurePodIdentityException } from './parse-azure-pod-identity-exception.js';
import { upgradeLegacyFields } from './upgrade-legacy-fields.js';

const GV = 'aadpodidentity.k8s.io/v1';
const RESOURCE_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo';
const CLIENT_ID = '00000000-0000-0000-0000-0000000000c1';

describe('upgradeLegacyFields', () => {
  it('renames the capitalised fields of a pre-1.6 manifest (the v1.6.0 upgrade notes) so the object parses', () => {
    const identity = upgradeLegacyFields('AzureIdentity', {
      apiVersion: GV,
      kind: 'AzureIdentity',
      metadata: { name: 'demo', namespace: 'default', labels: { ClientID: 'kept' } },
      spec: { type: 0, ResourceID: RESOURCE_ID, ClientID: CLIENT_ID },
    });
    expect(identity.renamed).toEqual(['spec.ClientID → clientID', 'spec.ResourceID → resourceID']);
    expect(parseAzureIdentity(identity.object).spec).toEqual({
      type: 0,
      resourceID: RESOURCE_ID,
      clientID: CLIENT_ID,
    });
    // Metadata belongs to the API server: a label that happens to look like a field is untouched.
    expect((identity.object.metadata as { labels: object }).labels).toEqual({ ClientID: 'kept' });

    const binding = upgradeLegacyFields('AzureIdentityBinding', {
      apiVersion: GV,
      kind: 'AzureIdentityBinding',
      metadata: { name: 'b' },
      spec: { AzureIdentity: 'demo', Selector: 'demo' },
    });
    expect(parseAzureIdentityBinding(binding.object).spec).toEqual({
      azureIdentity: 'demo',
      selector: 'demo',
    });

    // Label keys are data: PodLabels is renamed, the labels inside it are not.
    const exception = upgradeLegacyFields('AzurePodIdentityException', {
      apiVersion: GV,
      kind: 'AzurePodIdentityException',
      metadata: { name: 'e' },
      spec: { PodLabels: { App: 'Mic', component: 'mic' } },
    });
    expect(parseAzurePodIdentityException(exception.object).spec.podLabels).toEqual({
      App: 'Mic',
      component: 'mic',
    });
  });

  it('renames the certificate identity of the Go documentation (clientPassword {Name, Namespace})', () => {
    const upgraded = upgradeLegacyFields('AzureIdentity', {
      apiVersion: GV,
      kind: 'AzureIdentity',
      metadata: { name: 'cert' },
      spec: {
        type: 2,
        tenantID: '00000000-0000-0000-0000-0000000000aa',
        clientID: CLIENT_ID,
        clientPassword: { Name: 'cert-secret', Namespace: 'default' },
      },
    });
    expect(upgraded.renamed).toEqual([
      'spec.clientPassword.Name → name',
      'spec.clientPassword.Namespace → namespace',
    ]);
    expect(parseAzureIdentity(upgraded.object).spec.clientPassword).toEqual({
      name: 'cert-secret',
      namespace: 'default',
    });
  });

  it('renames a record of the Go MIC 1.5.x (lower-case refs and pod namespace, capitalised Status)', () => {
    const upgraded = upgradeLegacyFields('AzureAssignedIdentity', {
      apiVersion: GV,
      kind: 'AzureAssignedIdentity',
      metadata: { name: 'p-default-demo', namespace: 'default' },
      spec: {
        azureidentityref: {
          metadata: { name: 'demo', namespace: 'default' },
          spec: { type: 0, resourceid: RESOURCE_ID, clientid: CLIENT_ID },
        },
        azurebindingref: {
          metadata: { name: 'b', namespace: 'default' },
          spec: { azureidentity: 'demo', selector: 'demo' },
        },
        pod: 'p',
        podnamespace: 'default',
        nodename: 'node-0',
      },
      Status: { status: 'Assigned', availableReplicas: 1 },
    });
    const record = parseAzureAssignedIdentity(upgraded.object);
    expect(record.spec.azureIdentityRef.spec).toEqual({
      type: 0,
      resourceID: RESOURCE_ID,
      clientID: CLIENT_ID,
    });
    expect(record.spec.azureBindingRef.spec).toEqual({ azureIdentity: 'demo', selector: 'demo' });
    expect(record.spec.podNamespace).toBe('default');
    expect(record.status).toEqual({ status: 'Assigned', availableReplicas: 1 });
  });

  it("keeps today's spelling when both are present, and renames nothing in a current object", () => {
    const both = upgradeLegacyFields('AzureIdentityBinding', {
      apiVersion: GV,
      kind: 'AzureIdentityBinding',
      metadata: { name: 'b' },
      spec: { Selector: 'old', selector: 'new', azureIdentity: 'demo' },
    });
    expect(both.dropped).toEqual(['spec.Selector']);
    expect((both.object.spec as { selector: string }).selector).toBe('new');
    const current = upgradeLegacyFields('AzureIdentityBinding', {
      apiVersion: GV,
      kind: 'AzureIdentityBinding',
      metadata: { name: 'b' },
      spec: { selector: 'demo', azureIdentity: 'demo' },
    });
    expect(current.renamed).toEqual([]);
    expect(current.dropped).toEqual([]);
  });
});
