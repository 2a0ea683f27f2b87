/**
 * One scenario's world: the testkit sandbox (Kubernetes, ARM, Entra, one IMDS per node, all on
 * loopback), a fault proxy in front of the API server and one in front of ARM, the built MIC and NMI
 * started as processes that reach the API server and ARM only through those proxies, identities
 * assigned by hand to every scale set (which must survive everything), and the invariant monitor.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputeManagementClient } from '@azure/arm-compute';
import {
  startSandbox,
  type JsonObject,
  type Sandbox,
  type SandboxNode,
} from '@pod-identity/testkit';
import {
  CRD_API_VERSION,
  desiredPairs,
  identitiesOnTargets,
  ledgers,
  podViews,
  recordViews,
} from './cluster-model.ts';
import { startDaemon, type DaemonProcess } from './daemon-process.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { startInvariantMonitor, type InvariantMonitor } from './invariant-monitor.ts';
import { runSeed, seededRandom, type SeededRandom } from './seeded-random.ts';

/** MIC's namespace (its ownership ledger lives there) and where its lease is. */
export const MIC_NAMESPACE = 'kube-system';
const LEASE_NAME = 'aad-pod-identity-mic';

/**
 * The bound checked continuously for a record that is `Assigned` while its identity is missing from
 * the scale set (for a pod that still needs it). Generous for a loaded 2-core machine: the monitor
 * samples every 50 ms and MIC's own writes take a few ms each.
 */
export const ASSIGNED_ABSENT_BOUND_MS = 2000;

/** Options of {@link startChaosCluster}. */
export interface ChaosClusterOptions {
  /** The scenario's name (seeds its random choices, names its results). */
  readonly scenario: string;
  readonly scaleSets: number;
  /** Default 1. */
  readonly nodesPerScaleSet?: number;
  /** User-assigned identities created in ARM with an AzureIdentity each (`id-0`, `id-1`, …). */
  readonly identities: number;
  /** Identities assigned by hand to every scale set before MIC starts. Default 1. */
  readonly handAssignedPerScaleSet?: number;
}

/** A MIC replica, possibly restarted by a supervisor. */
export interface MicReplica {
  readonly instance: string;
  /** The process running now (the latest one, when supervised). */
  current(): DaemonProcess;
  /** Exits the supervisor saw (codes or signals), oldest first. */
  readonly exits: (number | string)[];
  /** Restarts done by the supervisor. */
  restarts(): number;
  /** SIGKILL the current process (the supervisor, if any, restarts it). */
  kill(): Promise<void>;
  /** Stops supervising and kills the process. */
  stop(): Promise<void>;
}

/** An NMI on one node. */
export interface NmiInstance {
  readonly node: SandboxNode;
  /** `http://<node ip>:<port>`: where that node's pods reach it. */
  readonly url: string;
  readonly daemon: DaemonProcess;
}

/** Options of {@link ChaosCluster.startMic}. */
export interface StartMicOptions {
  /** Restart it when it exits (as the Deployment's kubelet would), after this pause. */
  readonly restartDelayMs?: number;
  /** Lease duration (Go duration). Default `15s`, the flag's default. */
  readonly leaseDuration?: string;
  /** `--client-qps`. Default 200 (the bursts here would take minutes at 5). */
  readonly clientQps?: number;
  readonly extraArgs?: readonly string[];
}

/** The running world of one scenario. */
export interface ChaosCluster {
  readonly sandbox: Sandbox;
  readonly kubeProxy: FaultProxy;
  readonly armProxy: FaultProxy;
  readonly monitor: InvariantMonitor;
  readonly random: SeededRandom;
  /** Identity names, `id-0`… */
  readonly identityNames: readonly string[];
  /** Lower-cased ids of the scale sets, in order. */
  readonly scaleSetIds: readonly string[];
  /** The first node of each scale set. */
  readonly firstNodes: readonly SandboxNode[];
  startMic(instance: string, options?: StartMicOptions): Promise<MicReplica>;
  startNmi(node: SandboxNode, extraArgs?: readonly string[]): Promise<NmiInstance>;
  /** The instance holding MIC's lease, if any. */
  leader(): string | undefined;
  /** Creates an AzureIdentityBinding of an identity to a selector. */
  bind(bindingName: string, identityName: string, selector: string): void;
  /**
   * Creates (or replaces) one pod. Its address is the node's next one round-robin, skipping those live
   * pods hold: an address comes back only after the whole range was used, as CNI plugins hand them
   * out, so a new pod never takes the address of a pod deleted a moment ago (which NMI, while its
   * watch is down, could not yet know was gone).
   */
  createPod(name: string, node: SandboxNode, selector: string): string;
  /** Creates pods `<prefix>-<i>` with the selector, spread round-robin over the given nodes. */
  createPods(
    prefix: string,
    count: number,
    selector: string,
    nodes?: readonly SandboxNode[],
  ): string[];
  /** Deletes pods by `namespace/name`. */
  deletePods(keys: readonly string[]): void;
  /** What is still different from the converged state (empty when converged). */
  differences(): string[];
  /** Waits until {@link ChaosCluster.differences} is empty; returns how long it took. */
  waitConverged(timeoutMs: number, what?: string): Promise<number>;
  /** Keeps a figure for the scenario's results (printed and written by {@link ChaosCluster.stop}). */
  measure(name: string, value: number | string): void;
  stop(): Promise<void>;
}

// The daemons bind their probe and metrics ports on every address: ports handed out here come from
// one counter per run (checked free on all addresses), so two daemons started together never race
// for the same one, and from below Linux's ephemeral range (32768 up), so no outgoing connection
// takes one between the check and the daemon's listen.
let nextPort = 20_000 + Math.floor(Math.random() * 10_000);

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

async function freePort(): Promise<number> {
  for (;;) {
    nextPort = nextPort >= 32_000 ? 20_000 : nextPort + 1;
    if (await isFree(nextPort)) return nextPort;
  }
}

const kubeStatus = (status: number): unknown => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: `chaos proxy: injected ${String(status)}`,
  reason: status === 429 ? 'TooManyRequests' : status >= 500 ? 'InternalError' : 'BadRequest',
  code: status,
});

const armError = (status: number): unknown => ({
  error: {
    code: status === 429 ? 'TooManyRequests' : status >= 500 ? 'InternalServerError' : 'BadRequest',
    message: `chaos proxy: injected ${String(status)}`,
  },
});

/** Polls until `check` is true. */
export async function waitUntil(
  check: () => boolean,
  what: string,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`${what}: not within ${String(timeoutMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

/**
 * Starts a scenario's world. Prints the seed and how to replay it.
 * @param options - shape of the cluster
 * @returns the cluster; stop it in `afterAll`
 */
export async function startChaosCluster(options: ChaosClusterOptions): Promise<ChaosCluster> {
  const seed = runSeed();
  const random = seededRandom(seed, options.scenario);
  console.log(
    `chaos seed ${String(seed)} for "${options.scenario}" (replay: CHAOS_SEED=${String(seed)} pnpm test:chaos -t "${options.scenario}")`,
  );
  const identityNames = Array.from({ length: options.identities }, (_, i) => `id-${String(i)}`);
  const handPerSet = options.handAssignedPerScaleSet ?? 1;
  const sandbox = await startSandbox({
    scaleSets: Array.from({ length: options.scaleSets }, () => ({
      nodeCount: options.nodesPerScaleSet ?? 1,
    })),
    identities: [
      ...identityNames,
      ...Array.from({ length: handPerSet }, (_, i) => `hand-${String(i)}`),
    ],
  });
  const kubeProxy = await startFaultProxy({
    upstream: sandbox.endpoints.kubernetes,
    errorBody: kubeStatus,
  });
  const armProxy = await startFaultProxy({
    upstream: sandbox.endpoints.arm,
    tls: sandbox.certificateAuthority.issueServerCertificate(),
    upstreamCaPem: sandbox.caPem,
    errorBody: armError,
  });
  const dir = mkdtempSync(join(tmpdir(), 'chaos-'));
  writeFileSync(
    join(dir, 'kubeconfig'),
    sandbox.kubeconfigYaml.replaceAll(sandbox.endpoints.kubernetes, kubeProxy.url),
  );
  writeFileSync(join(dir, 'azure.json'), JSON.stringify(sandbox.azureJson));
  writeFileSync(join(dir, 'ca.pem'), sandbox.caPem);
  writeFileSync(join(dir, 'kubelet'), 'KUBELET_FLAGS=--network-plugin=cni\n');

  const store = sandbox.kubernetes.store;
  for (const name of identityNames) {
    const identity = sandbox.identities.get(name);
    if (identity === undefined) throw new Error(`identity ${name} missing`);
    store.put({
      apiVersion: CRD_API_VERSION,
      kind: 'AzureIdentity',
      metadata: { name, namespace: 'default' },
      spec: { type: 0, resourceID: identity.id, clientID: identity.clientId },
    });
  }

  // Identities assigned by hand (as an administrator or another tool would), directly on ARM.
  const scaleSetIds = [...new Set(sandbox.nodes.map((n) => n.identityTargetId.toLowerCase()))];
  const firstNodes = scaleSetIds.map((id) =>
    sandbox.nodes.find((n) => n.identityTargetId.toLowerCase() === id)!,
  );
  const handAssigned = new Map<string, Set<string>>();
  const compute = new ComputeManagementClient(
    {
      getToken: () =>
        Promise.resolve({ token: 'hand', expiresOnTimestamp: Date.now() + 3_600_000 }),
    },
    sandbox.subscriptionId,
    {
      endpoint: sandbox.endpoints.arm,
      ...sandbox.azureClientOptions,
      retryOptions: { maxRetries: 0 },
    },
  );
  const handIds = Array.from(
    { length: handPerSet },
    (_, i) => sandbox.identities.get(`hand-${String(i)}`)?.id ?? '',
  );
  for (const node of firstNodes) {
    if (handIds.length === 0) break;
    await compute.virtualMachineScaleSets.update(
      sandbox.nodeResourceGroup,
      node.scaleSetName ?? '',
      {
        identity: {
          type: 'UserAssigned',
          userAssignedIdentities: Object.fromEntries(handIds.map((id) => [id, {}])),
        },
      },
      { updateIntervalInMs: 5 },
    );
    handAssigned.set(
      node.identityTargetId.toLowerCase(),
      new Set(handIds.map((id) => id.toLowerCase())),
    );
  }
  const monitor = startInvariantMonitor({
    sandbox,
    handAssigned,
    assignedAbsentBoundMs: ASSIGNED_ABSENT_BOUND_MS,
  });

  const replicas: MicReplica[] = [];
  const nmis: NmiInstance[] = [];
  const results: Record<string, number | string> = { seed };

  const micArgs = async (instance: string, options: StartMicOptions): Promise<string[]> => [
    `--kubeconfig=${join(dir, 'kubeconfig')}`,
    `--cloudconfig=${join(dir, 'azure.json')}`,
    `--arm-endpoint=${armProxy.url}`,
    `--authority-host=${sandbox.endpoints.entra}`,
    `--arm-ca-file=${join(dir, 'ca.pem')}`,
    '--arm-poll-interval=100ms',
    `--leader-election-instance=${instance}`,
    `--leader-election-namespace=${MIC_NAMESPACE}`,
    `--leader-election-duration=${options.leaseDuration ?? '15s'}`,
    `--http-probe-port=${String(await freePort())}`,
    `--prometheus-port=${String(await freePort())}`,
    `--client-qps=${String(options.clientQps ?? 200)}`,
    ...(options.extraArgs ?? []),
  ];

  const differences = (): string[] => {
    const problems: string[] = [];
    const desired = desiredPairs(sandbox);
    const records = recordViews(sandbox);
    const byPair = new Map<string, typeof records>();
    for (const record of records) {
      const key = `${record.podKey}|${record.identityKey}`;
      byPair.set(key, [...(byPair.get(key) ?? []), record]);
    }
    const needed = new Map<string, Set<string>>();
    for (const pair of desired) {
      const key = `${pair.podKey}|${pair.identityKey}`;
      const found = byPair.get(key) ?? [];
      byPair.delete(key);
      if (found.length !== 1) problems.push(`${key}: ${String(found.length)} records`);
      else {
        const [record] = found;
        if (record?.state !== 'Assigned' || record.terminating)
          problems.push(
            `${key}: record ${record?.state ?? ''}${record?.terminating === true ? ' terminating' : ''}`,
          );
        else if (
          record.nodeName !== pair.nodeName ||
          (record.podUid ?? pair.podUid) !== pair.podUid
        )
          problems.push(`${key}: record for another node or pod`);
      }
      const target =
        sandbox.nodes.find((n) => n.name === pair.nodeName)?.identityTargetId.toLowerCase() ?? '';
      needed.set(target, (needed.get(target) ?? new Set()).add(pair.resourceId));
    }
    for (const [key, left] of byPair)
      problems.push(`${key}: ${String(left.length)} records left over`);
    const owned = ledgers(sandbox, MIC_NAMESPACE);
    for (const [target, present] of identitiesOnTargets(sandbox)) {
      const hand = handAssigned.get(target) ?? new Set<string>();
      const expected = new Set([...(needed.get(target) ?? []), ...hand]);
      if (new Set(present).size !== present.length)
        problems.push(`${target}: duplicate identities`);
      const missing = [...expected].filter((id) => !present.includes(id));
      const extra = present.filter((id) => !expected.has(id));
      if (missing.length > 0) problems.push(`${target}: missing ${missing.join(', ')}`);
      if (extra.length > 0) problems.push(`${target}: extra ${extra.join(', ')}`);
      const ledger = new Set(owned.get(target) ?? []);
      const added = present.filter((id) => !hand.has(id));
      if (ledger.size !== added.length || added.some((id) => !ledger.has(id)))
        problems.push(
          `${target}: ledger ${[...ledger].join(',') || 'empty'} but MIC's identities there are ${added.join(',') || 'none'}`,
        );
    }
    return problems;
  };

  const nextAddress = new Map<string, number>();
  const addressFor = (node: SandboxNode, name: string): string => {
    const views = podViews(sandbox);
    const own = views.get(`default/${name}`);
    if (own?.live === true && own.nodeName === node.name) return own.ip;
    const held = new Set([...views.values()].filter((pod) => pod.live).map((pod) => pod.ip));
    const prefix = node.podCidr.slice(0, node.podCidr.lastIndexOf('.') + 1);
    for (let tries = 0; tries < 253; tries += 1) {
      const next = ((nextAddress.get(node.name) ?? -1) + 1) % 253;
      nextAddress.set(node.name, next);
      const ip = `${prefix}${String(next + 2)}`;
      if (!held.has(ip)) return ip;
    }
    throw new RangeError(`node ${node.name} has no free pod address`);
  };

  const cluster: ChaosCluster = {
    sandbox,
    kubeProxy,
    armProxy,
    monitor,
    random,
    identityNames,
    scaleSetIds,
    firstNodes,
    async startMic(instance, micOptions = {}) {
      let process = startDaemon('mic', instance, await micArgs(instance, micOptions), {
        MIC_POD_NAMESPACE: MIC_NAMESPACE,
      });
      let supervising = micOptions.restartDelayMs !== undefined;
      // A function, so the compiler does not narrow the flag across awaits.
      const isSupervising = (): boolean => supervising;
      let restarts = 0;
      const exits: (number | string)[] = [];
      const watch = (daemon: DaemonProcess): void => {
        void daemon.exited.then(async (code) => {
          exits.push(code);
          if (!isSupervising()) return;
          await new Promise((resolve) => setTimeout(resolve, micOptions.restartDelayMs));
          if (!isSupervising()) return;
          restarts += 1;
          process = startDaemon('mic', instance, await micArgs(instance, micOptions), {
            MIC_POD_NAMESPACE: MIC_NAMESPACE,
          });
          watch(process);
        });
      };
      watch(process);
      const replica: MicReplica = {
        instance,
        current: () => process,
        exits,
        restarts: () => restarts,
        kill: () => process.kill(),
        async stop() {
          supervising = false;
          await process.kill();
        },
      };
      replicas.push(replica);
      return replica;
    },
    async startNmi(node, extraArgs = []) {
      // A port found free can still be taken by another process on this shared machine before NMI
      // listens: try again with other ports.
      for (let attempt = 1; ; attempt += 1) {
        const port = await freePort();
        const daemon = startDaemon('nmi', `nmi-${node.name}`, [
          `--node=${node.name}`,
          `--nmi-listen-address=${node.internalIp}`,
          `--nmi-port=${String(port)}`,
          `--http-probe-port=${String(await freePort())}`,
          `--prometheus-port=${String(await freePort())}`,
          `--metadata-ip=${node.imds.host}`,
          `--metadata-port=${String(node.imds.port)}`,
          '--operation-mode=standard',
          `--MICNamespace=${MIC_NAMESPACE}`,
          `--kubelet-config=${join(dir, 'kubelet')}`,
          `--kubeconfig=${join(dir, 'kubeconfig')}`,
          '--manage-iptables=false',
          ...extraArgs,
        ]);
        try {
          await daemon.waitForLine('nmi started', 60_000);
        } catch (error) {
          if (attempt < 3 && daemon.output().includes('EADDRINUSE')) continue;
          throw error;
        }
        const nmi = { node, url: `http://${node.internalIp}:${String(port)}`, daemon };
        nmis.push(nmi);
        return nmi;
      }
    },
    leader() {
      const lease = store.get({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace: MIC_NAMESPACE,
        name: LEASE_NAME,
      });
      const holder = (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
      return holder === undefined || holder === '' ? undefined : holder;
    },
    bind(bindingName, identityName, selector) {
      store.put({
        apiVersion: CRD_API_VERSION,
        kind: 'AzureIdentityBinding',
        metadata: { name: bindingName, namespace: 'default' },
        spec: { azureIdentity: identityName, selector },
      } satisfies JsonObject);
    },
    createPod(name, node, selector) {
      sandbox.createPod({
        name,
        nodeName: node.name,
        podIp: addressFor(node, name),
        labels: { aadpodidbinding: selector },
      });
      return `default/${name}`;
    },
    createPods(prefix, count, selector, nodes = sandbox.nodes) {
      return Array.from({ length: count }, (_, i) =>
        cluster.createPod(`${prefix}-${String(i)}`, nodes[i % nodes.length]!, selector),
      );
    },
    deletePods(keys) {
      for (const key of keys) {
        const [namespace = 'default', name = ''] = key.split('/');
        sandbox.deletePod(name, namespace);
      }
    },
    differences,
    async waitConverged(timeoutMs, what = 'convergence') {
      const started = Date.now();
      for (;;) {
        const last = differences();
        if (last.length === 0) return Date.now() - started;
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `${what}: not converged within ${String(timeoutMs)} ms; ${String(last.length)} differences, e.g.\n${last.slice(0, 15).join('\n')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    measure(name, value) {
      results[name] = value;
    },
    async stop() {
      monitor.stop();
      const logs = [
        ...replicas.map((replica) => replica.current()),
        ...nmis.map((nmi) => nmi.daemon),
      ];
      writeLogs(options.scenario, logs);
      await Promise.allSettled(replicas.map((replica) => replica.stop()));
      await Promise.allSettled(nmis.map((nmi) => nmi.daemon.kill()));
      await Promise.allSettled([kubeProxy.close(), armProxy.close()]);
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
      console.log(`chaos result "${options.scenario}": ${JSON.stringify(results)}`);
      writeResult(options.scenario, results);
    },
  };
  return cluster;
}

/** Pods that exist now, for the pollers. */
export function livePodKeys(sandbox: Sandbox, prefix: string): string[] {
  return [...podViews(sandbox).values()]
    .filter((pod) => pod.live && pod.key.startsWith(`default/${prefix}`))
    .map((pod) => pod.key);
}

function writeLogs(scenario: string, daemons: readonly DaemonProcess[]): void {
  const dir = join(import.meta.dirname, '..', 'results');
  const slug = scenario.toLowerCase().replace(/[^a-z0-9]+/gu, '-');
  mkdirSync(dir, { recursive: true });
  for (const daemon of daemons)
    writeFileSync(join(dir, `${slug}.${daemon.name}.log`), daemon.output());
}

function writeResult(scenario: string, results: Record<string, number | string>): void {
  const dir = join(import.meta.dirname, '..', 'results');
  const slug = scenario.toLowerCase().replace(/[^a-z0-9]+/gu, '-');
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${slug}.json`), `${JSON.stringify(results, null, 2)}\n`);
  } catch {
    // results are a convenience for docs/reliability.md; the console line has them too
  }
}
