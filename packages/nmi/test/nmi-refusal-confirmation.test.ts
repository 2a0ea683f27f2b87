// NMI confirms a permanent refusal against the API server before it sends it: its informers may
// deliver a pod before the binding that selects it, before the identity a binding names, or before
// the pod's new label, and the SDKs take a 400 as final. A proxy in front of the Kubernetes emulator
// holds back one resource's watch events (an informer that delivers late) and counts NMI's reads.
import { createManualClock } from '@pod-identity/core';
import { FRESH_VIEW_READS, createNmi, type Nmi } from '@pod-identity/nmi';
import { startSandbox, type Sandbox, type SandboxNode } from '@pod-identity/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeHoldingProxy, type KubeHoldingProxy } from './kube-holding-proxy.js';
import {
  accessTokenOf,
  assignToScaleSet,
  azureIdentity,
  azureIdentityBinding,
  claimsOf,
  podIpOf,
  tokenRequest,
  until,
} from './nmi-test-support.js';

const NS = 'race';
const BURST = 4;
let sandbox: Sandbox;
let node: SandboxNode;
let proxy: KubeHoldingProxy;
let nmi: Nmi;
let clientId = '';
let resourceId = '';
// The confirmation budget's clock: it moves only when a test moves it, so the number of reads a
// flood may make does not depend on how fast this machine is.
const clock = createManualClock(1_000_000);

const ask = (pod: string) =>
  tokenRequest(nmi.url, podIpOf(sandbox, pod, NS), 'resource=https://management.azure.com/');
const knowsPod = (pod: string) => nmi.state.pods.lookup(podIpOf(sandbox, pod, NS)).kind === 'pod';
// A running pod of the namespace on the node, labelled with a selector (created or relabelled).
const putPod = (name: string, selector: string) =>
  sandbox.createPod({
    namespace: NS,
    name,
    nodeName: node.name,
    labels: { aadpodidbinding: selector },
  });
const identity = (name: string) =>
  azureIdentity(NS, name, { type: 0, resourceID: resourceId, clientID: clientId });

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1, identities: ['race-id'] });
  node = sandbox.nodes[0]!;
  const id = sandbox.identities.get('race-id')!;
  clientId = id.clientId;
  resourceId = id.id;
  await assignToScaleSet(sandbox, node.scaleSetName!, [id.id]);
  sandbox.kubernetes.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  sandbox.kubernetes.store.put(identity('uami'));
  proxy = await startKubeHoldingProxy(sandbox.kubeConfig);
  nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: proxy.connection,
    operationMode: 'managed',
    forceNamespaced: true,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    credentialOptions: sandbox.credentialOptions,
    refusalConfirmation: { burst: BURST, perSecond: 1, clock },
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await nmi.close();
  await proxy.close();
  await sandbox.stop();
});

describe('NMI confirms a final refusal with the API server', () => {
  it('tells a pod seen before the binding that selects it to retry, then serves it', async () => {
    proxy.hold('azureidentitybindings');
    sandbox.kubernetes.store.put(azureIdentityBinding(NS, 'uami-binding', 'uami', 'web'));
    putPod('web', 'web');
    await until(() => knowsPod('web'));
    expect(nmi.state.view.bindings(NS)).toHaveLength(0);

    const first = await ask('web');
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    expect(JSON.parse(first.body)).toMatchObject({ error: 'temporarily_unavailable' });

    proxy.release();
    await until(() => nmi.state.view.bindings(NS).some((b) => b.metadata.name === 'uami-binding'));
    const second = await ask('web');
    expect(second.status).toBe(200);
    expect(claimsOf(accessTokenOf(second)).appid).toBe(clientId);
  });

  it('holds a pod whose binding the cache delivers meanwhile, and serves it on that request', async () => {
    await clock.advance(60_000);
    proxy.hold('azureidentitybindings');
    sandbox.kubernetes.store.put(azureIdentityBinding(NS, 'held-binding', 'uami', 'held'));
    putPod('held', 'held');
    await until(() => knowsPod('held'));
    const reads = proxy.reads.length;
    const answer = ask('held');
    // NMI has read the API server to confirm its refusal: now the watch delivers the binding.
    await until(() => proxy.reads.length >= reads + FRESH_VIEW_READS);
    proxy.release();
    const served = await answer;
    expect(served.status).toBe(200);
    expect(claimsOf(accessTokenOf(served)).appid).toBe(clientId);
  });

  it('refuses a pod no binding selects finally on the first answer', async () => {
    await clock.advance(60_000);
    putPod('lonely', 'nobody');
    await until(() => knowsPod('lonely'));
    const answer = await ask('lonely');
    expect(answer.status).toBe(400);
    expect(answer.headers['retry-after']).toBeUndefined();
    const body = JSON.parse(answer.body) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toContain('no AzureIdentityBinding in its namespace selects');
  });

  it('tells a pod whose binding names an identity not delivered yet to retry', async () => {
    await clock.advance(60_000);
    proxy.hold('azureidentities');
    sandbox.kubernetes.store.put(identity('late'));
    sandbox.kubernetes.store.put(azureIdentityBinding(NS, 'late-binding', 'late', 'late'));
    putPod('late', 'late');
    await until(
      () =>
        knowsPod('late') &&
        nmi.state.view.bindings(NS).some((b) => b.metadata.name === 'late-binding'),
    );
    expect(nmi.state.view.identities(NS).map((i) => i.metadata.name)).toEqual(['uami']);

    expect((await ask('late')).status).toBe(503);
    proxy.release();
    await until(() => nmi.state.view.identities(NS).length === 2);
    expect((await ask('late')).status).toBe(200);
  });

  it('tells a pod relabelled onto a binding, before NMI saw the label, to retry', async () => {
    await clock.advance(60_000);
    putPod('moved', 'nobody');
    await until(() => knowsPod('moved'));
    proxy.hold('pods');
    putPod('moved', 'web');

    expect((await ask('moved')).status).toBe(503);
    proxy.release();
    await until(() => nmi.state.pods.get(NS, 'moved')?.labels.aadpodidbinding === 'web');
    expect((await ask('moved')).status).toBe(200);
  });

  it('reads the API server a bounded number of times however many refusals are asked for', async () => {
    await clock.advance(60_000); // a full budget
    const before = proxy.reads.length;
    const concurrent = await Promise.all(Array.from({ length: 40 }, () => ask('lonely')));
    const sequential = [];
    for (let i = 0; i < 20; i += 1) sequential.push(await ask('lonely'));
    const answers = [...concurrent, ...sequential];

    // Never a token; each answer final (confirmed) or a retry (unconfirmed, over budget).
    expect(answers.every((a) => a.status === 400 || a.status === 503)).toBe(true);
    expect(answers.filter((a) => a.status === 400).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    // The clock stood still: at most the burst of confirmations, each FRESH_VIEW_READS GETs.
    expect(proxy.reads.length - before).toBeLessThanOrEqual(BURST * FRESH_VIEW_READS);
  });
});
