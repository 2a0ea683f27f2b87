import { KubeConfig } from '@kubernetes/client-node';
import { createNmi, type Nmi } from '@pod-identity/nmi';
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
  podIpOf,
  until,
} from './nmi-test-support.js';

// Federated mode beside standard mode on one node: pods labelled azure.workload.identity/use get the
// identity their service account names by exchanging a pod-bound service-account token at Entra
// (the sandbox's Kubernetes emulator enforces the Node authorizer and NodeRestriction).
let sandbox: Sandbox;
let node: SandboxNode;
let other: SandboxNode;
let nmi: Nmi;
const RESOURCE = 'resource=https://vault.azure.net';

const podIp = (name: string): string => podIpOf(sandbox, name);

function serviceAccount(name: string, clientId?: string): void {
  sandbox.kubernetes.store.put({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      namespace: 'default',
      name,
      ...(clientId === undefined
        ? {}
        : { annotations: { 'azure.workload.identity/client-id': clientId } }),
    },
  });
}

function federatedPod(name: string, serviceAccountName: string, onNode: SandboxNode = node): void {
  sandbox.createPod({
    name,
    nodeName: onNode.name,
    serviceAccountName,
    labels: { 'azure.workload.identity/use': 'true' },
  });
}

function startNmi(
  tokenRequestKubeconfigYaml: string,
  options: { upstreamRetryAfterSeconds?: number } = {},
): Promise<Nmi> {
  const tokenRequestKubeConfig = new KubeConfig();
  tokenRequestKubeConfig.loadFromString(tokenRequestKubeconfigYaml);
  return createNmi({
    nodeName: node.name,
    kubeConfig: sandbox.kubeConfig,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    credentialOptions: sandbox.credentialOptions,
    logger: pino({ level: 'silent' }),
    ...options,
    federated: {
      tokenRequestKubeConfig,
      defaultTenantId: sandbox.tenantId,
      authorityHost: sandbox.endpoints.entra,
    },
  });
}

beforeAll(async () => {
  sandbox = await startSandbox({
    nodeCount: 2,
    identities: ['workload-id', 'standard-id', 'audience-id', 'bound-id'],
    federated: true,
  });
  [node, other] = sandbox.nodes as [SandboxNode, SandboxNode];
  const workload = sandbox.identities.get('workload-id')!;
  const audience = sandbox.identities.get('audience-id')!;

  serviceAccount('workload', workload.clientId);
  serviceAccount('plain');
  // Annotated with the identity, but no federated credential names this service account.
  serviceAccount('stranger', workload.clientId);
  serviceAccount('audience', audience.clientId);
  sandbox.addFederatedCredential('workload-id', {
    name: 'default-workload',
    subject: 'system:serviceaccount:default:workload',
  });
  sandbox.addFederatedCredential('audience-id', {
    name: 'wrong-audience',
    subject: 'system:serviceaccount:default:audience',
    audiences: ['api://SomethingElse'],
  });

  federatedPod('app', 'workload');
  federatedPod('app-twin', 'workload');
  federatedPod('unannotated', 'plain');
  federatedPod('stranger', 'stranger');
  federatedPod('audience', 'audience');
  federatedPod('remote', 'workload', other);

  // A standard-mode pod on the same node: MIC's record and the scale set's identity.
  const standard = sandbox.identities.get('standard-id')!;
  await assignToScaleSet(sandbox, node.scaleSetName!, [standard.id]);
  const standardIdentity = azureIdentity('default', 'standard', {
    type: 0,
    resourceID: standard.id,
    clientID: standard.clientId,
  });
  sandbox.kubernetes.store.put(standardIdentity);
  sandbox.kubernetes.store.put(
    azureIdentityBinding('default', 'standard-binding', 'standard', 'standard'),
  );
  sandbox.createPod({
    name: 'classic',
    nodeName: node.name,
    labels: { aadpodidbinding: 'standard' },
  });
  putAssigned(
    sandbox.kubernetes.store,
    azureAssignedIdentity(
      { name: 'classic', namespace: 'default', selector: 'standard' },
      standardIdentity,
      node.name,
      'Assigned',
    ),
  );

  // Federation chosen by the AzureIdentity (annotation aadpodidentity.k8s.io/federated): a pod its
  // binding selects, whose service account carries no workload-identity annotation and which has no
  // azure.workload.identity/use label, and no MIC record.
  const bound = sandbox.identities.get('bound-id')!;
  sandbox.kubernetes.store.put(
    azureIdentity(
      'default',
      'bound',
      { type: 0, resourceID: bound.id, clientID: bound.clientId },
      { 'aadpodidentity.k8s.io/federated': 'true' },
    ),
  );
  sandbox.kubernetes.store.put(azureIdentityBinding('default', 'bound-binding', 'bound', 'bound'));
  serviceAccount('bound-sa');
  sandbox.addFederatedCredential('bound-id', {
    name: 'default-bound-sa',
    subject: 'system:serviceaccount:default:bound-sa',
  });
  sandbox.createPod({
    name: 'bound-app',
    nodeName: node.name,
    serviceAccountName: 'bound-sa',
    labels: { aadpodidbinding: 'bound' },
  });

  nmi = await startNmi(node.nodeKubeconfigYaml);
  await until(
    () =>
      nmi.state.pods.size === 7 &&
      nmi.state.view.assignedIdentities('default', 'classic').length === 1 &&
      nmi.state.view.identities('default').length === 2,
  );
});

afterAll(async () => {
  await nmi.close();
  await sandbox.stop();
});

describe('NMI, federated mode', () => {
  it('exchanges the pod`s own service-account token for its identity, in IMDS`s shape', async () => {
    const answer = await tokenRequest(nmi.url, podIp('app'), RESOURCE);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    // The same fields, in the same order, as a standard-mode answer.
    const classic = JSON.parse(
      (await tokenRequest(nmi.url, podIp('classic'), RESOURCE)).body,
    ) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(Object.keys(classic));
    for (const key of Object.keys(body)) expect(typeof body[key]).toBe(typeof classic[key]);
    const workload = sandbox.identities.get('workload-id')!;
    expect(body.client_id).toBe(workload.clientId);
    expect(body.resource).toBe('https://vault.azure.net');
    expect(claimsOf(accessTokenOf(answer))).toMatchObject({
      appid: workload.clientId,
      xms_mirid: workload.id,
    });
    // No MIC record, no ARM write: the scale set carries only the standard identity.
    expect(
      sandbox.arm
        .getIdentityAssignment(node.identityTargetId)
        ?.userAssigned.map((i) => i.resourceId.toLowerCase()),
    ).toEqual([sandbox.identities.get('standard-id')!.id.toLowerCase()]);
    expect(sandbox.entra.requestLog().some((r) => r.kind === 'federated' && r.status === 200)).toBe(
      true,
    );
  });

  it('serves a repeat from the cache, and a pod of the same service account from its own entry', async () => {
    const exchanges = (): number =>
      sandbox.entra.requestLog().filter((r) => r.kind === 'federated').length;
    const before = exchanges();
    const again = await tokenRequest(nmi.url, podIp('app'), RESOURCE);
    expect(again.status).toBe(200);
    expect(exchanges()).toBe(before);
    const twin = await tokenRequest(nmi.url, podIp('app-twin'), RESOURCE);
    expect(twin.status).toBe(200);
    expect(accessTokenOf(twin)).not.toBe(accessTokenOf(again));
    expect(exchanges()).toBe(before + 1);
  });

  it('accepts the identity`s client_id and refuses another with 403, never another identity', async () => {
    const workload = sandbox.identities.get('workload-id')!;
    const own = await tokenRequest(
      nmi.url,
      podIp('app'),
      `${RESOURCE}&client_id=${workload.clientId}`,
    );
    expect(own.status).toBe(200);
    const standard = sandbox.identities.get('standard-id')!;
    const foreign = await tokenRequest(
      nmi.url,
      podIp('app'),
      `${RESOURCE}&client_id=${standard.clientId}`,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body).not.toContain('access_token');
    expect(foreign.body).toContain('federated to client_id');
  });

  it('refuses a pod whose service account has no client-id annotation (400, final)', async () => {
    const answer = await tokenRequest(nmi.url, podIp('unannotated'), RESOURCE);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
    expect(answer.body).toContain('has no azure.workload.identity/client-id annotation');
  });

  it('passes Entra`s refusal of a subject no credential names (AADSTS700213, 403)', async () => {
    const answer = await tokenRequest(nmi.url, podIp('stranger'), RESOURCE);
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('AADSTS700213');
  });

  it('passes Entra`s refusal of a credential for another audience (AADSTS700212, 403)', async () => {
    const answer = await tokenRequest(nmi.url, podIp('audience'), RESOURCE);
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('AADSTS700212');
  });

  it('does not serve a pod of another node', async () => {
    const answer = await tokenRequest(nmi.url, podIp('remote'), RESOURCE);
    // Unknown to this node's NMI: retried (a new pod may not have reached its informer yet).
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('no running pod found');
  });

  it('keeps serving a standard-mode pod on the same node from its scale-set identity', async () => {
    const answer = await tokenRequest(nmi.url, podIp('classic'), RESOURCE);
    expect(answer.status).toBe(200);
    expect(claimsOf(accessTokenOf(answer)).appid).toBe(
      sandbox.identities.get('standard-id')!.clientId,
    );
  });

  it('with another node`s credentials, the API server refuses the pod`s token and NMI answers 403', async () => {
    const borrowed = await startNmi(other.nodeKubeconfigYaml);
    try {
      await until(() => borrowed.state.pods.size === 7);
      const answer = await tokenRequest(
        borrowed.url,
        podIp('app'),
        'resource=https://storage.azure.com',
      );
      expect(answer.status).toBe(403);
      // Node B runs a pod of this service account, so the Node authorizer lets it ask; NodeRestriction
      // then refuses a token bound to node A's pod.
      expect(answer.body).toContain(
        'node requested token bound to a pod scheduled on a different node',
      );
    } finally {
      await borrowed.close();
    }
  });

  it('answers Entra being unavailable with 503 and the --upstream-retry-after it was given', async () => {
    const patient = await startNmi(node.nodeKubeconfigYaml, { upstreamRetryAfterSeconds: 7 });
    try {
      await until(() => patient.state.pods.size === nmi.state.pods.size);
      // Enough failures for every retry the credential makes for this one request.
      sandbox.entra.faults.failNext({ status: 503, count: 50 });
      const answer = await tokenRequest(
        patient.url,
        podIp('app'),
        'resource=https://database.windows.net',
      );
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'temporarily_unavailable' });
      expect(answer.headers['retry-after']).toBe('7');
    } finally {
      sandbox.entra.faults.clear();
      await patient.close();
    }
  });

  it('never answers a recreated pod of the same name from the old pod`s token', async () => {
    const first = await tokenRequest(
      nmi.url,
      podIp('app-twin'),
      'resource=https://storage.azure.com',
    );
    expect(first.status).toBe(200);
    sandbox.deletePod('app-twin');
    await until(() => nmi.state.pods.size === 6);
    federatedPod('app-twin', 'workload');
    await until(() => nmi.state.pods.size === 7);
    const second = await tokenRequest(
      nmi.url,
      podIp('app-twin'),
      'resource=https://storage.azure.com',
    );
    expect(second.status).toBe(200);
    expect(accessTokenOf(second)).not.toBe(accessTokenOf(first));
  });

  it('serves a pod by federation when its binding`s AzureIdentity is annotated federated, with no MIC record', async () => {
    const bound = sandbox.identities.get('bound-id')!;
    const answer = await tokenRequest(nmi.url, podIp('bound-app'), RESOURCE);
    expect(answer.status).toBe(200);
    expect(claimsOf(accessTokenOf(answer))).toMatchObject({
      appid: bound.clientId,
      xms_mirid: bound.id,
    });
    expect(nmi.state.view.assignedIdentities('default', 'bound-app')).toEqual([]);
    // By msi_res_id and by client_id too; another identity is refused, at once.
    const byResourceId = await tokenRequest(
      nmi.url,
      podIp('bound-app'),
      `resource=https://storage.azure.com&msi_res_id=${encodeURIComponent(bound.id)}`,
    );
    expect(byResourceId.status).toBe(200);
    expect(claimsOf(accessTokenOf(byResourceId)).appid).toBe(bound.clientId);
    const foreign = await tokenRequest(
      nmi.url,
      podIp('bound-app'),
      `${RESOURCE}&client_id=${sandbox.identities.get('workload-id')!.clientId}`,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body).not.toContain('access_token');
    // No scale set carries it.
    for (const target of [node, other])
      expect(
        (sandbox.arm.getIdentityAssignment(target.identityTargetId)?.userAssigned ?? []).map((i) =>
          i.resourceId.toLowerCase(),
        ),
      ).not.toContain(bound.id.toLowerCase());
  });

  it('without federated mode, refuses a pod given a federated identity at once and says why', async () => {
    const plain = await createNmi({
      nodeName: node.name,
      kubeConfig: sandbox.kubeConfig,
      listenAddress: node.internalIp,
      port: 0,
      metadataIp: node.imds.host,
      metadataPort: node.imds.port,
      credentialOptions: sandbox.credentialOptions,
      logger: pino({ level: 'silent' }),
    });
    try {
      await until(
        () => plain.state.pods.size === 7 && plain.state.view.identities('default').length === 2,
      );
      const answer = await tokenRequest(plain.url, podIp('bound-app'), RESOURCE);
      expect(answer.status).toBe(400);
      expect(answer.body).toContain('without federated mode');
    } finally {
      await plain.close();
    }
  });
});
