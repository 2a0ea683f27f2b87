// The planners' driver alone: informers on the Kubernetes emulator in, lane work out (no writes).
import { createMemoryOwnershipLedger } from '@pod-identity/core/kubernetes';
import {
  createMicInformers,
  createPlanDriver,
  createSkipReporter,
  type LaneSink,
  type LaneWork,
  type MicInformers,
  type PlanDriver,
} from '@pod-identity/mic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './mic-harness.js';

class CapturingLanes implements LaneSink {
  readonly work = new Map<string, LaneWork>();
  submit(key: string, work: LaneWork): void {
    this.work.set(key, work);
  }
  discard(key: string): void {
    this.work.delete(key);
  }
  keys(): Iterable<string> {
    return this.work.keys();
  }
}

describe('createPlanDriver', () => {
  let h: Harness;
  let informers: MicInformers;
  let driver: PlanDriver;
  const lanes = new CapturingLanes();
  const events: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    informers = createMicInformers({ kubeConfig: h.sandbox.kubeConfig });
    driver = createPlanDriver({
      informers,
      ledger: { snapshot: () => new Map() },
      immutable: [],
      lanes,
      skips: createSkipReporter({
        recorder: {
          event: (_object, _type, reason, message) => events.push(`${reason}: ${message}`),
        },
      }),
    });
  });
  afterAll(async () => {
    await informers.stop();
    await h.stop();
  });

  it('gives each target with work one lane, and reports what it left out', async () => {
    const [node] = h.sandbox.nodes;
    if (node === undefined) throw new Error('the sandbox has nodes');
    const { resourceId } = h.identity('id-a');
    h.binding('bind-a', 'id-a', 'web');
    h.binding('bind-missing', 'no-such-identity', 'web');
    h.pod('web-1', node.name, 'web');
    await informers.start();

    driver.plan({ startedMs: 0, drift: false, scopedPods: undefined });
    const target = node.identityTargetId.toLowerCase();
    expect([...lanes.keys()]).toEqual([target]);
    const work = lanes.work.get(target);
    if (work?.kind !== 'target') throw new Error('a target lane');
    expect(work.delta.ensure.map((ref) => ref.key)).toEqual([resourceId.toLowerCase()]);
    expect(work.delta.assign.map((d) => `${d.podNamespace}/${d.podName}`)).toEqual([
      'default/web-1',
    ]);
    expect(events.some((e) => e.includes('default/no-such-identity identity not found'))).toBe(
      true,
    );
  });

  it('plans a changed pod over its targets only, and drops lanes whose target became steady', async () => {
    const [node] = h.sandbox.nodes;
    if (node === undefined) throw new Error('the sandbox has nodes');
    h.sandbox.deletePod('web-1');
    await waitFor(() => informers.pods.size() === 0, 'the pod deletion');
    // A scoped pass for the deleted pod: nothing is assigned on its node any more.
    driver.plan({
      startedMs: 0,
      drift: false,
      scopedPods: [['default/web-1', new Set([node.name])]],
    });
    expect([...lanes.keys()]).toEqual([]);
  });
});

describe('createPlanDriver before every informer has listed', () => {
  let h: Harness;
  const started: MicInformers[] = [];
  afterAll(async () => {
    await Promise.all(started.map((informers) => informers.stop()));
    await h.stop();
  });

  it('plans nothing, so an identity MIC owns is not removed for want of the pods that use it', async () => {
    h = await startHarness();
    const [node] = h.sandbox.nodes;
    if (node === undefined) throw new Error('the sandbox has nodes');
    const { resourceId } = h.identity('id-owned');
    h.binding('bind-owned', 'id-owned', 'owned');
    h.pod('owned-1', node.name, 'owned');
    const ledger = createMemoryOwnershipLedger();
    const driverOver = (informers: MicInformers, lanes: CapturingLanes): PlanDriver =>
      createPlanDriver({
        informers,
        ledger,
        immutable: [],
        lanes,
        skips: createSkipReporter({ recorder: { event: () => undefined } }),
      });
    const full = { startedMs: 0, drift: false, scopedPods: undefined } as const;
    const target = node.identityTargetId.toLowerCase();

    // MIC assigned the identity earlier: it is in the ledger.
    const complete = createMicInformers({ kubeConfig: h.sandbox.kubeConfig });
    started.push(complete);
    await complete.start();
    const earlier = new CapturingLanes();
    driverOver(complete, earlier).plan(full);
    const work = earlier.work.get(target);
    if (work?.kind !== 'target') throw new Error('a target lane');
    await ledger.add(work.delta.target, work.delta.ensure);

    // A new term whose pods have not been listed yet (their list keeps failing, say).
    const partial = createMicInformers({ kubeConfig: h.sandbox.kubeConfig });
    started.push(partial);
    await Promise.all(
      [partial.nodes, partial.identities, partial.bindings, partial.assigned].map((informer) =>
        informer.start(),
      ),
    );
    const lanes = new CapturingLanes();
    const driver = driverOver(partial, lanes);
    driver.plan(full);
    expect([...lanes.keys()]).toEqual([]);

    await partial.pods.start();
    driver.plan(full);
    const after = lanes.work.get(target);
    if (after?.kind !== 'target') throw new Error('a target lane');
    expect(after.delta.remove).toEqual([]);
    expect(after.delta.ensure.map((ref) => ref.key)).toEqual([resourceId.toLowerCase()]);
  });
});
