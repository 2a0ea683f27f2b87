import { ComputeManagementClient } from '@azure/arm-compute';
import { ClientSecretCredential } from '@azure/identity';
import { CoreV1Api, CustomObjectsApi, Watch, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION } from '@pod-identity/core';
import { decodeToken, startSandbox, verifyToken } from '@pod-identity/testkit';
import type { Sandbox } from '@pod-identity/testkit';

describe('startSandbox', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({
      nodeCount: 3,
      scaleSetCount: 2,
      virtualMachines: [{ name: 'standalone-vm-0' }],
      identities: ['frontend', 'backend'],
      verifyArmTokens: true,
    });
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  it('shares the slow parts (CA, RSA signing key) across sandboxes of a process, so later starts are cheap', async () => {
    const second = await startSandbox({ nodeCount: 1, installCrds: false, kubernetesHttps: true });
    try {
      expect(second.certificateAuthority).toBe(sandbox.certificateAuthority);
      expect(second.tokenIssuer).toBe(sandbox.tokenIssuer);
      // Separate clusters all the same: own servers, own state.
      expect(second.endpoints.arm).not.toBe(sandbox.endpoints.arm);
      expect(second.arm.getIdentityAssignment(sandbox.nodes[0]!.resourceId)).toBeUndefined();
      // Its Kubernetes API is https, trusted through the kubeconfig's CA.
      expect(second.endpoints.kubernetes).toMatch(/^https:/);
      const nodes = await second.kubeConfig.makeApiClient(CoreV1Api).listNode();
      expect(nodes.items.map((node) => node.metadata?.name)).toEqual([second.nodes[0]!.name]);
    } finally {
      await second.stop();
    }
  });

  it('registers one Node per machine, with providerIDs pointing at the emulated instances', async () => {
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const nodes = (await core.listNode()).items;
    expect(nodes.map((node) => node.metadata?.name).sort()).toEqual(
      sandbox.nodes.map((node) => node.name).sort(),
    );
    expect(sandbox.nodes.map((node) => node.scaleSetName)).toEqual([
      'aks-nodepool1-12345678-vmss',
      'aks-nodepool1-12345678-vmss',
      'aks-nodepool2-12345678-vmss',
      undefined,
    ]);
    const first = sandbox.nodes[0]!;
    const node = nodes.find((candidate) => candidate.metadata?.name === first.name);
    expect(node?.spec?.providerID).toBe(
      `azure:///subscriptions/${sandbox.subscriptionId}/resourceGroups/${sandbox.nodeResourceGroup.toLowerCase()}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0`,
    );
    expect(node?.status?.addresses).toContainEqual({
      type: 'InternalIP',
      address: first.internalIp,
    });
    expect(first.name).toBe('aks-nodepool1-12345678-vmss000000');
    const vmNode = sandbox.node('standalone-vm-0');
    expect(vmNode.kind).toBe('vm');
    expect(vmNode.identityTargetId).toBe(vmNode.resourceId);
  });

  it('serves the four pod-identity CRDs', async () => {
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const plural of [
      'azureidentities',
      'azureidentitybindings',
      'azureassignedidentities',
      'azurepodidentityexceptions',
    ]) {
      const list = (await custom.listClusterCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural,
      })) as { items: unknown[] };
      expect(list.items, plural).toEqual([]);
    }
  });

  it('creates running pods with addresses from their node range, and frees them on delete', async () => {
    const node = sandbox.nodes[1]!;
    const pod = sandbox.createPod({
      name: 'demo',
      nodeName: node.name,
      labels: { aadpodidbinding: 'frontend' },
    });
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const read = await core.readNamespacedPod({ name: 'demo', namespace: 'default' });
    expect(read.status?.podIP).toBe(node.podAddressRange.first);
    expect(read.status?.phase).toBe('Running');
    expect(read.spec?.nodeName).toBe(node.name);
    expect((pod.status as { podIP: string }).podIP).toBe(node.podAddressRange.first);
    const second = sandbox.createPod({ name: 'demo-2', nodeName: node.name });
    expect((second.status as { podIP: string }).podIP).toBe('127.3.2.3');
    expect(sandbox.deletePod('demo')).toBe(true);
    const reused = sandbox.createPod({ name: 'demo-3', nodeName: node.name });
    expect((reused.status as { podIP: string }).podIP).toBe(node.podAddressRange.first);
    expect(() => sandbox.createPod({ name: 'x', nodeName: 'no-such-node' })).toThrow(RangeError);
  });

  it('deletes a pod as a node does: marked terminating (MODIFIED), then removed (DELETED)', async () => {
    const node = sandbox.nodes[0]!;
    sandbox.createPod({ name: 'leaving', namespace: 'kube-public', nodeName: node.name });
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: 'kube-public' });
    const seen: string[] = [];
    let onDeleted: () => void = () => undefined;
    let onError: (err: unknown) => void = () => undefined;
    const deleted = new Promise<undefined>((resolve, reject) => {
      onDeleted = () => {
        resolve(undefined);
      };
      onError = (err) => {
        reject(err instanceof Error ? err : new Error(String(err)));
      };
    });
    const controller = await new Watch(sandbox.kubeConfig).watch(
      '/api/v1/namespaces/kube-public/pods',
      { resourceVersion: list.metadata?.resourceVersion },
      (type: string, pod: V1Pod) => {
        const marked = pod.metadata?.deletionTimestamp === undefined ? '' : ' terminating';
        seen.push(`${type}:${pod.metadata?.name ?? ''}${marked}`);
        if (type === 'DELETED') onDeleted();
      },
      onError,
    );
    try {
      expect(sandbox.deletePod('leaving', 'kube-public')).toBe(true);
      await deleted;
    } finally {
      controller.abort();
    }
    // The graceful delete's mark (grace 30), the kubelet's grace-0 mark, then the removal.
    expect(seen).toEqual([
      'MODIFIED:leaving terminating',
      'MODIFIED:leaving terminating',
      'DELETED:leaving terminating',
    ]);
    expect(sandbox.deletePod('leaving', 'kube-public')).toBe(false);
  });

  it('lets a new pod reuse the address of a finished pod, never that of a live one', async () => {
    const node = sandbox.nodes[0]!;
    const old = sandbox.createPod({ name: 'job', nodeName: node.name });
    const address = (old.status as { podIP: string }).podIP;
    expect(() => sandbox.createPod({ name: 'thief', nodeName: node.name, podIp: address })).toThrow(
      /in use/,
    );
    sandbox.setPodPhase('job', 'Succeeded');
    sandbox.createPod({ name: 'successor', nodeName: node.name, podIp: address });
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const holders = (
      await core.listNamespacedPod({
        namespace: 'default',
        fieldSelector: `status.podIP=${address}`,
      })
    ).items;
    expect(holders.map((pod) => [pod.metadata?.name, pod.status?.phase]).sort()).toEqual([
      ['job', 'Succeeded'],
      ['successor', 'Running'],
    ]);
  });

  it('lets MIC-style clients reach ARM with the cluster service principal, and each node its own IMDS', async () => {
    const { tenantId, clientId, clientSecret } = sandbox.clusterServicePrincipal;
    const credential = new ClientSecretCredential(
      tenantId,
      clientId,
      clientSecret,
      sandbox.credentialOptions,
    );
    const compute = new ComputeManagementClient(credential, sandbox.subscriptionId, {
      endpoint: sandbox.endpoints.arm,
      ...sandbox.azureClientOptions,
    });
    const node = sandbox.nodes[2]!;
    const frontend = sandbox.identities.get('frontend')!;
    await compute.virtualMachineScaleSets.update(
      sandbox.nodeResourceGroup,
      node.scaleSetName!,
      { identity: { type: 'UserAssigned', userAssignedIdentities: { [frontend.id]: {} } } },
      { updateIntervalInMs: 5 },
    );
    const response = await fetch(
      `${node.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net&client_id=${frontend.clientId}`,
      { headers: { Metadata: 'true' } },
    );
    const body = (await response.json()) as { access_token: string };
    expect(verifyToken(body.access_token, sandbox.tokenIssuer).xms_mirid).toBe(frontend.id);
    // A node of the other scale set does not have the identity.
    const other = await fetch(
      `${sandbox.nodes[0]!.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net&client_id=${frontend.clientId}`,
      { headers: { Metadata: 'true' } },
    );
    expect(other.status).toBe(400);
    expect(decodeToken(body.access_token).claims.tid).toBe(sandbox.tenantId);
  });

  it('stops cleanly: nothing answers afterwards and stop can be called twice', async () => {
    const listeners = () =>
      process.getActiveResourcesInfo().filter((resource) => resource === 'TCPServerWrap').length;
    const before = listeners();
    const own = await startSandbox({ nodeCount: 2, virtualMachines: [{ name: 'vm-a' }] });
    // Kubernetes, ARM, Entra and one IMDS per node.
    expect(listeners()).toBe(before + 6);
    const imdsUrl = own.nodes[0]!.imdsUrl;
    await own.stop();
    await own.stop();
    // libuv releases a closed handle in the close phase, which follows the check phase of setImmediate:
    // two immediates span one full loop turn.
    for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(listeners()).toBe(before);
    await expect(
      fetch(`${imdsUrl}/metadata/instance?api-version=2021-02-01`, {
        headers: { Metadata: 'true' },
      }),
    ).rejects.toThrow();
  });
});
