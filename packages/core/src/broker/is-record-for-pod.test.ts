import { describe, expect, it } from 'vitest';
import type { AzureAssignedIdentity } from '../crd/types.js';
import { isRecordForPod, type RecordedPod } from './is-record-for-pod.js';

function record(selector: string, podUid?: string): AzureAssignedIdentity {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureAssignedIdentity',
    metadata: {
      name: 'web-0-apps-id',
      namespace: 'default',
      ...(podUid === undefined ? {} : { annotations: { 'aadpodidentity.k8s.io/pod-uid': podUid } }),
    },
    spec: {
      azureIdentityRef: {
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentity',
        metadata: { name: 'id', namespace: 'apps' },
        spec: { type: 0, clientID: 'c', resourceID: 'r' },
      },
      azureBindingRef: {
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentityBinding',
        metadata: { name: 'b', namespace: 'apps' },
        spec: { azureIdentity: 'id', selector },
      },
      pod: 'web-0',
      podNamespace: 'apps',
      nodename: 'node-0',
    },
    status: { status: 'Assigned' },
  };
}

const pod = (labels: Record<string, string>, uid?: string): RecordedPod => ({
  namespace: 'apps',
  name: 'web-0',
  labels,
  ...(uid === undefined ? {} : { uid }),
});

describe('isRecordForPod', () => {
  it.each([
    [
      'same pod, same label, same UID',
      record('web', 'u1'),
      pod({ aadpodidbinding: 'web' }, 'u1'),
      true,
    ],
    [
      'record of the original MIC (no UID), same label',
      record('web'),
      pod({ aadpodidbinding: 'web' }, 'u2'),
      true,
    ],
    [
      'pod re-created under the name (new UID)',
      record('web', 'u1'),
      pod({ aadpodidbinding: 'web' }, 'u2'),
      false,
    ],
    [
      'pod whose UID is unknown, record with a UID',
      record('web', 'u1'),
      pod({ aadpodidbinding: 'web' }),
      false,
    ],
    ['pod relabelled', record('web', 'u1'), pod({ aadpodidbinding: 'admin' }, 'u1'), false],
    [
      'original MIC record, pod relabelled',
      record('web'),
      pod({ aadpodidbinding: 'admin' }),
      false,
    ],
    ['label removed', record('web', 'u1'), pod({}, 'u1'), false],
    ['empty label, empty selector', record('', 'u1'), pod({ aadpodidbinding: '' }, 'u1'), false],
    [
      'label differs only in case',
      record('web', 'u1'),
      pod({ aadpodidbinding: 'Web' }, 'u1'),
      false,
    ],
    [
      'empty UID annotation never matches a pod with a UID',
      record('web', ''),
      pod({ aadpodidbinding: 'web' }, 'u1'),
      false,
    ],
  ])('%s', (_name, r, p, expected) => {
    expect(isRecordForPod(r, p)).toBe(expected);
  });

  it('refuses a record of another pod name or namespace', () => {
    expect(
      isRecordForPod(record('web'), { ...pod({ aadpodidbinding: 'web' }), name: 'web-1' }),
    ).toBe(false);
    expect(
      isRecordForPod(record('web'), { ...pod({ aadpodidbinding: 'web' }), namespace: 'other' }),
    ).toBe(false);
  });

  it('does not read the label from the prototype chain', () => {
    const labels = Object.create({ aadpodidbinding: 'web' }) as Record<string, string>;
    expect(isRecordForPod(record('web'), pod(labels))).toBe(false);
  });
});
