// A record serves the pod it was made for, not whatever pod now has that name or address: pods are
// deleted and created again under the same name (a StatefulSet pod), relabelled, or replaced while
// their request waits, and MIC (down or slow here: nothing rewrites the records) has not acted.
import { createInformerClusterState, createNmi, type Nmi } from '@pod-identity/nmi';
import { startSandbox, type Sandbox, type SandboxNode } from '@pod-identity/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenOf,
  assignToScaleSet,
  azureAssignedIdentity,
  putAssigned,
  azureIdentity,
  azureIdentityBinding,
  claimsOf,
  tokenRequest,
} from './nmi-test-support.js';

let sandbox: Sandbox;
let node: SandboxNode;
let nmi: Nmi;
// How many times a request has started waiting for a CRD change (MIC writing a record).
let waits = 0;
const ids: Record<string, { id: string; clientId: string }> = {};
const identity = (name: string) =>
  azureIdentity('default', name, {
    type: 0,
    resourceID: ids[name]!.id,
    clientID: ids[name]!.clientId,
  });

interface StoredPod {
  metadata: { uid: string };
  status: { podIP: string };
}

function createPod(name: string, label: string, podIp?: string): StoredPod {
  return sandbox.createPod({
    name,
    nodeName: node.name,
    labels: { aadpodidbinding: label },
    ...(podIp === undefined ? {} : { podIp }),
  }) as unknown as StoredPod;
}

function relabel(name: string, label: string): void {
  const pod = sandbox.kubernetes.store.get({
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: 'default',
    name,
  })!;
  const metadata = pod.metadata as { labels?: Record<string, string> };
  sandbox.kubernetes.store.put({
    ...pod,
    metadata: { ...metadata, labels: { ...metadata.labels, aadpodidbinding: label } },
  });
}

async function until(predicate: () => boolean): Promise<void> {
  // Waits for an informer to deliver; the condition is an event, checked on each turn of the loop.
  for (let i = 0; i < 400 && !predicate(); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(predicate()).toBe(true);
}

/**
 * Writes the web identity's record for a pod as a MIC would (`uid` undefined: as the original MIC,
 * without the pod UID) and waits until NMI has it and the pod as given.
 */
async function putRecord(
  pod: { name: string; uid: string; label: string },
  recordUid: string | undefined,
  state: 'Created' | 'Assigned',
): Promise<void> {
  putAssigned(
    sandbox.kubernetes.store,
    azureAssignedIdentity(
      {
        name: pod.name,
        namespace: 'default',
        selector: 'web',
        ...(recordUid === undefined ? {} : { uid: recordUid }),
      },
      identity('web-id'),
      node.name,
      state,
    ),
  );
  await until(
    () =>
      podInNmi(pod.name, pod.uid, pod.label) &&
      nmi.state.view
        .assignedIdentities('default', pod.name)
        .some((record) => record.status?.status === state),
  );
}

function expectRefused(answer: { status: number; body: string }): void {
  // Final refusals (the record is not for this pod, and every binding selecting it has its record).
  expect(answer.status).toBe(400);
  expect(answer.body).not.toContain('access_token');
}

function podInNmi(name: string, uid: string, label: string): boolean {
  const pod = nmi.state.pods.get('default', name);
  return pod?.uid === uid && pod.labels.aadpodidbinding === label;
}

beforeAll(async () => {
  sandbox = await startSandbox({
    scaleSets: [{ nodeCount: 1 }],
    identities: ['web-id', 'admin-id'],
  });
  node = sandbox.nodes[0]!;
  for (const name of ['web-id', 'admin-id']) {
    const info = sandbox.identities.get(name)!;
    ids[name] = { id: info.id, clientId: info.clientId };
  }
  // Both identities are on the node, as they would be when pods of either label ran there.
  await assignToScaleSet(
    sandbox,
    node.scaleSetName!,
    Object.values(ids).map((i) => i.id),
  );
  const informers = createInformerClusterState({
    kubeConfig: sandbox.kubeConfig,
    nodeName: node.name,
    operationMode: 'standard',
    forceNamespaced: false,
    scaleFeatures: true,
  });
  nmi = await createNmi({
    nodeName: node.name,
    state: {
      ...informers,
      changed: (timeoutMs, abortSignal) => {
        waits += 1;
        return informers.changed(timeoutMs, abortSignal);
      },
    },
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    retryAttemptsForCreated: 2,
    retryAttemptsForAssigned: 2,
    findIdentityRetryIntervalMs: 100,
    podLookupTimeoutMs: 300,
    events: false,
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await nmi.close();
  await sandbox.stop();
});

describe('NMI serves a record only to the pod it was made for', () => {
  it('refuses a pod re-created under the same name and IP with another label its predecessor’s identity', async () => {
    const first = createPod('web-0', 'web');
    const ip = first.status.podIP;
    // What this MIC wrote for the first pod: its selector and its UID.
    await putRecord(
      { name: 'web-0', uid: first.metadata.uid, label: 'web' },
      first.metadata.uid,
      'Assigned',
    );
    const served = await tokenRequest(nmi.url, ip, 'resource=https://management.azure.com/');
    expect(claimsOf(accessTokenOf(served)).appid).toBe(ids['web-id']!.clientId);

    sandbox.deletePod('web-0');
    const second = createPod('web-0', 'admin', ip);
    await until(() => podInNmi('web-0', second.metadata.uid, 'admin'));
    const refused = await tokenRequest(nmi.url, ip, 'resource=https://management.azure.com/');
    expectRefused(refused);
  });

  it('refuses a pod re-created with the same label while the record carries the old pod’s UID', async () => {
    const first = createPod('web-1', 'web');
    sandbox.deletePod('web-1');
    const second = createPod('web-1', 'web');
    await putRecord(
      { name: 'web-1', uid: second.metadata.uid, label: 'web' },
      first.metadata.uid,
      'Assigned',
    );
    const refused = await tokenRequest(
      nmi.url,
      second.status.podIP,
      'resource=https://vault.azure.net',
    );
    // Not final: the binding selects the new pod and MIC has yet to write its record.
    expect(refused.status).toBe(503);
    expect(refused.body).not.toContain('access_token');
  });

  it('matches records of the original MIC (no UID) by selector: served while the label binds, refused once relabelled', async () => {
    const pod = createPod('legacy-0', 'web');
    await putRecord(
      { name: 'legacy-0', uid: pod.metadata.uid, label: 'web' },
      undefined,
      'Assigned',
    );
    const served = await tokenRequest(
      nmi.url,
      pod.status.podIP,
      'resource=https://storage.azure.com/',
    );
    expect(claimsOf(accessTokenOf(served)).appid).toBe(ids['web-id']!.clientId);

    relabel('legacy-0', 'admin');
    await until(() => podInNmi('legacy-0', pod.metadata.uid, 'admin'));
    // The token is cached: the cached path must decide again, from the pod's current label.
    const refused = await tokenRequest(
      nmi.url,
      pod.status.podIP,
      'resource=https://storage.azure.com/',
    );
    expectRefused(refused);
  });

  it('refuses a request that waited for MIC if its pod was relabelled meanwhile', async () => {
    const pod = createPod('flip', 'web');
    await putRecord(
      { name: 'flip', uid: pod.metadata.uid, label: 'web' },
      pod.metadata.uid,
      'Created',
    );
    const before = waits;
    const waiting = tokenRequest(nmi.url, pod.status.podIP, 'resource=https://flip.example/');
    await until(() => waits > before);
    // While the request waits for Assigned, the pod is relabelled; then the stale record is assigned.
    relabel('flip', 'admin');
    await until(() => podInNmi('flip', pod.metadata.uid, 'admin'));
    await putRecord(
      { name: 'flip', uid: pod.metadata.uid, label: 'admin' },
      pod.metadata.uid,
      'Assigned',
    );
    expectRefused(await waiting);
  });

  it('does not hand out tokens fetched for a pod that was replaced while IMDS answered', async () => {
    const first = createPod('swap', 'web');
    const ip = first.status.podIP;
    await putRecord(
      { name: 'swap', uid: first.metadata.uid, label: 'web' },
      first.metadata.uid,
      'Assigned',
    );
    // IMDS holds the answer long enough for the informer to deliver the replacement (a few ms).
    node.imds.faults.setLatency(1500);
    try {
      const misses = nmi.cache.stats.misses;
      const pending = tokenRequest(nmi.url, ip, 'resource=https://swap.example/');
      await until(() => nmi.cache.stats.misses > misses);
      sandbox.deletePod('swap');
      const second = createPod('swap', 'web', ip);
      await until(() => podInNmi('swap', second.metadata.uid, 'web'));
      const answer = await pending;
      expect(answer.status).toBe(400);
      expect(answer.body).not.toContain('access_token');
    } finally {
      node.imds.faults.setLatency(0);
    }
  });
  it('stops serving a record once its binding selects another label or its identity is gone, though MIC has not removed it', async () => {
    const pod = createPod('ops-0', 'ops');
    const selecting = (): number => nmi.state.view.bindingsSelecting?.('ops').length ?? 0;
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        {
          name: 'ops-0',
          namespace: 'default',
          selector: 'ops',
          uid: pod.metadata.uid,
          binding: 'admin-ops',
        },
        identity('admin-id'),
        node.name,
        'Assigned',
      ),
    );
    await until(
      () =>
        podInNmi('ops-0', pod.metadata.uid, 'ops') &&
        nmi.state.view.assignedIdentities('default', 'ops-0').length === 1 &&
        selecting() === 1,
    );
    const ask = () => tokenRequest(nmi.url, pod.status.podIP, 'resource=https://ops.example/');
    expect(claimsOf(accessTokenOf(await ask())).appid).toBe(ids['admin-id']!.clientId);

    // The binding is pointed at another label. MIC (absent here) would remove the record on its next
    // pass; until then the record still names the old selector, and the token is cached.
    sandbox.kubernetes.store.put(azureIdentityBinding('default', 'admin-ops', 'admin-id', 'other'));
    await until(() => selecting() === 0);
    const afterRebind = await ask();
    expect(afterRebind.status).toBe(503);
    expect(afterRebind.body).not.toContain('access_token');

    // Bound again: served again.
    sandbox.kubernetes.store.put(azureIdentityBinding('default', 'admin-ops', 'admin-id', 'ops'));
    await until(() => selecting() === 1);
    expect(claimsOf(accessTokenOf(await ask())).appid).toBe(ids['admin-id']!.clientId);

    // The identity is deleted while the record still names it.
    sandbox.kubernetes.store.delete({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      namespace: 'default',
      name: 'admin-id',
    });
    await until(() =>
      nmi.state.view.identities('default').every((i) => i.metadata.name !== 'admin-id'),
    );
    const afterDelete = await ask();
    expect(afterDelete.status).toBe(503);
    expect(afterDelete.body).not.toContain('access_token');
  });
});
