import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import {
  createOptInController,
  OPT_IN_LABEL,
  type OptInController,
} from '@pod-identity/example-custom-controller';

const GROUP = 'aadpodidentity.k8s.io/v1';
const admin: TokenCredential = {
  getToken: () =>
    Promise.resolve({ token: 'controller', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

let sandbox: Sandbox;
let controller: OptInController;
let identityId: string;
let scaleSetId: string;

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1, identities: ['shared'] });
  const identity = sandbox.identities.get('shared')!;
  identityId = identity.id;
  scaleSetId = sandbox.nodes[0]!.identityTargetId;
  for (const [namespace, optedIn] of [
    ['opted-in', true],
    ['left-out', false],
  ] as const) {
    sandbox.kubernetes.store.put({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: optedIn ? { [OPT_IN_LABEL]: 'true' } : {} },
    });
    sandbox.kubernetes.store.put({
      apiVersion: GROUP,
      kind: 'AzureIdentity',
      metadata: { name: 'app-id', namespace },
      spec: { type: 0, resourceID: identity.id, clientID: identity.clientId },
    });
    sandbox.kubernetes.store.put({
      apiVersion: GROUP,
      kind: 'AzureIdentityBinding',
      metadata: { name: 'app-binding', namespace },
      spec: { azureIdentity: 'app-id', selector: 'app' },
    });
    sandbox.createPod({
      name: 'web',
      namespace,
      nodeName: sandbox.nodes[0]!.name,
      labels: { aadpodidbinding: 'app' },
    });
  }
  controller = createOptInController({
    kubeConfig: sandbox.kubeConfig,
    credential: admin,
    armEndpoint: sandbox.endpoints.arm,
    armClientOptions: sandbox.azureClientOptions,
  });
});
afterAll(async () => {
  await sandbox.stop();
});

function records() {
  return sandbox.kubernetes.store.list({ apiVersion: GROUP, kind: 'AzureAssignedIdentity' }) as {
    metadata: { name: string };
    spec: { podNamespace: string };
    status?: { status: string };
  }[];
}
function onScaleSet(): string[] {
  return (sandbox.arm.getIdentityAssignment(scaleSetId)?.userAssigned ?? []).map((u) =>
    u.resourceId.toLowerCase(),
  );
}

describe('the opt-in controller', () => {
  it('assigns identities only to pods of namespaces that opted in', async () => {
    const report = await controller.reconcileOnce();
    expect(report.excluded).toEqual(['left-out/web']);
    expect(report.created).toEqual(['default/web-opted-in-app-id']);
    expect(records().map((r) => [r.spec.podNamespace, r.status?.status])).toEqual([
      ['opted-in', 'Assigned'],
    ]);
    expect(onScaleSet()).toEqual([identityId.toLowerCase()]);
  });

  it('is level-based: a second pass changes nothing', async () => {
    const report = await controller.reconcileOnce();
    expect(report).toEqual({ created: [], deleted: [], excluded: ['left-out/web'], changes: [] });
  });

  it('removes the record and the identity it added once the pod is gone', async () => {
    sandbox.deletePod('web', 'opted-in');
    const report = await controller.reconcileOnce();
    expect(report.deleted).toEqual(['default/web-opted-in-app-id']);
    expect(report.changes).toEqual([
      { target: scaleSetId.toLowerCase(), added: [], removed: [identityId] },
    ]);
    expect(records()).toEqual([]);
    expect(onScaleSet()).toEqual([]);
  });
});
