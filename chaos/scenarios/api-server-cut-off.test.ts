// The API server is cut off from MIC and NMI for 20 s (every connection through the proxy reset).
// MIC cannot renew its lease and exits once its renew deadline has passed, as the original did; it
// relies on being restarted (here a supervisor restarts it after 1 s, as kubelet restarts the
// container). NMI keeps serving the pods it knows. Afterwards everything converges.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  livePodKeys,
  startChaosCluster,
  waitUntil,
  type ChaosCluster,
} from '../harness/chaos-cluster.ts';
import { startPodPollers } from '../harness/pod-poller.ts';
import { bindEachIdentity, createRandomPods } from '../harness/steady-state.ts';

const scenario = 'API server cut off for 20 s';
let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 3, identities: 3 });
});
afterAll(async () => {
  await cluster.stop();
});

it(`${scenario}: MIC exits, is restarted and converges; NMI keeps serving`, async () => {
  const selectors = bindEachIdentity(cluster);
  const mic = await cluster.startMic('mic-a', { restartDelayMs: 1000 });
  await mic.current().waitForLine('sync loop started', 60_000);
  const nmi = await cluster.startNmi(cluster.firstNodes[0]!);
  createRandomPods(cluster, 'before', 30, selectors, cluster.firstNodes);
  await cluster.waitConverged(60_000, 'before the cut');
  const pollers = startPodPollers({
    sandbox: cluster.sandbox,
    monitor: cluster.monitor,
    nmiUrl: (node) => (node === nmi.node.name ? nmi.url : undefined),
    pods: () => livePodKeys(cluster.sandbox, 'before'),
  });
  await waitUntil(() => pollers.counts.ok > 0, 'a first token', 30_000);
  const first = mic.current();
  const cutAt = Date.now();
  cluster.kubeProxy.cutOff('reset');
  // The world moves on while the daemons cannot see it.
  createRandomPods(cluster, 'during', 15, selectors, cluster.firstNodes);
  cluster.deletePods(['default/before-0', 'default/before-1', 'default/before-2']);
  const okAtCut = pollers.counts.ok;
  const code = await first.exited;
  const exitAfterMs = Date.now() - cutAt;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (Date.now() - cutAt))));
  const servedDuringCut = pollers.counts.ok - okAtCut;
  const restoredAt = Date.now();
  cluster.kubeProxy.restore();
  const convergeMs = await cluster.waitConverged(90_000, 'after the cut');
  await pollers.stop();
  cluster.measure('micExitCode', code);
  cluster.measure('micExitAfterCutMs', exitAfterMs);
  cluster.measure('micRestartsDuringCut', mic.restarts());
  cluster.measure('tokensServedDuringCut', servedDuringCut);
  cluster.measure('convergeAfterRestoreMs', convergeMs);
  cluster.measure('restoredToConvergedMs', Date.now() - restoredAt);
  expect(cluster.monitor.violations()).toEqual([]);
  expect(code).toBe(1);
  // MIC leads on through failed renewals until one retry period (3.75 s) plus the renew deadline
  // (7.5 s) has passed since its last renewal began: at least 7.5 s after the cut, less that renewal's
  // round trip (generous for a loaded machine), and at most 11.25 s plus its shutdown.
  expect(exitAfterMs).toBeGreaterThan(5_000);
  expect(exitAfterMs).toBeLessThan(18_000);
  expect(mic.restarts()).toBeGreaterThanOrEqual(1);
  expect(servedDuringCut).toBeGreaterThan(0);
});
