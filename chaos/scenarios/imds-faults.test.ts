// The node's IMDS is down (every token request answered 500), then slow (8 s before each answer),
// then hung (15 s, past the 10 s NMI gives one IMDS attempt). A pod's uncached request must be
// answered within NMI's upstream wait (5 s by default) with 503 and Retry-After, and a token IMDS
// delivers late must serve the pod's retry from the cache.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosCluster, type ChaosCluster } from '../harness/chaos-cluster.ts';
import { podViews } from '../harness/cluster-model.ts';
import { askNmi } from '../harness/pod-poller.ts';
import { bindEachIdentity } from '../harness/steady-state.ts';

const scenario = 'IMDS down and slow';
/** NMI's default upstream wait (`--upstream-timeout`), plus slack for a loaded 2-core machine. */
const WAIT_BOUND_MS = 5000 + 3000;
let cluster: ChaosCluster;

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 1, identities: 1 });
});
afterAll(async () => {
  await cluster.stop();
});

it(`${scenario}: NMI answers within its upstream wait, always with Retry-After`, async () => {
  const [selector = ''] = bindEachIdentity(cluster);
  const mic = await cluster.startMic('mic-a');
  await mic.current().waitForLine('sync loop started', 60_000);
  const node = cluster.firstNodes[0]!;
  const nmi = await cluster.startNmi(node);
  const podKey = cluster.createPod('app', node, selector);
  await cluster.waitConverged(60_000);
  const ip = podViews(cluster.sandbox).get(podKey)?.ip ?? '';
  const signal = new AbortController().signal;
  const timed = async (resource: string) => {
    const started = Date.now();
    const answer = await askNmi(nmi.url, ip, resource, signal);
    return { ...answer, ms: Date.now() - started };
  };
  // A healthy IMDS first, so the pod's identity works at all.
  expect((await timed('https://healthy.example/')).status).toBe(200);

  node.imds.faults.failNext({ status: 500, count: 100_000 });
  const down = await timed('https://down.example/');
  node.imds.faults.clear();

  node.imds.faults.setLatency(8000);
  const slow = await timed('https://slow.example/');
  const retryAfterMs = Number(slow.retryAfter ?? '0') * 1000;
  // The pod retries as told until IMDS's late answer is cached.
  const retryStarted = Date.now();
  let retry = slow;
  while (retry.status !== 200 && Date.now() - retryStarted < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(retryAfterMs, 1000)));
    retry = await timed('https://slow.example/');
  }
  const servedAfterMs = Date.now() - retryStarted + slow.ms;
  node.imds.faults.setLatency(15_000);
  const hung = await timed('https://hung.example/');
  node.imds.faults.clear();

  cluster.measure('downStatus', down.status);
  cluster.measure('downAnswerMs', down.ms);
  cluster.measure('downRetryAfter', down.retryAfter ?? 'none');
  cluster.measure('slowStatus', slow.status);
  cluster.measure('slowAnswerMs', slow.ms);
  cluster.measure('slowRetryAfter', slow.retryAfter ?? 'none');
  cluster.measure('slowTokenServedAfterMs', servedAfterMs);
  cluster.measure('hungStatus', hung.status);
  cluster.measure('hungAnswerMs', hung.ms);
  expect(down).toMatchObject({ status: 503, retryAfter: '2' });
  expect(down.ms).toBeLessThan(WAIT_BOUND_MS);
  expect(slow).toMatchObject({ status: 503, retryAfter: '2' });
  expect(slow.ms).toBeGreaterThanOrEqual(4500);
  expect(slow.ms).toBeLessThan(WAIT_BOUND_MS);
  expect(retry.status).toBe(200);
  expect(hung).toMatchObject({ status: 503, retryAfter: '2' });
  expect(hung.ms).toBeLessThan(WAIT_BOUND_MS);
  expect(cluster.monitor.violations()).toEqual([]);
});
