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
  await sandbox.addPodIdentity(
    'my-app',
    'my-pod-identity',
    identity.id,
    '--binding-selector',
    'demo',
  );
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
        federated: false,
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
        lastError: null,
      },
    ]);
    expect(e.nmi[0]).toMatchObject({
      request: 'no identity named',
      status: 503,
      answer: 'not yet (waiting for MIC: identity assigned)',
    });
    expect(e.nmi[0]?.reason).toMatch(/^not-assigned: /);
    expect(e.verdict).toMatchObject({ resolves: 'waiting' });
  });

  it('shows MIC`s last assignment error for a record that stays Created, not just "waiting"', async () => {
    putPod('demo', { aadpodidbinding: 'demo' });
    putAssignment('demo', 'Created');
    sandbox.kube.store.put({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'demo-mic-error', namespace: 'default' },
      involvedObject: {
        apiVersion: GROUP,
        kind: 'AzureAssignedIdentity',
        namespace: 'default',
        name: 'demo-my-app-my-pod-identity',
      },
      reason: 'binding apply error',
      type: 'Warning',
      message:
        'failed to apply binding my-app/my-pod-identity-binding node node for pod my-app/demo, error: FailedIdentityOperation: identity not found',
      lastTimestamp: new Date().toISOString(),
    });
    const e = await explain('demo', '-n', 'my-app', '--skip-azure');
    expect(e.assignedIdentities[0]?.lastError).toContain('FailedIdentityOperation');
    expect(e.verdict.resolves).toBe('no');
    expect(e.verdict.why).toContain('MIC could not assign my-app/my-pod-identity');
    const table = await sandbox.run('explain', 'demo', '-n', 'my-app', '--skip-azure');
    expect(table.stdout).toContain(
      "MIC's last error for demo-my-app-my-pod-identity: failed to apply binding",
    );
  });

  it('says "will not resolve" and what to fix for a label no binding selects, and for a missing identity', async () => {
    putPod('stray', { aadpodidbinding: 'nobody' });
    const stray = await explain('stray', '-n', 'my-app', '--skip-azure');
    expect(stray.verdict).toEqual({
      resolves: 'no',
      why: 'will not resolve: no AzureIdentityBinding selects aadpodidbinding=nobody',
      fix: 'create an AzureIdentityBinding with selector nobody, or relabel the pod (selectors of existing bindings: demo)',
    });
    expect(stray.nmi[0]).toMatchObject({ status: 400, answer: 'refused (final)' });
    sandbox.kube.store.put({
      apiVersion: GROUP,
      kind: 'AzureIdentityBinding',
      metadata: { name: 'orphan', namespace: 'my-app' },
      spec: { azureIdentity: 'gone', selector: 'orphan' },
    });
    putPod('orphaned', { aadpodidbinding: 'orphan' });
    const orphaned = await explain('orphaned', '-n', 'my-app', '--skip-azure');
    expect(orphaned.verdict.resolves).toBe('no');
    expect(orphaned.verdict.why).toContain(
      'the AzureIdentity its binding names does not exist (my-app/gone)',
    );
    expect(orphaned.verdict.fix).toContain('create the AzureIdentity my-app/gone');
    const table = await sandbox.run('explain', 'stray', '-n', 'my-app', '--skip-azure');
    expect(table.stdout).toContain('Verdict:    will not resolve: no AzureIdentityBinding selects');
    expect(table.stdout).toContain(
      'Fix:        create an AzureIdentityBinding with selector nobody',
    );
  });

  it('shows a pod that gets a token once the identity is assigned and on the scale set', async () => {
    // The identity is put on the scale set in managed mode, then the pod explained in standard mode.
    expect((await sandbox.run('enable', '--mode', 'managed', '--switch-mode')).code).toBe(0);
    putPod('demo', { aadpodidbinding: 'demo' });
    putAssignment('demo', 'Assigned');
    await sandbox.addPodIdentity('other', 'put-on-vmss', identity.id, '--mode', 'managed');
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
        status: 400,
        answer: 'refused (final)',
        reason:
          'no-identity: no azure identity is bound to pod my-app/plain: it has no aadpodidbinding label',
      },
    ]);
    expect(plain.verdict).toEqual({
      resolves: 'no',
      why: 'will not resolve: the pod has no aadpodidbinding label',
      fix: 'label the pod aadpodidbinding=<selector of an AzureIdentityBinding> (selectors of existing bindings: demo)',
    });
  });

  it('shows an identity annotated federated as served by federation as the pod`s service account, with no record, and list marks it', async () => {
    const stored = sandbox.kube.store.get({
      apiVersion: GROUP,
      kind: 'AzureIdentity',
      namespace: 'my-app',
      name: 'my-pod-identity',
    })!;
    sandbox.kube.store.put({
      ...stored,
      metadata: {
        ...(stored.metadata as object),
        annotations: { 'aadpodidentity.k8s.io/federated': 'true' },
      },
    });
    putPod('demo', { aadpodidbinding: 'demo' });
    const e = await explain('demo', '-n', 'my-app');
    expect(e.assignedIdentities).toEqual([]);
    expect(e.identities[0]).toMatchObject({ federated: true, onNodeScaleSet: 'n/a (federated)' });
    expect(e.nmi.map((n) => [n.status, n.answer])).toEqual([
      [
        200,
        'token for my-app/my-pod-identity by federation as system:serviceaccount:my-app:default',
      ],
      [
        200,
        'token for my-app/my-pod-identity by federation as system:serviceaccount:my-app:default',
      ],
    ]);
    expect(e.verdict).toMatchObject({ resolves: 'yes' });
    const table = await sandbox.run('explain', 'demo', '-n', 'my-app', '--skip-azure');
    expect(table.stdout).toMatch(/my-pod-identity\s+\S+\s+federation\s+n\/a \(federated\)/);
    expect((await sandbox.run('list', '-n', 'my-app')).stdout).toContain(
      'UserAssignedMSI (federated)',
    );
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
    expect(e.exception).toEqual({
      name: 'legacy',
      podLabels: 'app=legacy',
      matchedLabels: 'app=legacy',
    });
    expect(e.exceptionRule).toEqual({
      rule: 'any',
      otherRule: { rule: 'all', exception: 'legacy' },
    });
    expect(e.nmi[0]).toEqual({
      request: 'no identity named',
      status: null,
      answer: "passed to the node's IMDS unchanged",
      reason: 'exception legacy',
    });
    expect(e.verdict.resolves).toBe('exception');
    expect(e.verdict.why).toContain('will not resolve through pod identity: exception legacy');
    expect(e.verdict.fix).toContain('remove its labels app=legacy');
  });

  it('says in one line, with a --skip-azure hint, that ARM was not checked without an Azure login', async () => {
    putPod('demo', { aadpodidbinding: 'demo' });
    putAssignment('demo', 'Assigned');
    const result = await sandbox.runWithoutAzureLogin('explain', 'demo', '-n', 'my-app');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Note: Azure: the node's scale set was not checked: no Azure login (az login, or AZURE_* variables); pass --skip-azure to skip this check",
    );
    expect(result.stdout).toMatch(/my-pod-identity\s+\S+\s+assignment\s+unknown: no Azure login\n/);
    // Not the credential chain's report.
    expect(result.stdout).not.toContain('DefaultAzureCredential');
    expect(result.stdout).not.toContain('ChainedTokenCredential');
  });

  it('refuses a pod that does not exist', async () => {
    const result = await sandbox.run('explain', 'ghost', '-n', 'my-app');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: pod my-app/ghost not found');
  });
});
