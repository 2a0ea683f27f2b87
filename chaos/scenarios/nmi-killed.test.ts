// NMI is SIGKILLed while pods poll it, and started again (as the DaemonSet would). Pods get connection
// errors meanwhile, never a wrong token, and all get tokens again once the new NMI has synced.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  livePodKeys,
  startChaosCluster,
  waitUntil,
  type ChaosCluster,
} from '../harness/chaos-cluster.ts';
import { startPodPollers } from '../harness/pod-poller.ts';
import { bindEachIdentity, createRandomPods } from '../harness/steady-state.ts';

const scenario = 'NMI killed while pods poll it';
let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 2, identities: 2 });
});
afterAll(async () => {
  await cluster.stop();
});

it(`${scenario}: pods are served again after the restart, never wrongly`, async () => {
  const selectors = bindEachIdentity(cluster);
  const mic = await cluster.startMic('mic-a');
  await mic.current().waitForLine('sync loop started', 60_000);
  const node = cluster.firstNodes[0]!;
  let nmi = await cluster.startNmi(node);
  createRandomPods(cluster, 'poll', 20, selectors, [node]);
  await cluster.waitConverged(60_000);
  const pollers = startPodPollers({
    sandbox: cluster.sandbox,
    monitor: cluster.monitor,
    nmiUrl: () => nmi.url,
    pods: () => livePodKeys(cluster.sandbox, 'poll'),
  });
  await waitUntil(() => pollers.counts.ok >= 20, 'tokens before the kill', 30_000);
  await nmi.daemon.kill();
  const failedAtKill = pollers.counts.failed;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const restartedAt = Date.now();
  nmi = await cluster.startNmi(node);
  const readyMs = Date.now() - restartedAt;
  const okAtRestart = pollers.counts.ok;
  const servedAgainMs = await waitUntil(
    () => pollers.counts.ok >= okAtRestart + 20,
    'tokens after the restart',
    30_000,
  );
  await pollers.stop();
  cluster.measure('failedRequestsWhileDown', pollers.counts.failed - failedAtKill);
  cluster.measure('restartToReadyMs', readyMs);
  cluster.measure('readyToServedAgainMs', servedAgainMs);
  expect(pollers.counts.failed).toBeGreaterThan(failedAtKill);
  expect(cluster.monitor.violations()).toEqual([]);
});
