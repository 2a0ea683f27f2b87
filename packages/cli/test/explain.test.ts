import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PodExplanation } from '@pod-identity/cli';
import {
  startCliSandbox,
  NODE_GROUP,
  SCALE_SET,
  SUBSCRIPTION,
  type CliSandbox,
} from './cli-sandbox.js';

const GROUP = 'aadpodidentity.k8s.io/v1';
let sandbox: CliSandbox;
let identity: { id: string; clientId: string };
const scaleSetId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${NODE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET}`;

beforeEach(async () => {
  sandbox = await startCliSandbox();
  expect((await sandbox.run('enable')).code).toBe(0);
  identity = sandbox.createIdentity('my-identity');
  expect(
    (
      await sandbox.run(
        'add',
        '-n',
        'my-app',
        '--name',
        'my-pod-identity',
        '--identity-resource-id',
        identity.id,
        '--binding-selector',
        'demo',
      )
    ).code,
  ).toBe(0);
});
afterEach(async () => {
  await sandbox.close();
});

function putPod(name: string, labels: Record<string, string>, phase = 'Running'): void {
  const node = sandbox.kube.store.list({ apiVersion: 'v1', kind: 'Node' })[0]!;
  sandbox.kube.store.put({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'my-app', labels },
    spec: {
      nodeName: (node.metadata as { name: string }).name,
      containers: [{ name: 'app', image: 'demo' }],
    },
    status: { phase, podIP: '127.0.10.5' },
  });
}

function putAssignment(pod: string, state: string): void {
  const stored = (kind: string, name: string) =>
    sandbox.kube.store.get({ apiVersion: GROUP, kind, namespace: 'my-app', name })!;
  sandbox.kube.store.put({
    apiVersion: GROUP,
    kind: 'AzureAssignedIdentity',
    metadata: { name: `${pod}-my-app-my-pod-identity`, namespace: 'default' },
    spec: {
      azureIdentityRef: stored('AzureIdentity', 'my-pod-identity'),
      azureBindingRef: stored('AzureIdentityBinding', 'my-pod-identity-binding'),
      pod,
      podNamespace: 'my-app',
      nodename: 'node',
    },
    status: { status: state, availableReplicas: 1 },
  });
}

async function explain(...args: string[]): Promise<PodExplanation> {
  const result = await sandbox.run('explain', ...args, '-o', 'json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as PodExplanation;
}

describe('pod-identity explain', () => {
  it('shows a pod whose identity MIC has recorded but not yet assigned', async () => {
    putPod('demo', { aadpodidbinding: 'demo' });
    putAssignment('demo', 'Created');
    const e = await explain('demo', '-n', 'my-app');
    expect(e.pod).toMatchObject({
      namespace: 'my-app',
      name: 'demo',
      phase: 'Running',
      podIP: '127.0.10.5',
      selector: 'demo',
    });
    expect(e.mode).toBe('standard');
    expect(e.bindings).toEqual([
      {
        namespace: 'my-app',
        name: 'my-pod-identity-binding',
        azureIdentity: 'my-pod-identity',
        selector: 'demo',
        identityExists: true,
      },
    ]);
    expect(e.identities).toEqual([
      {
        namespace: 'my-app',
        name: 'my-pod-identity',
        clientId: identity.clientId,
        resourceId: identity.id,
        onNodeScaleSet: `no (${SCALE_SET})`,
      },
    ]);
    expect(e.assignedIdentities).toEqual([
      {
        namespace: 'default',
        name: 'demo-my-app-my-pod-identity',
        identity: 'my-app/my-pod-identity',
        state: 'Created',
        node: 'node',
      },
    ]);
    expect(e.nmi[0]).toMatchObject({
      request: 'no identity named',
      status: 404,
      answer: 'not yet (waiting for MIC: identity assigned)',
    });
    expect(e.nmi[0]?.reason).toMatch(/^not-assigned: /);
  });

  it('shows a pod that gets a token once the identity is assigned and on the scale set', async () => {
    // The identity is put on the scale set in managed mode, then the pod explained in standard mode.
    expect((await sandbox.run('enable', '--mode', 'managed', '--switch-mode')).code).toBe(0);
    putPod('demo', { aadpodidbinding: 'demo' });
    putAssignment('demo', 'Assigned');
    expect(
      (
        await sandbox.run(
          'add',
          '-n',
          'other',
          '--name',
          'put-on-vmss',
          '--identity-resource-id',
          identity.id,
          '--mode',
          'managed',
        )
      ).code,
    ).toBe(0);
    expect(sandbox.arm.getIdentityAssignment(scaleSetId)?.userAssigned).toHaveLength(1);
    expect((await sandbox.run('enable', '--mode', 'standard', '--switch-mode')).code).toBe(0);
    const e = await explain('demo', '-n', 'my-app');
    expect(e.identities[0]?.onNodeScaleSet).toBe(`yes (${SCALE_SET})`);
    expect(e.nmi).toEqual([
      {
        request: 'no identity named',
        status: 200,
        answer: 'token for my-app/my-pod-identity',
        reason: null,
      },
      {
        request: `client_id=${identity.clientId}`,
        status: 200,
        answer: 'token for my-app/my-pod-identity',
        reason: null,
      },
    ]);
    const table = await sandbox.run('explain', 'demo', '-n', 'my-app');
    expect(table.stdout).toContain('Pod:        my-app/demo (Running)');
    expect(table.stdout).toContain('Selector:   aadpodidbinding=demo');
    expect(table.stdout).toMatch(
      /NMI would answer:\n\s+REQUEST\s+STATUS\s+ANSWER\s+REASON\n\s+no identity named\s+200\s+token for my-app\/my-pod-identity/,
    );
  });

  it('decides from bindings in managed mode, and says why a pod without the label gets nothing', async () => {
    // beforeEach recorded standard mode; commands follow the record, so switch it first.
    expect((await sandbox.run('enable', '--mode', 'managed', '--switch-mode')).code).toBe(0);
    putPod('labelled', { aadpodidbinding: 'demo' });
    putPod('plain', { app: 'x' });
    const labelled = await explain('labelled', '-n', 'my-app', '--mode', 'managed', '--skip-azure');
    expect(labelled.assignedIdentities).toEqual([]);
    expect(labelled.identities[0]?.onNodeScaleSet).toBe('not checked (--skip-azure)');
    expect(labelled.nmi[0]?.answer).toBe('token for my-app/my-pod-identity');
    const plain = await explain('plain', '-n', 'my-app', '--mode', 'managed');
    expect(plain.pod.selector).toBeNull();
    expect(plain.bindings).toEqual([]);
    expect(plain.nmi).toEqual([
      {
        request: 'no identity named',
        status: 404,
        answer: 'refused',
        reason:
          'no-identity: no azure identity is bound to pod my-app/plain: it has no aadpodidbinding label',
      },
    ]);
  });

  it('names the exception that lets a pod reach IMDS directly', async () => {
    expect(
      (
        await sandbox.run(
          'exception',
          'add',
          '-n',
          'my-app',
          '--name',
          'legacy',
          '--pod-labels',
          'app=legacy',
        )
      ).code,
    ).toBe(0);
    putPod('old', { app: 'legacy', aadpodidbinding: 'demo' });
    const e = await explain('old', '-n', 'my-app');
    expect(e.exception).toEqual({ name: 'legacy', podLabels: 'app=legacy' });
    expect(e.nmi[0]).toEqual({
      request: 'no identity named',
      status: null,
      answer: "passed to the node's IMDS unchanged",
      reason: 'exception legacy',
    });
  });

  it('refuses a pod that does not exist', async () => {
    const result = await sandbox.run('explain', 'ghost', '-n', 'my-app');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: pod my-app/ghost not found');
  });
});
