// MIC end to end on the testkit sandbox: the original's MIC unit and e2e scenarios that need no real
// Azure, and the quirks fixed on purpose.
import { Registry } from 'prom-client';
import { ArmOperation } from '@pod-identity/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './mic-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function lower(id: string): string {
  return id.toLowerCase();
}

describe('MIC on the sandbox', () => {
  it('assigns a bound pod identity to its scale set, records it Assigned, and removes both when the pod goes', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const id = h.identity('demo-aad1');
    h.binding('demo-binding', 'demo-aad1', 'demo');
    h.startMic();
    h.pod('demo', node.name, 'demo');
    await waitFor(
      () => h!.record('demo-default-demo-aad1')?.status?.status === 'Assigned',
      'Assigned',
    );
    const record = h.record('demo-default-demo-aad1')!;
    expect(record.metadata.labels).toEqual({ nodename: node.name });
    expect(record.metadata.finalizers).toEqual([
      'azureassignedidentity.finalizers.aadpodidentity.k8s.io',
    ]);
    expect(record.spec).toMatchObject({
      pod: 'demo',
      podNamespace: 'default',
      nodename: node.name,
    });
    expect(h.idsOn(node.identityTargetId)).toEqual([lower(id.resourceId)]);
    await waitFor(() => h!.events('binding applied').length > 0, 'binding applied event');
    expect(h.events('binding applied')[0]!.message).toBe(
      `Binding demo-binding applied on node ${node.name} for pod demo-default-demo-aad1`,
    );

    h.sandbox.deletePod('demo');
    await waitFor(() => h!.record('demo-default-demo-aad1') === undefined, 'record deleted');
    await waitFor(() => h!.idsOn(node.identityTargetId).length === 0, 'identity removed');
  });

  it('never removes an identity a user assigned by hand, even after its last pod goes', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const id = h.identity('handmade');
    h.sandbox.arm.faults.clear();
    // The administrator assigned it to the scale set before any pod used it.
    const before = h.sandbox.arm.getIdentityAssignment(node.identityTargetId)!;
    expect(before.userAssigned).toEqual([]);
    const mic = h.startMic();
    await mic.whenActive();
    // Assign by hand through ARM's own shape: a scale-set PATCH outside MIC.
    await h.setScaleSetIdentity(node.scaleSetName!, {
      type: 'UserAssigned',
      userAssignedIdentities: { [id.resourceId]: {} },
    });
    h.binding('b', 'handmade', 'app');
    h.pod('app', node.name, 'app');
    await waitFor(
      () => h!.record('app-default-handmade')?.status?.status === 'Assigned',
      'Assigned',
    );
    h.sandbox.deletePod('app');
    await waitFor(() => h!.record('app-default-handmade') === undefined, 'record deleted');
    await mic.settled();
    expect(h.idsOn(node.identityTargetId)).toEqual([lower(id.resourceId)]);
  });

  it('keeps an identity while another pod with the same name in another namespace still uses it on the scale set', async () => {
    h = await startHarness({ nodeCount: 2, scaleSetCount: 1 });
    const [n0, n1] = [h.sandbox.nodes[0]!, h.sandbox.nodes[1]!];
    const id = h.identity('shared');
    h.binding('b', 'shared', 'web');
    h.startMic();
    h.pod('web', n0.name, 'web', 'team-a');
    h.pod('web', n1.name, 'web', 'team-b');
    await waitFor(
      () => h!.records().filter((r) => r.status?.status === 'Assigned').length === 2,
      'both Assigned',
    );
    h.sandbox.deletePod('web', 'team-a');
    await waitFor(() => h!.record('web-team-a-shared') === undefined, 'team-a record deleted');
    await h.mics[0]!.settled();
    expect(h.idsOn(n0.identityTargetId)).toEqual([lower(id.resourceId)]);
    h.sandbox.deletePod('web', 'team-b');
    await waitFor(
      () => h!.idsOn(n0.identityTargetId).length === 0,
      'identity removed with the last pod',
    );
  });

  it('never removes immutable identities (client ID compared case-insensitively); the record still goes', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const id = h.identity('kubelet');
    h.binding('b', 'kubelet', 'app');
    h.startMic({ immutableUserMsis: [id.clientId.toUpperCase()] });
    h.pod('app', node.name, 'app');
    await waitFor(
      () => h!.record('app-default-kubelet')?.status?.status === 'Assigned',
      'Assigned',
    );
    h.sandbox.deletePod('app');
    await waitFor(() => h!.record('app-default-kubelet') === undefined, 'record deleted');
    await h.mics[0]!.settled();
    expect(h.idsOn(node.identityTargetId)).toEqual([lower(id.resourceId)]);
  });

  it('keeps the system-assigned identity of a scale set through add and remove', async () => {
    h = await startHarness({ scaleSets: [{ nodeCount: 1, systemAssignedIdentity: true }] });
    const node = h.sandbox.nodes[0]!;
    const principal = h.sandbox.arm.getIdentityAssignment(node.identityTargetId)!.systemAssigned!
      .principalId;
    h.identity('id');
    h.binding('b', 'id', 'app');
    h.startMic();
    h.pod('app', node.name, 'app');
    await waitFor(() => h!.record('app-default-id')?.status?.status === 'Assigned', 'Assigned');
    expect(h.sandbox.arm.getIdentityAssignment(node.identityTargetId)!.type).toBe(
      'SystemAssigned, UserAssigned',
    );
    h.sandbox.deletePod('app');
    await waitFor(() => h!.idsOn(node.identityTargetId).length === 0, 'identity removed');
    const after = h.sandbox.arm.getIdentityAssignment(node.identityTargetId)!;
    expect(after.type).toBe('SystemAssigned');
    expect(after.systemAssigned!.principalId).toBe(principal);
  });

  it('assigns valid identities while invalid ones and bindings to missing identities are reported', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const good = h.identity('good');
    h.identity('bad', { resourceID: '/subscriptions/x/providers/nothing' });
    h.binding('good-b', 'good', 'app');
    h.binding('bad-b', 'bad', 'app');
    h.binding('missing-b', 'missing', 'app');
    h.startMic();
    h.pod('app', node.name, 'app');
    await waitFor(
      () => h!.record('app-default-good')?.status?.status === 'Assigned',
      'good Assigned',
    );
    expect(h.idsOn(node.identityTargetId)).toEqual([lower(good.resourceId)]);
    await waitFor(() => h!.events('invalid identity').length > 0, 'invalid identity event');
    await waitFor(
      () =>
        h!
          .events('binding apply error')
          .some((e) => e.message.includes('default/missing identity not found')),
      'missing identity event',
    );
  });

  it('leaves a record Created with a warning when ARM refuses the identity, and assigns the rest', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const ok = h.identity('ok');
    const denied = h.identity('denied');
    h.sandbox.arm.faults.denyIdentities([denied.resourceId], 'LinkedAuthorizationFailed');
    h.binding('b1', 'ok', 'app');
    h.binding('b2', 'denied', 'app');
    h.startMic();
    h.pod('app', node.name, 'app');
    await waitFor(() => h!.record('app-default-ok')?.status?.status === 'Assigned', 'ok Assigned');
    // The refusal is on the binding (as the original MIC), the record and the pod: where
    // `kubectl describe` and `pod-identity explain` find it next to a record that stays Created.
    // The recorder posts the three events independently: wait for them all, in any order.
    const refusedOn = (): string[] => [
      ...new Set(
        h!
          .events('binding apply error')
          .filter((e) => e.type === 'Warning' && e.message.includes('LinkedAuthorizationFailed'))
          .map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}`),
      ),
    ];
    await waitFor(() => refusedOn().length >= 3, 'refusal events');
    expect(h.record('app-default-denied')?.status?.status).toBe('Created');
    expect(h.idsOn(node.identityTargetId)).toEqual([lower(ok.resourceId)]);
    expect(refusedOn().sort()).toEqual([
      'AzureAssignedIdentity/app-default-denied',
      'AzureIdentityBinding/b2',
      'Pod/app',
    ]);
    // Once ARM accepts it, the retry assigns it.
    h.sandbox.arm.faults.allowIdentities();
    await waitFor(
      () => h!.record('app-default-denied')?.status?.status === 'Assigned',
      'denied Assigned later',
      15_000,
    );
  });

  it('re-adds an identity that drifted off the scale set (periodic reconcile)', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const id = h.identity('drifty');
    h.binding('b', 'drifty', 'app');
    h.startMic({ identityAssignmentReconcileIntervalMs: 100 });
    h.pod('app', node.name, 'app');
    await waitFor(() => h!.record('app-default-drifty')?.status?.status === 'Assigned', 'Assigned');
    // The reconcile runs every 100 ms, so on a loaded machine it may put the identity back before the
    // test could look: the PATCHes after the drift (the test's own, then MIC's) show the re-add instead.
    h.sandbox.arm.clearRequestLog();
    await h.setScaleSetIdentity(node.scaleSetName!, { type: 'None' });
    const patches = (): number =>
      h!.sandbox.arm.countRequests({
        operation: ArmOperation.ScaleSetUpdate,
        target: node.identityTargetId,
      });
    await waitFor(
      () => patches() >= 2 && h!.idsOn(node.identityTargetId).length === 1,
      'identity re-added by MIC',
    );
    expect(h.idsOn(node.identityTargetId)).toEqual([lower(id.resourceId)]);
  });

  it('neither records nor assigns an identity annotated federated, and takes one off when it becomes federated', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    h.identity('fed', { federated: true });
    h.binding('fed-b', 'fed', 'fed');
    const plain = h.identity('plain');
    h.binding('plain-b', 'plain', 'plain');
    const mic = h.startMic();
    h.pod('fed-app', node.name, 'fed');
    h.pod('plain-app', node.name, 'plain');
    await waitFor(
      () => h!.record('plain-app-default-plain')?.status?.status === 'Assigned',
      'plain Assigned',
    );
    await mic.settled();
    expect(h.records().map((r) => r.metadata.name)).toEqual(['plain-app-default-plain']);
    expect(h.idsOn(node.identityTargetId)).toEqual([lower(plain.resourceId)]);
    // No warning either: a federated binding is not a problem.
    expect(h.events().filter((e) => e.type === 'Warning')).toEqual([]);

    // Migrating: the annotation on an assigned identity removes its record and its scale-set entry.
    const writesBefore = h.sandbox.arm.requestLog().length;
    h.identity('plain', { federated: true });
    await waitFor(() => h!.records().length === 0, 'record removed');
    await waitFor(() => h!.idsOn(node.identityTargetId).length === 0, 'identity taken off');
    expect(h.sandbox.arm.requestLog().length).toBeGreaterThan(writesBefore);
  });

  it('moves service-principal identities straight to Assigned without ARM', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    h.identity('sp', { type: 1, resourceID: '' });
    h.binding('b', 'sp', 'app');
    h.startMic();
    h.sandbox.arm.clearRequestLog();
    h.pod('app', node.name, 'app');
    await waitFor(() => h!.record('app-default-sp')?.status?.status === 'Assigned', 'Assigned');
    expect(h.sandbox.arm.requestLog()).toEqual([]);
  });

  it('in namespaced mode binds only within the namespace and writes records there', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    h.identity('id', { namespace: 'team-a' });
    h.binding('b', 'id', 'app', 'team-a');
    h.startMic({ forceNamespaced: true });
    h.pod('mine', node.name, 'app', 'team-a');
    h.pod('theirs', node.name, 'app', 'team-b');
    await waitFor(
      () => h!.record('mine-team-a-id', 'team-a')?.status?.status === 'Assigned',
      'Assigned',
    );
    await h.mics[0]!.settled();
    expect(h.records().map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'team-a/mine-team-a-id',
    ]);
  });

  it('updates the record when the identity changes, and the new identity replaces the old on the scale set', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const first = h.identity('id');
    h.binding('b', 'id', 'app');
    h.startMic();
    h.pod('app', node.name, 'app');
    await waitFor(() => h!.record('app-default-id')?.status?.status === 'Assigned', 'Assigned');
    const other = h.sandbox.createIdentity('other');
    h.identity('id', { resourceID: other.id, clientID: other.clientId });
    await waitFor(
      () => h!.idsOn(node.identityTargetId).join() === lower(other.id),
      'new identity replaces old',
    );
    expect(h.idsOn(node.identityTargetId)).not.toContain(lower(first.resourceId));
    await waitFor(
      () => h!.record('app-default-id')?.status?.status === 'Assigned',
      'Assigned again',
    );
  });

  it('lets records on a node without a provider ID wait with a warning, then assigns once it has one', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const store = h.sandbox.kubernetes.store;
    const nodeObject = store.get({ apiVersion: 'v1', kind: 'Node', name: node.name })!;
    const spec = nodeObject.spec as Record<string, unknown>;
    store.put({ ...nodeObject, spec: { ...spec, providerID: '' } });
    h.identity('id');
    h.binding('b', 'id', 'app');
    h.startMic();
    h.pod('app', node.name, 'app');
    await waitFor(
      () => h!.record('app-default-id')?.status?.status === 'Created',
      'record Created',
    );
    await waitFor(
      () =>
        h!.events('binding apply error').some((e) => e.message.includes('has no spec.providerID')),
      'a warning naming the missing provider ID',
    );
    const latest = store.get({ apiVersion: 'v1', kind: 'Node', name: node.name })!;
    store.put({
      ...latest,
      spec: { ...(latest.spec as Record<string, unknown>), providerID: node.providerId },
    });
    await waitFor(
      () => h!.record('app-default-id')?.status?.status === 'Assigned',
      'Assigned after the provider ID',
    );
  });

  it('exposes the aadpodidentity_* metrics', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const registry = new Registry();
    h.identity('id');
    h.binding('b', 'id', 'app');
    h.startMic({ registry });
    h.pod('app', node.name, 'app');
    await waitFor(() => h!.record('app-default-id')?.status?.status === 'Assigned', 'Assigned');
    const text = await registry.metrics();
    expect(text).toMatch(/^aadpodidentity_assigned_identity_addition_count 1$/m);
    expect(text).toMatch(/^aadpodidentity_mic_new_leader_election_count 1$/m);
    expect(text).toMatch(
      /^aadpodidentity_cloud_provider_operations_duration_seconds_count\{operation_type="vmss_update"\} 1$/m,
    );
    expect(text).toMatch(/aadpodidentity_mic_cycle_count [1-9]/);
  });

  it('finishes the deletion of a record deleted by someone else and recreates it while the pod needs it', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const id = h.identity('id');
    h.binding('b', 'id', 'app');
    h.startMic();
    h.pod('app', node.name, 'app');
    await waitFor(() => h!.record('app-default-id')?.status?.status === 'Assigned', 'Assigned');
    const before = h.record('app-default-id') as unknown as { metadata: { uid: string } };
    const { CustomObjectsApi } = await import('@kubernetes/client-node');
    await h.sandbox.kubeConfig.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: 'aadpodidentity.k8s.io',
      version: 'v1',
      plural: 'azureassignedidentities',
      namespace: 'default',
      name: 'app-default-id',
    });
    await waitFor(() => {
      const now = h!.record('app-default-id') as unknown as
        { metadata: { uid: string } } | undefined;
      return (
        now !== undefined &&
        now.metadata.uid !== before.metadata.uid &&
        h!.record('app-default-id')?.status?.status === 'Assigned'
      );
    }, 'a new record, Assigned');
    expect(h.idsOn(node.identityTargetId)).toEqual([id.resourceId.toLowerCase()]);
  });

  it('spaces its record writes by --client-qps (burst twice the rate)', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    h.identity('qps-id');
    h.binding('qps-binding', 'qps-id', 'qps');
    const mic = h.startMic({ clientQps: 4 });
    await mic.whenActive();
    const names = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'];
    const started = Date.now();
    for (const name of names) h.pod(name, node.name, 'qps');
    const assigned = (): number =>
      names.filter((n) => h!.record(`${n}-default-qps-id`)?.status?.status === 'Assigned').length;
    await waitFor(() => assigned() === names.length, 'all Assigned');
    // 6 record POSTs and 6 status PATCHes before the last Assigned, all in the records' bucket: with
    // 8 writes at once and then one every 250 ms, the last of 12 cannot go before 4 × 250 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });
});
