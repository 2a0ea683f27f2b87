import { describe, expect, it } from 'vitest';
import { serializePodIdentityObject } from './serialize-pod-identity-object.js';
import type { AzureIdentity, AzurePodIdentityException } from './types.js';

const identity: AzureIdentity = {
  // deliberately out of the wire order, with an undefined field
  status: { availableReplicas: 0 },
  spec: {
    clientID: '7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9',
    type: 0,
    resourceID:
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id',
    tenantID: undefined,
  },
  metadata: { labels: { app: 'demo' }, name: 'demo-aad1', namespace: 'default' },
  kind: 'AzureIdentity',
  apiVersion: 'aadpodidentity.k8s.io/v1',
};

describe('serializePodIdentityObject', () => {
  it('writes the wire keys in a fixed order and leaves out undefined fields', () => {
    expect(JSON.stringify(serializePodIdentityObject(identity))).toBe(
      '{"apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureIdentity",' +
        '"metadata":{"name":"demo-aad1","namespace":"default","labels":{"app":"demo"}},' +
        '"spec":{"type":0,"resourceID":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",' +
        '"clientID":"7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9"},"status":{"availableReplicas":0}}',
    );
    expect(Object.hasOwn(serializePodIdentityObject(identity).spec, 'tenantID')).toBe(false);
  });

  it('keeps Go’s null for auxiliaryTenantIDs and replicas, so they round-trip', () => {
    const wire = serializePodIdentityObject({
      ...identity,
      spec: { ...identity.spec, auxiliaryTenantIDs: null, replicas: null },
    });
    expect(wire.spec.auxiliaryTenantIDs).toBeNull();
    expect(wire.spec.replicas).toBeNull();
  });

  it('drops fields outside the types that a caller’s object carries at run time', () => {
    const withExtras = {
      ...identity,
      metadata: { ...identity.metadata, managedFields: [{ manager: 'x' }] },
      spec: { ...identity.spec, ClientID: 'legacy' },
      extra: true,
    } as AzureIdentity;
    const wire = serializePodIdentityObject(withExtras) as unknown as Record<
      string,
      Record<string, unknown>
    >;
    expect(wire).not.toHaveProperty('extra');
    expect(wire.metadata).not.toHaveProperty('managedFields');
    expect(wire.spec).not.toHaveProperty('ClientID');
  });

  it('always writes podLabels of an exception, which the parser requires', () => {
    const exception: AzurePodIdentityException = {
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzurePodIdentityException',
      metadata: { name: 'mic' },
      spec: { podLabels: {} },
    };
    expect(serializePodIdentityObject(exception).spec).toEqual({ podLabels: {} });
  });
});
