// The leader is SIGKILLed in the middle of a 200-pod burst over five scale sets: no lease is
// released, half the records are written, PATCHes may be in flight. The follower must take over once
// the lease expires and converge, without removing an identity it did not add.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosCluster, waitUntil, type ChaosCluster } from '../harness/chaos-cluster.ts';
import { recordViews } from '../harness/cluster-model.ts';

const scenario = 'leader killed mid-burst';
let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 5, identities: 5 });
});
afterAll(async () => {
  await cluster.stop();
});

it(`${scenario}: the follower takes over and converges`, async () => {
  const a = await cluster.startMic('mic-a');
  await a.current().waitForLine('sync loop started', 60_000);
  const b = await cluster.startMic('mic-b');
  await b.current().waitForLine('new leader elected', 60_000);
  cluster.identityNames.forEach((name, i) => {
    cluster.bind(`binding-${String(i)}`, name, `app-${String(i)}`);
  });
  const { random } = cluster;
  const started = Date.now();
  for (let i = 0; i < 200; i += 1) {
    cluster.createPod(
      `burst-${String(i)}`,
      random.pick(cluster.sandbox.nodes),
      `app-${String(random.int(5))}`,
    );
  }
  // Kill once part of the burst is done: records exist, some Assigned, more to come.
  await waitUntil(
    () => recordViews(cluster.sandbox).filter((r) => r.state === 'Assigned').length >= 20,
    'the leader to assign part of the burst',
    60_000,
  );
  const assignedAtKill = recordViews(cluster.sandbox).filter((r) => r.state === 'Assigned').length;
  const killedAt = Date.now();
  await a.kill();
  const takeoverMs = await waitUntil(() => cluster.leader() === 'mic-b', 'mic-b to lead', 60_000);
  await cluster.waitConverged(120_000);
  cluster.measure('assignedAtKill', assignedAtKill);
  cluster.measure('takeoverMs', takeoverMs);
  cluster.measure('convergeAfterKillMs', Date.now() - killedAt);
  cluster.measure('burstTotalMs', Date.now() - started);
  cluster.measure('longestAssignedAbsentMs', cluster.monitor.longestAssignedAbsentMs());
  expect(cluster.monitor.violations()).toEqual([]);
  // The lease is 15 s; the follower retries every 3.75 s: takeover within lease + retry + slack.
  expect(takeoverMs).toBeLessThan(30_000);
});
