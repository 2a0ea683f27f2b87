// 60 rounds of random churn, drawn from the seed: pods created under reused names (a new UID each
// time), deleted, relabelled; bindings pointed at other selectors; an identity deleted while pods use
// it and created again later. Pods keep asking NMI for tokens throughout.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CRD_API_VERSION } from '../harness/cluster-model.ts';
import { livePodKeys, startChaosCluster, type ChaosCluster } from '../harness/chaos-cluster.ts';
import { startPodPollers, type PodPollers } from '../harness/pod-poller.ts';
import { bindEachIdentity, relabelPod } from '../harness/steady-state.ts';

const scenario = '60 rounds of random churn';
let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 3, identities: 4 });
});
afterAll(async () => {
  await cluster.stop();
});

it(`${scenario}: every answer is bound, and the cluster converges`, async () => {
  const selectors = bindEachIdentity(cluster);
  const mic = await cluster.startMic('mic-a');
  await mic.current().waitForLine('sync loop started', 60_000);
  const nodes = cluster.firstNodes;
  const nmis = await Promise.all(nodes.slice(0, 2).map((node) => cluster.startNmi(node)));
  const { random, sandbox } = cluster;
  const store = sandbox.kubernetes.store;
  const names = Array.from({ length: 24 }, (_, i) => `churn-${String(i)}`);
  for (const name of names.slice(0, 12)) {
    cluster.createPod(name, random.pick(nodes), random.pick(selectors));
  }
  await cluster.waitConverged(60_000, 'before the churn');
  const pollers: PodPollers = startPodPollers({
    sandbox,
    monitor: cluster.monitor,
    nmiUrl: (node) => nmis.find((n) => n.node.name === node)?.url,
    pods: () => livePodKeys(sandbox, 'churn'),
    intervalMs: 100,
  });
  const deletedIdentities = new Map<
    string,
    { round: number; object: ReturnType<typeof store.get> }
  >();
  const counts = {
    create: 0,
    delete: 0,
    relabel: 0,
    rebind: 0,
    deleteIdentity: 0,
    restoreIdentity: 0,
  };
  for (let round = 0; round < 60; round += 1) {
    for (const [name, entry] of deletedIdentities) {
      if (round - entry.round >= 3 && entry.object !== undefined) {
        const { metadata, spec } = entry.object as {
          metadata: { name: string; namespace: string };
          spec: unknown;
        };
        store.put({
          apiVersion: CRD_API_VERSION,
          kind: 'AzureIdentity',
          metadata: { name: metadata.name, namespace: metadata.namespace },
          spec,
        });
        deletedIdentities.delete(name);
        counts.restoreIdentity += 1;
      }
    }
    const action = random.int(100);
    const live = livePodKeys(sandbox, 'churn');
    if (action < 30 || live.length === 0) {
      const name = random.pick(names);
      if (live.includes(`default/${name}`)) sandbox.deletePod(name);
      cluster.createPod(name, random.pick(nodes), random.pick(selectors));
      counts.create += 1;
    } else if (action < 50) {
      cluster.deletePods([random.pick(live)]);
      counts.delete += 1;
    } else if (action < 75) {
      relabelPod(cluster, random.pick(live), random.pick(selectors));
      counts.relabel += 1;
    } else if (action < 93) {
      const binding = random.int(selectors.length);
      cluster.bind(`binding-${String(binding)}`, `id-${String(binding)}`, random.pick(selectors));
      counts.rebind += 1;
    } else {
      const name = random.pick(cluster.identityNames);
      if (!deletedIdentities.has(name)) {
        const object = store.get({
          apiVersion: CRD_API_VERSION,
          kind: 'AzureIdentity',
          namespace: 'default',
          name,
        });
        store.delete({
          apiVersion: CRD_API_VERSION,
          kind: 'AzureIdentity',
          namespace: 'default',
          name,
        });
        deletedIdentities.set(name, { round, object });
        counts.deleteIdentity += 1;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100 + random.int(500)));
  }
  for (const [, entry] of deletedIdentities) {
    const { metadata, spec } = entry.object as {
      metadata: { name: string; namespace: string };
      spec: unknown;
    };
    store.put({
      apiVersion: CRD_API_VERSION,
      kind: 'AzureIdentity',
      metadata: { name: metadata.name, namespace: metadata.namespace },
      spec,
    });
  }
  const convergeMs = await cluster.waitConverged(90_000, 'after the churn');
  await pollers.stop();
  cluster.measure('actions', JSON.stringify(counts));
  cluster.measure('convergeAfterChurnMs', convergeMs);
  cluster.measure('tokensServed', pollers.counts.ok);
  cluster.measure('refusals', JSON.stringify(Object.fromEntries(pollers.counts.refused)));
  cluster.measure('longestAssignedAbsentMs', cluster.monitor.longestAssignedAbsentMs());
  expect(cluster.monitor.violations()).toEqual([]);
  expect(pollers.counts.ok).toBeGreaterThan(0);
});
