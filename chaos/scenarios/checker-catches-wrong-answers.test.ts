// The tier's first invariant (no token for an identity the caller's labels do not bind) is only worth
// its green if the pod pollers would see a wrong answer. Here a stand-in NMI on the node's address
// answers with whatever client ID the test says, and the pollers judge it as they judge the real one:
// the right identity passes, also across a relabel within the allowed staleness; another identity,
// or the old one well after a relabel or a rebind, is reported with what changed and when.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { identityViews } from '../harness/cluster-model.ts';
import { livePodKeys, startChaosCluster, type ChaosCluster } from '../harness/chaos-cluster.ts';
import { startPodPollers, type PodPollers } from '../harness/pod-poller.ts';
import { bindEachIdentity, relabelPod } from '../harness/steady-state.ts';

const scenario = 'checker catches wrong answers';
/** The staleness the pollers allow here (the scenarios allow 1 s); short, so the test is quick. */
const STALENESS_MS = 200;
let cluster: ChaosCluster;
let standIn: http.Server;
let standInUrl: string;
/** The client ID the stand-in answers. */
let answering = '';

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 1, identities: 2 });
  const node = cluster.firstNodes[0]!;
  standIn = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ access_token: 'stand-in', client_id: answering }));
  });
  await new Promise<void>((resolve) => standIn.listen(0, node.internalIp, resolve));
  standInUrl = `http://${node.internalIp}:${String((standIn.address() as AddressInfo).port)}`;
});
afterAll(async () => {
  await new Promise((resolve) => standIn.close(resolve));
  await cluster.stop();
});

const clientIdOf = (name: string): string =>
  identityViews(cluster.sandbox).get(`default/${name}`)?.clientId ?? '';

async function until(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not seen within ${String(timeoutMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it(`${scenario}: a stand-in NMI's wrong tokens are reported, right ones are not`, async () => {
  const [first, second] = bindEachIdentity(cluster);
  const node = cluster.firstNodes[0]!;
  const podKey = cluster.createPod('judged-0', node, first!);
  const pollers: PodPollers = startPodPollers({
    sandbox: cluster.sandbox,
    monitor: cluster.monitor,
    nmiUrl: () => standInUrl,
    pods: () => livePodKeys(cluster.sandbox, 'judged'),
    intervalMs: 20,
    stalenessMs: STALENESS_MS,
  });
  const { monitor } = cluster;
  try {
    // The identity the label binds: nothing to report.
    answering = clientIdOf('id-0');
    await until('20 answers', () => pollers.counts.ok >= 20);
    expect(monitor.violations()).toEqual([]);

    // Relabelled, and the answer follows at once: still nothing.
    relabelPod(cluster, podKey, second!);
    answering = clientIdOf('id-1');
    const afterRelabel = pollers.counts.ok;
    await until('20 more answers', () => pollers.counts.ok >= afterRelabel + 20);
    expect(monitor.violations()).toEqual([]);

    // Another identity than the label binds: reported.
    answering = clientIdOf('id-0');
    await until('a violation', () => monitor.violations().length > 0);
    expect(monitor.violations()[0]).toContain(
      `got a token for client ${clientIdOf('id-0')}, which its labels did not bind`,
    );
    expect(monitor.violations()[0]).toContain('when the pod was relabelled from app-0 to app-1');

    // The binding of the pod's label pointed elsewhere, and the old identity still served: reported,
    // as a change of what the label selects.
    answering = clientIdOf('id-1');
    const before = monitor.violations().length;
    cluster.bind('binding-1', 'id-1', 'elsewhere');
    await until('a violation after the rebind', () => monitor.violations().length > before);
    expect(monitor.violations().at(-1)).toContain(
      'what aadpodidbinding=app-1 selects changed (a binding edited or an identity deleted)',
    );
  } finally {
    await pollers.stop();
  }
  cluster.measure('violationsReported', monitor.violations().length);
});
