// The node-pool controller (MIC's parts, its own planner) against the testkit's Kubernetes and ARM
// emulators, through the real client-node and Azure SDK clients.
import type { TokenCredential } from '@azure/core-auth';
import {
  createNodePoolController,
  type NodePoolController,
} from '@pod-identity/example-custom-controller';
import { startSandbox, type Sandbox, type SandboxNode } from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const GROUP = 'aadpodidentity.k8s.io/v1';
const credential: TokenCredential = {
  getToken: () =>
    Promise.resolve({ token: 'controller', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

let sandbox: Sandbox;
let controller: NodePoolController;
let identityId: string;
let canary: SandboxNode;
let main: SandboxNode;

beforeAll(async () => {
  sandbox = await startSandbox({
    scaleSets: [
      { name: 'canary', nodeCount: 1 },
      { name: 'main', nodeCount: 1 },
    ],
    identities: ['shared'],
  });
  const identity = sandbox.identities.get('shared')!;
  identityId = identity.id.toLowerCase();
  canary = sandbox.nodes.find((node) => node.scaleSetName === 'canary')!;
  main = sandbox.nodes.find((node) => node.scaleSetName === 'main')!;
  sandbox.kubernetes.store.put({
    apiVersion: GROUP,
    kind: 'AzureIdentity',
    metadata: { name: 'app-id', namespace: 'default' },
    spec: { type: 0, resourceID: identity.id, clientID: identity.clientId },
  });
  sandbox.kubernetes.store.put({
    apiVersion: GROUP,
    kind: 'AzureIdentityBinding',
    metadata: { name: 'app-binding', namespace: 'default' },
    spec: { azureIdentity: 'app-id', selector: 'app' },
  });
  controller = createNodePoolController({
    kubeConfig: sandbox.kubeConfig,
    credential,
    armEndpoint: sandbox.endpoints.arm,
    armClientOptions: sandbox.azureClientOptions,
    scaleSets: ['canary'],
    namespace: 'default',
  });
  await controller.start();
});
afterAll(async () => {
  await controller.stop();
  await sandbox.stop();
});

function records(): { pod: string; state: string | undefined }[] {
  return (
    sandbox.kubernetes.store.list({ apiVersion: GROUP, kind: 'AzureAssignedIdentity' }) as {
      spec: { pod: string };
      status?: { status: string };
    }[]
  ).map((record) => ({ pod: record.spec.pod, state: record.status?.status }));
}
function identitiesOn(node: SandboxNode): string[] {
  return (sandbox.arm.getIdentityAssignment(node.identityTargetId)?.userAssigned ?? []).map((u) =>
    u.resourceId.toLowerCase(),
  );
}

describe('the node-pool controller', () => {
  it(
    'assigns identities to pods on the chosen pool only, from watch events',
    { timeout: 30_000 },
    async () => {
      for (const [name, node] of [
        ['web-canary', canary],
        ['web-main', main],
      ] as const) {
        sandbox.createPod({ name, nodeName: node.name, labels: { aadpodidbinding: 'app' } });
      }
      await expect
        .poll(records, { timeout: 20_000 })
        .toEqual([{ pod: 'web-canary', state: 'Assigned' }]);
      await controller.settled();
      expect(identitiesOn(canary)).toEqual([identityId]);
      expect(identitiesOn(main)).toEqual([]);
    },
  );

  it('takes off the identity it added once its pod is gone', { timeout: 30_000 }, async () => {
    sandbox.deletePod('web-canary');
    await expect.poll(records, { timeout: 20_000 }).toEqual([]);
    await controller.settled();
    expect(identitiesOn(canary)).toEqual([]);
    expect(identitiesOn(main)).toEqual([]);
  });
});
