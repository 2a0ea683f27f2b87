// Watches are dropped while the world changes, and the store is compacted before the daemons come
// back, so their resume fails with 410 Expired and they must relist. Three rounds.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { livePodKeys, startChaosCluster, type ChaosCluster } from '../harness/chaos-cluster.ts';
import { startPodPollers } from '../harness/pod-poller.ts';
import { bindEachIdentity, createRandomPods, relabelPod } from '../harness/steady-state.ts';

const scenario = 'watches dropped and store compacted';
let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 3, identities: 3 });
});
afterAll(async () => {
  await cluster.stop();
});

it(`${scenario}: MIC and NMI relist and converge`, async () => {
  const selectors = bindEachIdentity(cluster);
  const mic = await cluster.startMic('mic-a');
  await mic.current().waitForLine('sync loop started', 60_000);
  const nmi = await cluster.startNmi(cluster.firstNodes[0]!);
  createRandomPods(cluster, 'w', 30, selectors, cluster.firstNodes);
  await cluster.waitConverged(60_000, 'before the drops');
  let staleness = 1000;
  const pollers = startPodPollers({
    sandbox: cluster.sandbox,
    monitor: cluster.monitor,
    nmiUrl: (node) => (node === nmi.node.name ? nmi.url : undefined),
    pods: () => livePodKeys(cluster.sandbox, 'w'),
    // While watches are held back NMI cannot know of changes: its view may be as old as the hold.
    stalenessMs: () => staleness,
  });
  const converge: number[] = [];
  let dropped = 0;
  for (let round = 0; round < 3; round += 1) {
    // Hold new watches back so that the changes and the compaction happen while none is open.
    staleness = 1000 + 2500 + 2000;
    const release = cluster.kubeProxy.delay(2000, (_method, path) =>
      /[?&]watch=(true|1)/u.test(path),
    );
    dropped += cluster.kubeProxy.dropWatches();
    const keys = livePodKeys(cluster.sandbox, 'w');
    cluster.deletePods(keys.slice(0, 3));
    for (const key of keys.slice(3, 6)) relabelPod(cluster, key, cluster.random.pick(selectors));
    createRandomPods(cluster, `w${String(round)}`, 5, selectors, cluster.firstNodes);
    await cluster.sandbox.kubernetes.compact();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    release();
    converge.push(await cluster.waitConverged(60_000, `round ${String(round)}`));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    staleness = 1000;
  }
  await pollers.stop();
  cluster.measure('watchesDropped', dropped);
  cluster.measure('convergeMsPerRound', converge.join(','));
  cluster.measure('tokensServed', pollers.counts.ok);
  expect(dropped).toBeGreaterThan(0);
  expect(cluster.monitor.violations()).toEqual([]);
});
