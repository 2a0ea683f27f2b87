import { describe, expect, test } from 'vitest';
import {
  decideFederated,
  type FederatedPod,
  type FederatedServiceAccount,
} from './decide-federated.js';

const clientId = '6f0b0a1e-8d4c-4f6e-9a57-1c2b3d4e5f60';
const pod: FederatedPod = {
  namespace: 'shop',
  name: 'cart-1',
  uid: 'u-1',
  labels: { 'azure.workload.identity/use': 'true' },
  serviceAccountName: 'cart',
};
const account: FederatedServiceAccount = { namespace: 'shop', name: 'cart', clientId };

describe('decideFederated', () => {
  test('a pod without the opt-in label is left to the other modes', () => {
    expect(
      decideFederated(
        { ...pod, labels: { aadpodidbinding: 'cart' } },
        { kind: 'none' },
        account,
        't',
      ).kind,
    ).toBe('not-federated');
    expect(
      decideFederated(
        { ...pod, labels: { 'azure.workload.identity/use': 'false' } },
        { kind: 'none' },
        account,
        't',
      ).kind,
    ).toBe('not-federated');
  });

  test('an opted-in pod gets its service account`s identity, by default or by its client_id in any case', () => {
    const expected = {
      kind: 'identity',
      identity: {
        clientId,
        tenantId: 'tenant-a',
        namespace: 'shop',
        serviceAccountName: 'cart',
        subject: 'system:serviceaccount:shop:cart',
      },
    };
    expect(decideFederated(pod, { kind: 'none' }, account, 'tenant-a')).toEqual(expected);
    expect(
      decideFederated(
        pod,
        { kind: 'clientId', clientId: clientId.toUpperCase() },
        account,
        'tenant-a',
      ),
    ).toEqual(expected);
  });

  test('the service account`s tenant annotation wins over the default', () => {
    const decision = decideFederated(
      pod,
      { kind: 'none' },
      { ...account, tenantId: 'tenant-b' },
      'tenant-a',
    );
    expect(decision.kind === 'identity' && decision.identity.tenantId).toBe('tenant-b');
  });

  test('a service account without the client-id annotation, or another account, is refused with 403', () => {
    for (const sa of [
      undefined,
      { namespace: 'shop', name: 'cart' },
      { ...account, name: 'other' },
      { ...account, namespace: 'other' },
    ]) {
      expect(decideFederated(pod, { kind: 'none' }, sa, 't')).toMatchObject({
        kind: 'deny',
        status: 403,
        reason: 'service-account-not-federated',
      });
    }
  });

  test('a pod with no service account name uses `default`', () => {
    const decision = decideFederated(
      { ...pod, serviceAccountName: undefined },
      { kind: 'none' },
      { ...account, name: 'default' },
      't',
    );
    expect(decision.kind === 'identity' && decision.identity.subject).toBe(
      'system:serviceaccount:shop:default',
    );
  });

  test('another identity is refused, never served another way, and its id is redacted in the message', () => {
    const other = '0a1b2c3d-0000-4000-8000-000000000000';
    for (const requested of [
      { kind: 'clientId', clientId: other } as const,
      { kind: 'objectId', objectId: other } as const,
      {
        kind: 'resourceId',
        resourceId:
          '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x',
      } as const,
    ]) {
      const decision = decideFederated(pod, requested, account, 't');
      expect(decision).toMatchObject({
        kind: 'deny',
        status: 403,
        reason: 'identity-not-federated',
      });
      expect(decision.kind === 'deny' && decision.message).not.toContain(other);
    }
  });

  test('no tenant anywhere is refused', () => {
    expect(decideFederated(pod, { kind: 'none' }, account, undefined)).toMatchObject({
      kind: 'deny',
      reason: 'no-tenant',
    });
  });
});
