// Two MIC replicas, each SIGKILLed in turn while pods keep coming: A leads, A dies, B takes over;
// A comes back as a follower, B dies, A takes over. Every handover converges.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosCluster, waitUntil, type ChaosCluster } from '../harness/chaos-cluster.ts';
import { bindEachIdentity, createRandomPods } from '../harness/steady-state.ts';

const scenario = 'two MIC replicas killed in turn';
let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 3, identities: 3 });
});
afterAll(async () => {
  await cluster.stop();
});

it(`${scenario}: each survivor takes over and converges`, async () => {
  const selectors = bindEachIdentity(cluster);
  const a = await cluster.startMic('mic-a');
  await a.current().waitForLine('sync loop started', 60_000);
  const b = await cluster.startMic('mic-b');
  await b.current().waitForLine('new leader elected', 60_000);
  createRandomPods(cluster, 'one', 40, selectors);
  await cluster.waitConverged(60_000, 'with mic-a');

  await a.kill();
  createRandomPods(cluster, 'two', 40, selectors);
  const bTakeover = await waitUntil(() => cluster.leader() === 'mic-b', 'mic-b to lead', 60_000);
  const bConverge = await cluster.waitConverged(60_000, 'with mic-b');

  const a2 = await cluster.startMic('mic-a');
  await a2.current().waitForLine('new leader elected', 60_000);
  await b.kill();
  cluster.deletePods(['default/one-0', 'default/one-1', 'default/two-0']);
  createRandomPods(cluster, 'three', 40, selectors);
  const aTakeover = await waitUntil(
    () => cluster.leader() === 'mic-a',
    'mic-a to lead again',
    60_000,
  );
  const aConverge = await cluster.waitConverged(60_000, 'with mic-a again');

  cluster.measure('takeoverByBMs', bTakeover);
  cluster.measure('convergeAfterBLeadsMs', bConverge);
  cluster.measure('takeoverByAMs', aTakeover);
  cluster.measure('convergeAfterALeadsMs', aConverge);
  expect(cluster.monitor.violations()).toEqual([]);
  expect(bTakeover).toBeLessThan(30_000);
  expect(aTakeover).toBeLessThan(30_000);
});
