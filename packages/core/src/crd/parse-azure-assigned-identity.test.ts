import { describe, expect, it } from 'vitest';
import {
  parseAzureAssignedIdentity,
  safeParseAzureAssignedIdentity,
} from './parse-azure-assigned-identity.js';

const CLIENT_ID = '7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9';
const RESOURCE_ID =
  '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/my-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-id';

/** The assigned identity as MIC POSTs it, refs filled in as the API server returns them. */
function assigned(): Record<string, unknown> {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureAssignedIdentity',
    metadata: {
      name: 'demo-default-demo-aad1',
      namespace: 'default',
      labels: { nodename: 'aks-nodepool1-1-vmss000000' },
      finalizers: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'],
    },
    spec: {
      azureIdentityRef: {
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentity',
        metadata: { name: 'demo-aad1', namespace: 'default', resourceVersion: '1001', uid: 'u-1' },
        spec: {
          metadata: {},
          type: 0,
          resourceID: RESOURCE_ID,
          clientID: CLIENT_ID,
          clientPassword: {},
        },
        status: { metadata: {} },
      },
      azureBindingRef: {
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentityBinding',
        metadata: {
          name: 'demo1-azure-identity-binding',
          namespace: 'default',
          resourceVersion: '1002',
        },
        spec: { metadata: {}, azureIdentity: 'demo-aad1', selector: 'demo' },
        status: { metadata: {} },
      },
      pod: 'demo',
      podNamespace: 'default',
      nodename: 'aks-nodepool1-1-vmss000000',
    },
    status: { status: 'Created', availableReplicas: 1 },
  };
}

function spec(input: Record<string, unknown>): Record<string, unknown> {
  return input.spec as Record<string, unknown>;
}

function errorOf(input: unknown): { field: string; message: string } {
  const result = safeParseAzureAssignedIdentity(input);
  if (result.ok) throw new Error('expected the parse to fail');
  return result.error;
}

describe('parseAzureAssignedIdentity', () => {
  it('accepts the reference example and keeps the refs’ metadata MIC compares (resourceVersion)', () => {
    const parsed = parseAzureAssignedIdentity(assigned());
    expect(parsed.metadata).toEqual({
      name: 'demo-default-demo-aad1',
      namespace: 'default',
      labels: { nodename: 'aks-nodepool1-1-vmss000000' },
      finalizers: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'],
    });
    expect(parsed.spec.azureIdentityRef).toEqual({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: { name: 'demo-aad1', namespace: 'default', resourceVersion: '1001', uid: 'u-1' },
      spec: { type: 0, resourceID: RESOURCE_ID, clientID: CLIENT_ID, clientPassword: {} },
      status: {},
    });
    expect(parsed.spec.azureBindingRef.metadata.resourceVersion).toBe('1002');
    expect(parsed.spec.pod).toBe('demo');
    expect(parsed.spec.nodename).toBe('aks-nodepool1-1-vmss000000');
    expect(parsed.status).toEqual({ status: 'Created', availableReplicas: 1 });
  });

  it.each(['Created', 'Assigned', 'Unassigned', ''])('accepts the state %j', (state) => {
    const input = { ...assigned(), status: { status: state, availableReplicas: 1 } };
    expect(parseAzureAssignedIdentity(input).status?.status).toBe(state);
  });

  it('fills in a ref’s missing apiVersion and kind', () => {
    const input = assigned();
    const ref = spec(input).azureBindingRef as Record<string, unknown>;
    delete ref.apiVersion;
    delete ref.kind;
    const parsed = parseAzureAssignedIdentity(input);
    expect(parsed.spec.azureBindingRef.apiVersion).toBe('aadpodidentity.k8s.io/v1');
    expect(parsed.spec.azureBindingRef.kind).toBe('AzureIdentityBinding');
  });

  it('reads refs the original wrote under looser rules, so such a record can still be cleaned up', () => {
    const input = assigned();
    const identity = spec(input).azureIdentityRef as Record<string, unknown>;
    // The original's unanchored regex accepted a trailing slash; its tests used non-GUID client IDs.
    identity.spec = { type: 0, clientID: 'clientid', resourceID: `${RESOURCE_ID}/` };
    (spec(input).azureBindingRef as Record<string, unknown>).spec = {
      azureIdentity: 'demo-aad1',
      selector: '',
    };
    const parsed = parseAzureAssignedIdentity(input);
    expect(parsed.spec.azureIdentityRef.spec).toEqual({
      type: 0,
      clientID: 'clientid',
      resourceID: `${RESOURCE_ID}/`,
    });
    expect(parsed.spec.azureBindingRef.spec).toEqual({ azureIdentity: 'demo-aad1', selector: '' });
  });

  it('still checks the wire types inside refs', () => {
    const input = assigned();
    (spec(input).azureIdentityRef as Record<string, unknown>).spec = {
      type: '0',
      clientID: CLIENT_ID,
    };
    expect(errorOf(input)).toMatchObject({ field: 'spec.azureIdentityRef.spec.type' });
    const missingSelector = assigned();
    (spec(missingSelector).azureBindingRef as Record<string, unknown>).spec = {
      azureIdentity: 'demo-aad1',
    };
    expect(errorOf(missingSelector)).toMatchObject({ field: 'spec.azureBindingRef.spec.selector' });
  });

  it('names fields inside a ref by their full path', () => {
    const input = assigned();
    const identity = spec(input).azureIdentityRef as Record<string, unknown>;
    identity.spec = { type: 0, ClientID: CLIENT_ID, resourceID: RESOURCE_ID };
    const error = errorOf(input);
    expect(error.field).toBe('spec.azureIdentityRef.spec.ClientID');
    expect(error.message).toContain('pre-1.6 name');

    const wrongKind = assigned();
    (spec(wrongKind).azureBindingRef as Record<string, unknown>).kind = 'AzureIdentity';
    expect(errorOf(wrongKind).field).toBe('spec.azureBindingRef.kind');

    const badRef = assigned();
    spec(badRef).azureIdentityRef = 'demo-aad1';
    expect(errorOf(badRef)).toMatchObject({
      field: 'spec.azureIdentityRef',
      message: expect.stringContaining('must be an object') as string,
    });
  });

  it.each<[string, (input: Record<string, unknown>) => void, string, string]>([
    [
      'an unknown state',
      (i) => (i.status = { status: 'Pending' }),
      'status.status',
      'must be "Created", "Assigned", "Unassigned" or ""',
    ],
    [
      'a missing identity ref',
      (i) => delete spec(i).azureIdentityRef,
      'spec.azureIdentityRef',
      'is required',
    ],
    [
      'a missing binding ref',
      (i) => delete spec(i).azureBindingRef,
      'spec.azureBindingRef',
      'is required',
    ],
    ['a missing pod', (i) => delete spec(i).pod, 'spec.pod', 'is required'],
    ['an empty node name', (i) => (spec(i).nodename = ''), 'spec.nodename', 'must not be empty'],
    [
      'nodeName spelled like a pod field',
      (i) => (spec(i).nodeName = 'n'),
      'spec.nodeName',
      'did you mean "nodename"?',
    ],
    [
      'the internal podnamespace spelling',
      (i) => (spec(i).podnamespace = 'default'),
      'spec.podnamespace',
      'did you mean "podNamespace"?',
    ],
    [
      'a bad pod namespace',
      (i) => (spec(i).podNamespace = 'Default'),
      'spec.podNamespace',
      'is not a namespace name',
    ],
    [
      'a string availableReplicas',
      (i) => (i.status = { availableReplicas: '1' }),
      'status.availableReplicas',
      'must be an integer',
    ],
    [
      'a top-level capitalised Status',
      (i) => (i.Status = { status: 'Assigned' }),
      'Status',
      'did you mean "status"?',
    ],
  ])('rejects %s, naming the field', (_what, mutate, field, message) => {
    const input = assigned();
    mutate(input);
    const error = errorOf(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('throws the same error from the throwing variant', () => {
    const input = assigned();
    delete spec(input).pod;
    expect(() => parseAzureAssignedIdentity(input)).toThrow('spec.pod: is required');
  });
});
