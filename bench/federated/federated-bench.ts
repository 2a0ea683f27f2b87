import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { createMic, type Mic } from '@pod-identity/mic';
import { createNmi, silentLogger, type Nmi } from '@pod-identity/nmi';
import { startSandbox, type Sandbox, type SandboxNode } from '@pod-identity/testkit';

const RESOURCE = 'https://vault.azure.net';
const silent = silentLogger;
/** A realistic scale-set identity update: AKS takes 40–60 s per VMSS; 20 s keeps the run short. */
const REALISTIC_ARM_MS = 20_000;

function ask(nmi: Nmi, podIp: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(nmi.url);
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(RESOURCE)}`,
        headers: { Metadata: 'true' },
        localAddress: podIp,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Milliseconds from `create()` until the pod's first 200, asking again at once after a refusal. */
async function firstToken(nmi: Nmi, create: () => string): Promise<number> {
  const started = performance.now();
  const podIp = create();
  for (;;) {
    if ((await ask(nmi, podIp)) === 200) return performance.now() - started;
    if (performance.now() - started > 180_000) throw new Error('no token within 3 minutes');
  }
}

interface World {
  sandbox: Sandbox;
  node: SandboxNode;
  nmi: Nmi;
  mic: Mic;
}

async function startWorld(armOperationDurationMs: number): Promise<World> {
  const sandbox = await startSandbox({
    nodeCount: 1,
    identities: ['standard-id', 'workload-id', 'bound-id'],
    federated: true,
    armOperationDurationMs,
  });
  const node = sandbox.nodes[0]!;
  // The sandbox's ARM accepts any bearer token unless asked to verify them.
  const credential = {
    getToken: () => Promise.resolve({ token: 'bench', expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  const mic = createMic({
    kubeConfig: sandbox.kubeConfig,
    credential,
    armEndpoint: sandbox.endpoints.arm,
    armClientOptions: sandbox.azureClientOptions,
    namespace: 'kube-system',
    leaderElection: false,
    armPollIntervalMs: 50,
    clientQps: Number.POSITIVE_INFINITY,
    logger: silent,
  });
  mic.start();
  await mic.whenActive(AbortSignal.timeout(30_000));
  const tokenRequestKubeConfig = new KubeConfig();
  tokenRequestKubeConfig.loadFromString(node.nodeKubeconfigYaml);
  const nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: sandbox.kubeConfig,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    findIdentityRetryIntervalMs: 50,
    credentialOptions: sandbox.credentialOptions,
    logger: silent,
    federated: {
      tokenRequestKubeConfig,
      defaultTenantId: sandbox.tenantId,
      authorityHost: sandbox.endpoints.entra,
    },
  });
  const standard = sandbox.identities.get('standard-id')!;
  const workload = sandbox.identities.get('workload-id')!;
  const store = sandbox.kubernetes.store;
  store.put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { namespace: 'default', name: 'standard' },
    spec: { type: 0, resourceID: standard.id, clientID: standard.clientId },
  });
  store.put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { namespace: 'default', name: 'standard-binding' },
    spec: { azureIdentity: 'standard', selector: 'standard' },
  });
  store.put({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      namespace: 'default',
      name: 'workload',
      annotations: { 'azure.workload.identity/client-id': workload.clientId },
    },
  });
  sandbox.addFederatedCredential('workload-id', {
    name: 'workload',
    subject: 'system:serviceaccount:default:workload',
  });
  // Federation chosen by the AzureIdentity (annotation), for pods its binding selects.
  const bound = sandbox.identities.get('bound-id')!;
  store.put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: {
      namespace: 'default',
      name: 'bound',
      annotations: { 'aadpodidentity.k8s.io/federated': 'true' },
    },
    spec: { type: 0, resourceID: bound.id, clientID: bound.clientId },
  });
  store.put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { namespace: 'default', name: 'bound-binding' },
    spec: { azureIdentity: 'bound', selector: 'bound' },
  });
  store.put({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { namespace: 'default', name: 'bound-sa' },
  });
  sandbox.addFederatedCredential('bound-id', {
    name: 'bound-sa',
    subject: 'system:serviceaccount:default:bound-sa',
  });
  return { sandbox, node, nmi, mic };
}

async function stopWorld(world: World): Promise<void> {
  await world.nmi.close();
  await world.mic.stop();
  await world.sandbox.stop();
}

const podIpOf = (pod: Record<string, unknown>): string => (pod.status as { podIP: string }).podIP;

function summary(samples: number[]): { n: number; minMs: number; medianMs: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 10) / 10;
  return {
    n: sorted.length,
    minMs: round(sorted[0] ?? 0),
    medianMs: round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    maxMs: round(sorted.at(-1) ?? 0),
  };
}

/** Sequential cache hits of one pod: latency percentiles in microseconds. */
async function hitLatency(nmi: Nmi, podIp: string, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    if ((await ask(nmi, podIp)) !== 200) throw new Error('a cache hit was refused');
    samples.push((performance.now() - started) * 1000);
  }
  return samples;
}

const percentile = (samples: readonly number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return Math.round(
    sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0,
  );
};

const loadBefore = loadavg();
const results: Record<string, unknown> = {};
let counter = 0;

/** How a pod gets its identity in each mode measured: its service account and labels. */
const MODES = {
  standard: { labels: { aadpodidbinding: 'standard' } },
  // Federated by the service account's annotation.
  federated: {
    serviceAccountName: 'workload',
    labels: { 'azure.workload.identity/use': 'true' },
  },
  // Federated by the bound AzureIdentity's annotation.
  byIdentity: { serviceAccountName: 'bound-sa', labels: { aadpodidbinding: 'bound' } },
} as const;
type Mode = keyof typeof MODES;
const modes = Object.keys(MODES) as Mode[];

/** Creates a pod of the mode on the world's node; its pod IP. */
function modePod(world: World, mode: Mode, name: string): string {
  return podIpOf(world.sandbox.createPod({ name, nodeName: world.node.name, ...MODES[mode] }));
}

const perMode = (): Record<Mode, number[]> => ({ standard: [], federated: [], byIdentity: [] });
const p50p99 = (samples: readonly number[]): { p50: number; p99: number } => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
});
const overStandardP50 = (samples: Record<Mode, number[]>, mode: Mode): number =>
  Math.round((percentile(samples[mode], 50) / percentile(samples.standard, 50)) * 100) / 100;

// Pod created → first token, standard mode with ARM at 0 ms, and both federated modes, on one
// sandbox, the modes alternating.
{
  const world = await startWorld(0);
  const firstTokens = perMode();
  for (let i = 0; i < 5; i += 1) {
    for (const mode of modes)
      firstTokens[mode].push(
        await firstToken(world.nmi, () =>
          modePod(world, mode, `${mode.toLowerCase()}-${String(counter++)}`),
        ),
      );
  }
  results.firstTokenStandardArm0 = summary(firstTokens.standard);
  results.firstTokenFederated = summary(firstTokens.federated);
  results.firstTokenFederatedByIdentity = summary(firstTokens.byIdentity);

  // The cache-hit path, one pod of each mode on the same NMI, in alternating blocks.
  const hitPods = {} as Record<Mode, string>;
  for (const mode of modes) hitPods[mode] = modePod(world, mode, `hit-${mode.toLowerCase()}`);
  for (const mode of modes) await firstToken(world.nmi, () => hitPods[mode]);
  const hits = perMode();
  for (let block = 0; block < 10; block += 1) {
    for (const mode of modes) hits[mode].push(...(await hitLatency(world.nmi, hitPods[mode], 300)));
  }
  results.hitPath = {
    requestsEach: hits.standard.length,
    standardUs: p50p99(hits.standard),
    federatedUs: p50p99(hits.federated),
    federatedByIdentityUs: p50p99(hits.byIdentity),
    federatedOverStandardP50: overStandardP50(hits, 'federated'),
    federatedByIdentityOverStandardP50: overStandardP50(hits, 'byIdentity'),
  };
  await stopWorld(world);
}

// Standard mode with a realistic scale-set update time (one sample: it is the scale set's time).
{
  const world = await startWorld(REALISTIC_ARM_MS);
  results.firstTokenStandardRealisticArm = {
    armOperationMs: REALISTIC_ARM_MS,
    ...summary([await firstToken(world.nmi, () => modePod(world, 'standard', 'slow-std'))]),
  };
  await stopWorld(world);
}

results.load = {
  before: loadBefore.map((v) => Math.round(v * 100) / 100),
  after: loadavg().map((v) => Math.round(v * 100) / 100),
};
results.date = new Date().toISOString();
console.log(JSON.stringify(results, null, 2));
writeFileSync(
  join(import.meta.dirname, '..', 'results', 'federated.json'),
  `${JSON.stringify(results, null, 2)}\n`,
);
