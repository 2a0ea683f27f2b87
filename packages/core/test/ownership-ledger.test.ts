// The ConfigMap ownership ledger through the real client-node CoreV1Api against the testkit's
// Kubernetes emulator: what two leaders writing one target's ConfigMap must never lose.
import type { IdentityTarget } from '@pod-identity/core';
import { createConfigMapOwnershipLedger } from '@pod-identity/core/kubernetes';
import { startKubernetesEmulator, type KubernetesEmulator } from '@pod-identity/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let kube: KubernetesEmulator;
beforeEach(async () => {
  kube = await startKubernetesEmulator();
  kube.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
});
afterEach(async () => {
  await kube.close();
});

const target: IdentityTarget = {
  kind: 'vmss',
  subscriptionId: 'sub',
  resourceGroup: 'rg',
  name: 'pool',
  key: '/subscriptions/sub/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/pool',
};
const ref = (name: string) => {
  const resourceId = `/subscriptions/sub/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
  return { resourceId, key: resourceId.toLowerCase(), clientId: `client-${name}` };
};
const ledger = () =>
  createConfigMapOwnershipLedger({ kubeConfig: kube.kubeConfig, namespace: 'kube-system' });

describe('ConfigMap ownership ledger', () => {
  it('keeps both leaders’ additions when one writes from a stale copy (its write conflicts and is redone)', async () => {
    const a = ledger();
    const b = ledger();
    await a.add(target, [ref('one')]);
    await b.load();
    await b.add(target, [ref('two')]);
    // `a` last wrote the ConfigMap before `b` did: its next conditional write conflicts.
    await a.add(target, [ref('three')]);
    const fresh = ledger();
    await fresh.load();
    expect([...(fresh.snapshot().get(target.key)?.keys() ?? [])].sort()).toEqual(
      [ref('one').key, ref('two').key, ref('three').key].sort(),
    );
    expect([...(a.snapshot().get(target.key)?.keys() ?? [])].sort()).toEqual(
      [ref('one').key, ref('two').key, ref('three').key].sort(),
    );
  });

  it('recreates the ConfigMap when someone deleted it since the ledger last wrote it', async () => {
    const a = ledger();
    await a.add(target, [ref('one')]);
    const [configMap] = kube.store.list({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'kube-system',
    });
    kube.store.delete({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'kube-system',
      name: (configMap as { metadata: { name: string } }).metadata.name,
    });
    await a.add(target, [ref('two')]);
    const fresh = ledger();
    await fresh.load();
    // The deleted copy's entry is gone with it; what was added afterwards is recorded.
    expect([...(fresh.snapshot().get(target.key)?.keys() ?? [])]).toEqual([ref('two').key]);
  });
});
