// MIC writes the pod UID on the records it makes (an annotation, so the CRD JSON stays what the
// original reads and writes), rewrites a record made for an earlier pod of the same name, and leaves
// records of the original MIC (no UID) as they are.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './mic-harness.js';

const POD_UID = 'aadpodidentity.k8s.io/pod-uid';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

interface StoredRecord {
  metadata: { resourceVersion?: string; annotations?: Record<string, string> };
  status?: { status?: string };
}

function podUid(harness: Harness, name: string): string | undefined {
  const pod = harness.sandbox.kubernetes.store.get({
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: 'default',
    name,
  });
  return (pod?.metadata as { uid?: string } | undefined)?.uid;
}

function stored(harness: Harness, name: string): StoredRecord | undefined {
  return harness.record(name) as StoredRecord | undefined;
}

/** A harness with MIC running, the identity `web-id` bound to label `web`, and one such pod. */
async function startWithPod(podName: string): Promise<{ harness: Harness; nodeName: string }> {
  const harness = await startHarness();
  const nodeName = harness.sandbox.nodes[0]!.name;
  harness.identity('web-id');
  harness.binding('web-binding', 'web-id', 'web');
  harness.startMic();
  harness.pod(podName, nodeName, 'web');
  await waitFor(
    () => stored(harness, `${podName}-default-web-id`)?.status?.status === 'Assigned',
    `${podName} Assigned`,
  );
  return { harness, nodeName };
}

describe('MIC records the pod UID', () => {
  it('writes the pod UID on a new record and rewrites the record when the pod is re-created under its name', async () => {
    const { harness, nodeName } = await startWithPod('web-0');
    h = harness;
    const firstUid = podUid(h, 'web-0');
    expect(firstUid).toBeDefined();
    expect(stored(h, 'web-0-default-web-id')!.metadata.annotations).toEqual({
      [POD_UID]: firstUid,
    });

    // A StatefulSet-style re-creation: same name, same label, same node, new UID.
    h.sandbox.deletePod('web-0');
    h.pod('web-0', nodeName, 'web');
    const secondUid = podUid(h, 'web-0');
    expect(secondUid).not.toBe(firstUid);
    await waitFor(() => {
      const record = stored(h!, 'web-0-default-web-id');
      return (
        record?.metadata.annotations?.[POD_UID] === secondUid &&
        record?.status?.status === 'Assigned'
      );
    }, 'the record rewritten for the new pod and Assigned');
  });

  it('leaves a record without a pod UID (written by the original MIC) as it is', async () => {
    const { harness, nodeName } = await startWithPod('old-0');
    h = harness;
    // The original MIC wrote the same record without the annotation.
    const store = h.sandbox.kubernetes.store;
    const ref = {
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureAssignedIdentity',
      namespace: 'default',
      name: 'old-0-default-web-id',
    };
    const current = store.get(ref)!;
    const metadata = { ...(current.metadata as Record<string, unknown>) };
    delete metadata.annotations;
    const legacy = store.put({ ...current, metadata });
    const legacyVersion = (legacy.metadata as { resourceVersion: string }).resourceVersion;

    // Another pod makes MIC plan again; the legacy record is not touched.
    h.pod('new-0', nodeName, 'web');
    await waitFor(
      () => stored(h!, 'new-0-default-web-id')?.status?.status === 'Assigned',
      'the other pod Assigned',
    );
    const after = stored(h, 'old-0-default-web-id')!;
    expect(after.metadata.resourceVersion).toBe(legacyVersion);
    expect(after.metadata.annotations?.[POD_UID]).toBeUndefined();
  });
});
