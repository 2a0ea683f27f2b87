// The MIC half of bench/peers: the Go original's mic and this project's `pod-identity-mic` (built
// CLI), each pinned to core 0, each run against fresh emulators (10 scale sets of 2 nodes, 10
// identities, a binding each), alternating round by round: start → healthy, single pods one after
// another (each a new identity for its scale set), a 200-pod burst, ARM calls, peak memory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import {
  bindingObject,
  identityObject,
  podObject,
  startEmulators,
  type Emulators,
} from './emulators.ts';
import { httpGet, pollUntil, startPinned, type MeasuredProcess } from './measured-process.ts';

/** One MIC run. */
export interface MicRun {
  implementation: 'go' | 'ours';
  qps: 'unlimited' | 'default';
  startToHealthyMs: number;
  /** Bound → Assigned of each single pod, in order, ms. */
  singlePodMs: number[];
  burst?: {
    pods: number;
    firstAssignedMs: number;
    allAssignedMs: number;
    armPatches: number;
    armGets: number;
    scaleSets: number;
  };
  peakRssMiB: number;
}

/** What the MIC half measures. */
export interface MicPeerResults {
  rounds: number;
  runs: MicRun[];
}

const UNLIMITED_QPS = 100_000;
const SINGLE_PODS = 10;
const BURST_PODS = 200;
const PROBE_PORT = 8088;

/** Watches AzureAssignedIdentities; resolves when a pod's record is Assigned. */
async function watchAssigned(kubeconfigPath: string): Promise<{
  assignedAt: Map<string, number>;
  waitFor(pods: readonly string[], timeoutMs: number): Promise<void>;
  stop(): void;
}> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const assignedAt = new Map<string, number>();
  let waiters: (() => void)[] = [];
  const controller = await new Watch(kc).watch(
    '/apis/aadpodidentity.k8s.io/v1/azureassignedidentities',
    {},
    (_type: string, object: { spec?: { pod?: string }; status?: { status?: string } }) => {
      const pod = object.spec?.pod;
      if (pod !== undefined && object.status?.status === 'Assigned' && !assignedAt.has(pod)) {
        assignedAt.set(pod, performance.now());
        for (const wake of waiters) wake();
      }
    },
    () => undefined,
  );
  return {
    assignedAt,
    waitFor: (pods, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => pods.every((pod) => assignedAt.has(pod));
        if (check()) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          reject(
            new Error(
              `timed out waiting for ${String(pods.filter((p) => !assignedAt.has(p)).length)} pods to be Assigned`,
            ),
          );
        }, timeoutMs);
        const wake = (): void => {
          if (!check()) return;
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== wake);
          resolve();
        };
        waiters.push(wake);
      }),
    stop: () => {
      controller.abort();
    },
  };
}

function startMic(
  implementation: 'go' | 'ours',
  qps: number,
  emulators: Emulators,
  dir: string,
  goMic: string,
  ourMicCli: string,
): MeasuredProcess {
  const ready = emulators.ready;
  const common = {
    tenantId: ready.tenantId,
    subscriptionId: ready.subscriptionId,
    resourceGroup: ready.nodeResourceGroup,
    aadClientId: ready.clusterPrincipal.clientId,
    aadClientSecret: ready.clusterPrincipal.clientSecret,
    vmType: 'vmss',
  };
  if (implementation === 'go') {
    // The Go original reads the endpoints of a cloud named AzureStackCloud from a file, and trusts
    // the emulators' CA through SSL_CERT_FILE.
    const environment = join(dir, 'azure-environment.json');
    writeFileSync(
      environment,
      JSON.stringify({
        name: 'AzureStackCloud',
        resourceManagerEndpoint: `${ready.armUrl}/`,
        activeDirectoryEndpoint: `${ready.entraUrl}/`,
        tokenAudience: `${ready.armUrl}/`,
        serviceManagementEndpoint: `${ready.armUrl}/`,
      }),
    );
    const config = join(dir, 'azure-go.json');
    writeFileSync(config, JSON.stringify({ cloud: 'AzureStackCloud', ...common }));
    return startPinned(
      `go-mic-${String(qps)}`,
      0,
      goMic,
      [
        '--kubeconfig',
        emulators.kubeconfigPath,
        '--cloudconfig',
        config,
        '--http-probe-port',
        String(PROBE_PORT),
        '--prometheus-port',
        '8889',
        `--clientQps=${String(qps)}`,
      ],
      {
        PATH: process.env.PATH,
        MIC_POD_NAMESPACE: 'kube-system',
        AZURE_ENVIRONMENT_FILEPATH: environment,
        SSL_CERT_FILE: emulators.caPath,
      },
    );
  }
  const config = join(dir, 'azure-ours.json');
  writeFileSync(config, JSON.stringify({ cloud: 'AzurePublicCloud', ...common }));
  return startPinned(
    `ours-mic-${String(qps)}`,
    0,
    process.execPath,
    [
      ourMicCli,
      '--kubeconfig',
      emulators.kubeconfigPath,
      '--cloudconfig',
      config,
      '--arm-endpoint',
      ready.armUrl,
      '--arm-ca-file',
      emulators.caPath,
      '--authority-host',
      ready.entraUrl,
      '--http-probe-port',
      String(PROBE_PORT),
      '--prometheus-port',
      '8889',
      '--client-qps',
      String(qps),
    ],
    { PATH: process.env.PATH, MIC_POD_NAMESPACE: 'kube-system', LOG_LEVEL: 'warn' },
  );
}

async function micRun(
  implementation: 'go' | 'ours',
  qps: 'unlimited' | 'default',
  dir: string,
  goMic: string,
  ourMicCli: string,
): Promise<MicRun> {
  const emulators = await startEmulators(dir);
  const { nodes, identities } = emulators.ready;
  await emulators.put(
    identities.flatMap((identity, k) => [
      identityObject(identity),
      bindingObject(identity.name, `sel-${String(k)}`),
    ]),
  );
  const watch = await watchAssigned(emulators.kubeconfigPath);
  const mic = startMic(
    implementation,
    qps === 'unlimited' ? UNLIMITED_QPS : 5,
    emulators,
    dir,
    goMic,
    ourMicCli,
  );
  try {
    await pollUntil(
      `${implementation} MIC to be healthy`,
      async () => {
        const probe = await httpGet(`http://127.0.0.1:${String(PROBE_PORT)}/healthz`);
        return probe.body.trim() === 'Active' ? true : undefined;
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${mic.output()}`);
    });
    const startToHealthyMs = performance.now() - mic.startedAt;

    // Single pods, one after another: pod i runs on scale set i and is the first user of identity
    // i + 1 there, so each needs a record, an ARM write and the record marked Assigned.
    const singlePodMs: number[] = [];
    for (let i = 0; i < SINGLE_PODS; i += 1) {
      const node = nodes[(2 * i) % nodes.length];
      if (node === undefined) throw new Error('no node');
      const name = `single-${String(i)}`;
      const started = performance.now();
      await emulators.put([
        podObject(
          name,
          node.name,
          `sel-${String((i + 1) % identities.length)}`,
          `10.1.0.${String(i + 1)}`,
        ),
      ]);
      await watch.waitFor([name], 60_000);
      singlePodMs.push((watch.assignedAt.get(name) ?? NaN) - started);
    }

    let burst: MicRun['burst'];
    if (qps === 'unlimited') {
      await emulators.clearArmLog();
      const pods = Array.from({ length: BURST_PODS }, (_, j) => {
        const node = nodes[j % nodes.length];
        if (node === undefined) throw new Error('no node');
        return podObject(
          `burst-${String(j)}`,
          node.name,
          `sel-${String(j % identities.length)}`,
          `10.2.${String(j >> 8)}.${String(j & 255)}`,
        );
      });
      const started = performance.now();
      await emulators.put(pods);
      const names = pods.map((p) => (p.metadata as { name: string }).name);
      await watch.waitFor(names, 120_000);
      const times = names.map((n) => watch.assignedAt.get(n) ?? NaN);
      const arm = await emulators.armWrites();
      burst = {
        pods: BURST_PODS,
        firstAssignedMs: Math.min(...times) - started,
        allAssignedMs: Math.max(...times) - started,
        armPatches: arm.patches,
        armGets: arm.gets,
        scaleSets: new Set(nodes.map((n) => n.scaleSet)).size,
      };
    }
    const run: MicRun = {
      implementation,
      qps,
      startToHealthyMs,
      singlePodMs,
      ...(burst === undefined ? {} : { burst }),
      peakRssMiB: mic.peakRssMiB(),
    };
    console.log(
      `  ${implementation} qps=${qps}: healthy ${startToHealthyMs.toFixed(0)} ms, single p50 ${median(singlePodMs).toFixed(1)} ms [${singlePodMs.map((v) => v.toFixed(0)).join(' ')}]${burst === undefined ? '' : `, burst first ${burst.firstAssignedMs.toFixed(0)} ms all ${burst.allAssignedMs.toFixed(0)} ms, ${String(burst.armPatches)} PATCH ${String(burst.armGets)} GET`}, peak ${run.peakRssMiB.toFixed(0)} MiB`,
    );
    return run;
  } finally {
    watch.stop();
    await mic.stop();
    await emulators.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

/**
 * Runs the MIC comparison.
 * @param dir - temporary directory for configuration files
 * @param goMic - the Go original's mic binary
 * @param ourMicCli - this project's built `pod-identity-mic` (dist/cli.cjs)
 * @param options - rounds
 */
export async function micPeers(
  dir: string,
  goMic: string,
  ourMicCli: string,
  options: { rounds: number },
): Promise<MicPeerResults> {
  const runs: MicRun[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    console.log(`mic round ${String(round + 1)}/${String(options.rounds)}`);
    for (const qps of ['unlimited', 'default'] as const)
      for (const implementation of ['go', 'ours'] as const)
        runs.push(await micRun(implementation, qps, dir, goMic, ourMicCli));
  }
  return { rounds: options.rounds, runs };
}
