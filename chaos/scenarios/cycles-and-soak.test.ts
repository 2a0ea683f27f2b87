// Many create/delete cycles against one MIC and one NMI: ten cycles of 200 pods over five scale sets,
// then a soak of 50 cycles of 10 pods on NMI's node with the pods asking for tokens. MIC's and NMI's
// heap after GC is read after every cycle: it must stay flat (no state kept per pod once it is gone).
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  livePodKeys,
  startChaosCluster,
  type ChaosCluster,
  type MicReplica,
  type NmiInstance,
} from '../harness/chaos-cluster.ts';
import { startPodPollers } from '../harness/pod-poller.ts';
import { bindEachIdentity, createRandomPods } from '../harness/steady-state.ts';

const scenario = 'cycles and soak';
/**
 * The heap may grow at most this much per cycle over the soak (least-squares slope over its second
 * half, after caches and JIT warmed up). A per-pod leak of a few hundred bytes over 20 pods a cycle
 * would show as several KB per cycle.
 */
const MAX_SLOPE_BYTES_PER_CYCLE = 2048;
/** Pods of a soak cycle: a per-pod leak of 200 bytes or more shows as a slope over the bound. */
const SOAK_PODS = 10;
/**
 * Each part runs tens of convergences one after another: on a loaded 2-core machine a 200-pod cycle
 * took up to 35 s and a soak cycle up to 8 s.
 */
const PART_TIMEOUT_MS = 420_000;
let cluster: ChaosCluster;
let mic: MicReplica;
let nmi: NmiInstance;
let selectors: string[];

beforeAll(async () => {
  cluster = await startChaosCluster({ scenario, scaleSets: 5, identities: 5 });
  selectors = bindEachIdentity(cluster);
  // 200 pods a cycle are 800 API writes: at the default 5 per second a cycle would take minutes.
  mic = await cluster.startMic('mic-a', { clientQps: 1000 });
  await mic.current().waitForLine('sync loop started', 60_000);
  nmi = await cluster.startNmi(cluster.firstNodes[0]!);
});
afterAll(async () => {
  await cluster.stop();
});

/** Least-squares slope of y over its index. */
function slope(values: readonly number[]): number {
  const n = values.length;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

const kb = (bytes: number): string => (bytes / 1024).toFixed(0);

it('ten cycles of 200 pods over five scale sets: each converges, nothing is left behind', { timeout: PART_TIMEOUT_MS }, async () => {
  const createMs: number[] = [];
  const deleteMs: number[] = [];
  const micHeap: number[] = [];
  const nmiHeap: number[] = [];
  for (let cycle = 0; cycle < 10; cycle += 1) {
    const pods = createRandomPods(cluster, `big${String(cycle)}`, 200, selectors);
    createMs.push(await cluster.waitConverged(90_000, `cycle ${String(cycle)} created`));
    cluster.deletePods(pods);
    deleteMs.push(await cluster.waitConverged(90_000, `cycle ${String(cycle)} deleted`));
    micHeap.push(await mic.current().heapAfterGc());
    nmiHeap.push(await nmi.daemon.heapAfterGc());
  }
  cluster.measure('bigCycleCreateToConvergedMs', createMs.join(','));
  cluster.measure('bigCycleDeleteToConvergedMs', deleteMs.join(','));
  cluster.measure('bigCycleMicHeapKB', micHeap.map(kb).join(','));
  cluster.measure('bigCycleNmiHeapKB', nmiHeap.map(kb).join(','));
  expect(cluster.monitor.violations()).toEqual([]);
});

it('soak: 50 cycles of 10 pods polling NMI, heaps after GC flat', { timeout: PART_TIMEOUT_MS }, async () => {
  const node = cluster.firstNodes[0]!;
  const micHeap: number[] = [];
  const nmiHeap: number[] = [];
  let served = 0;
  for (let cycle = 0; cycle < 50; cycle += 1) {
    const prefix = `soak${String(cycle)}`;
    const pods = createRandomPods(cluster, prefix, SOAK_PODS, selectors, [node]);
    await cluster.waitConverged(60_000, `soak cycle ${String(cycle)} created`);
    const pollers = startPodPollers({
      sandbox: cluster.sandbox,
      monitor: cluster.monitor,
      nmiUrl: () => nmi.url,
      pods: () => livePodKeys(cluster.sandbox, prefix),
      intervalMs: 50,
    });
    while (pollers.counts.ok < SOAK_PODS * 2) await new Promise((resolve) => setTimeout(resolve, 20));
    await pollers.stop();
    served += pollers.counts.ok;
    cluster.deletePods(pods);
    await cluster.waitConverged(60_000, `soak cycle ${String(cycle)} deleted`);
    micHeap.push(await mic.current().heapAfterGc());
    nmiHeap.push(await nmi.daemon.heapAfterGc());
  }
  const micSlope = slope(micHeap.slice(25));
  const nmiSlope = slope(nmiHeap.slice(25));
  cluster.measure('soakTokensServed', served);
  cluster.measure('soakMicHeapKB', micHeap.map(kb).join(','));
  cluster.measure('soakNmiHeapKB', nmiHeap.map(kb).join(','));
  cluster.measure('soakMicSlopeBytesPerCycle', Math.round(micSlope));
  cluster.measure('soakNmiSlopeBytesPerCycle', Math.round(nmiSlope));
  expect(cluster.monitor.violations()).toEqual([]);
  expect(micSlope).toBeLessThan(MAX_SLOPE_BYTES_PER_CYCLE);
  expect(nmiSlope).toBeLessThan(MAX_SLOPE_BYTES_PER_CYCLE);
});
