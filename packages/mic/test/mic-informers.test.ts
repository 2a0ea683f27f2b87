// The informer set alone, against the Kubernetes emulator through client-node.
import { createMicInformers, type MicInformers } from '@pod-identity/mic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './mic-harness.js';

describe('createMicInformers', () => {
  let h: Harness;
  let informers: MicInformers;
  beforeAll(async () => {
    h = await startHarness();
    informers = createMicInformers({ kubeConfig: h.sandbox.kubeConfig });
  });
  afterAll(async () => {
    await informers.stop();
    await h.stop();
  });

  it('caches bound pods by node, the nodes, and the custom resources with their parse problems', async () => {
    const [node] = h.sandbox.nodes;
    if (node === undefined) throw new Error('the sandbox has nodes');
    h.identity('id-good');
    h.binding('bind-good', 'id-good', 'web');
    h.pod('web-1', node.name, 'web');
    // Not bound: no binding label, so not cached.
    h.sandbox.createPod({ name: 'plain', namespace: 'default', nodeName: node.name });
    // Type 0 needs a resource ID: the strict parser refuses this one, the cache keeps it.
    h.identity('id-bad', { resourceID: 'not-an-arm-id' });
    await informers.start();

    expect(informers.pods.byIndex('byNode', node.name).map((p) => p.name)).toEqual(['web-1']);
    expect(informers.pods.get('default/web-1')).toMatchObject({
      selector: 'web',
      nodeName: node.name,
    });
    expect(informers.nodeProviderIds.get(node.name)).toBe(node.providerId);
    const good = informers.identities.get('default/id-good');
    const bad = informers.identities.get('default/id-bad');
    expect(good === undefined ? 'missing' : informers.parseProblem(good)).toBeUndefined();
    expect(bad === undefined ? undefined : informers.parseProblem(bad)).toMatch(/.+/);
  });

  it('keeps a deleted node’s provider ID, so its records can still be released', async () => {
    const node = h.sandbox.nodes[1];
    if (node === undefined) throw new Error('the sandbox has two nodes');
    h.sandbox.kubernetes.store.delete({ apiVersion: 'v1', kind: 'Node', name: node.name });
    await waitFor(() => informers.nodes.get(node.name) === undefined, 'the node deletion');
    expect(informers.nodeProviderIds.get(node.name)).toBe(node.providerId);
  });
});
