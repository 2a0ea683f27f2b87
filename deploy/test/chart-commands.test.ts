/**
 * The chart's MIC and NMI containers, run for real: the built CLIs (`pnpm build`) started with the
 * exact args and env the chart renders, against the testkit sandbox (Kubernetes, ARM, Entra and IMDS
 * emulators). What a cluster provides differently is substituted, and only that:
 * - `$(NODE_NAME)` and `fieldRef` env are resolved from the sandbox, as the kubelet resolves them;
 * - a hostPath flag value (`--cloudconfig`, `--kubelet-config`) points at a file with the sandbox's
 *   content instead of the node's;
 * - port values become free loopback ports, since 8080/8085/8888/9090 may be taken on this machine;
 * - the in-cluster service account and Azure's public endpoints are replaced by the sandbox's, with
 *   the CLIs' own flags for that, appended: `--kubeconfig`; MIC's `--arm-endpoint`,
 *   `--authority-host`, `--arm-ca-file`; NMI's `--metadata-ip`/`--metadata-port` (the node's IMDS
 *   emulator) and `--nmi-port` (the node's 127.0.0.1:2579 may be taken here);
 * - NMI runs with `--manage-iptables=false`: this machine's own nat table is not a node's to change
 *   (the iptables rules are NMI's own tests' business, in network namespaces);
 * - every listener is kept on loopback (loopback-only.ts), where a pod would listen on all interfaces.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtBin,
  containerEnv,
  expandArgs,
  freePort,
  startDaemon,
  until,
  type DaemonProcess,
} from './daemon-process.ts';
import { find, podOf, renderChart } from './render-chart.ts';

const namespace = 'kube-system';
let sandbox: Sandbox;
let scratch: string;

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1, identities: ['demo'] });
  scratch = mkdtempSync(join(tmpdir(), 'pod-identity-chart-commands-'));
  writeFileSync(join(scratch, 'kubeconfig'), sandbox.kubeconfigYaml);
  writeFileSync(join(scratch, 'azure.json'), JSON.stringify(sandbox.azureJson));
  writeFileSync(join(scratch, 'ca.pem'), sandbox.caPem);
});

afterAll(async () => {
  await sandbox.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Replaces the value of `--flag=value` args, keeping the flag exactly as the chart wrote it. */
function withValues(args: readonly string[], values: Readonly<Record<string, string>>): string[] {
  const replaced = new Set<string>();
  const result = args.map((arg) => {
    const flag = arg.split('=')[0] ?? arg;
    const value = values[flag];
    if (value === undefined) return arg;
    replaced.add(flag);
    return `${flag}=${value}`;
  });
  const missing = Object.keys(values).filter((flag) => !replaced.has(flag));
  if (missing.length > 0) throw new Error(`the chart no longer passes ${missing.join(', ')}`);
  return result;
}

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: await res.text() };
}

describe('the MIC container of the chart', () => {
  let daemon: DaemonProcess;
  let probePort: number;
  let metricsPort: number;

  beforeAll(async () => {
    const mic = podOf(
      find(await renderChart({ namespace }), 'Deployment', 'pod-identity-mic'),
    ).container;
    probePort = await freePort();
    metricsPort = await freePort();
    const env = containerEnv(mic, { 'metadata.namespace': namespace });
    expect(env).toEqual({ MIC_POD_NAMESPACE: namespace });
    const args = [
      ...withValues(mic.args, {
        '--cloudconfig': join(scratch, 'azure.json'),
        '--http-probe-port': String(probePort),
        '--prometheus-port': String(metricsPort),
      }),
      `--kubeconfig=${join(scratch, 'kubeconfig')}`,
      `--arm-endpoint=${sandbox.endpoints.arm}`,
      `--authority-host=${sandbox.endpoints.entra}`,
      `--arm-ca-file=${join(scratch, 'ca.pem')}`,
      '--arm-poll-interval=100ms',
    ];
    daemon = startDaemon(builtBin('mic', 'pod-identity-mic'), args, env);
  });

  afterAll(async () => {
    await daemon.stop();
  });

  it('accepts every flag and leads on the Lease the chart names', async () => {
    // The chart's readiness and liveness probe: /healthz on the probe port; Active once leading.
    await until('MIC to lead', daemon, async () => {
      const res = await httpGet(`http://127.0.0.1:${probePort}/healthz`);
      return res.status === 200 && res.body === 'Active' ? true : undefined;
    });
    const lease = sandbox.kubernetes.store.get({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace,
      name: 'aad-pod-identity-mic',
    });
    expect(lease?.spec).toMatchObject({ leaseDurationSeconds: 15 });
  });

  it("serves the aadpodidentity metrics on the chart's metrics port", async () => {
    const metrics = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('aadpodidentity_');
  });

  it('exits 0 on SIGTERM, as the kubelet stops it', async () => {
    expect(await daemon.stop(), daemon.output()).toBe(0);
  });
});

/** GET from a given source address (a pod IP of the sandbox), as a pod's request reaches NMI. */
function getFrom(
  url: string,
  localAddress: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** NMI with the chart's args for `valuesFiles`, pointed at the sandbox's first node. */
async function startChartNmi(
  valuesFiles: readonly string[],
  edit: (args: string[]) => string[] = (args) => args,
): Promise<{ daemon: DaemonProcess; probePort: number; metricsPort: number; nmiPort: number }> {
  const nmi = podOf(
    find(await renderChart({ namespace, valuesFiles }), 'DaemonSet', 'pod-identity-nmi'),
  ).container;
  const node = sandbox.nodes[0]!;
  const imds = new URL(node.imdsUrl);
  const [probePort, metricsPort, nmiPort] = [await freePort(), await freePort(), await freePort()];
  const env = containerEnv(nmi, { 'spec.nodeName': node.name });
  expect(env).toEqual({ NODE_NAME: node.name });
  const kubeletConfig = join(scratch, 'kubelet');
  writeFileSync(kubeletConfig, 'KUBELET_FLAGS=--network-plugin=cni --max-pods=30\n');
  const args = [
    ...withValues(expandArgs(edit(nmi.args), env), {
      '--http-probe-port': String(probePort),
      '--prometheus-port': String(metricsPort),
      '--kubelet-config': kubeletConfig,
    }),
    `--kubeconfig=${join(scratch, 'kubeconfig')}`,
    // The sandbox's IMDS for this node, NMI's token port, and no iptables on this shared machine.
    `--metadata-ip=${imds.hostname}`,
    `--metadata-port=${imds.port}`,
    `--nmi-port=${String(nmiPort)}`,
    '--manage-iptables=false',
  ];
  expect(args).toContain(`--node=${node.name}`);
  const daemon = startDaemon(builtBin('nmi', 'pod-identity-nmi'), args, env);
  return { daemon, probePort, metricsPort, nmiPort };
}

describe('the NMI container of the chart, standard mode', () => {
  let nmi: Awaited<ReturnType<typeof startChartNmi>>;

  beforeAll(async () => {
    nmi = await startChartNmi([]);
  });

  afterAll(async () => {
    await nmi.daemon.stop();
  });

  it('accepts every flag and reports Active on the probe port once its caches sync', async () => {
    await until('NMI to be active', nmi.daemon, async () => {
      const res = await httpGet(`http://127.0.0.1:${String(nmi.probePort)}/healthz`);
      return res.status === 200 && res.body === 'Active' ? true : undefined;
    });
  });

  it('requires the Metadata header, as --metadata-header-required=true asks', async () => {
    const pod = sandbox.nodes[0]!.podAddressRange.first;
    const url = `http://127.0.0.1:${String(nmi.nmiPort)}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/`;
    const res = await getFrom(url, pod);
    expect(res.status).toBe(400);
    expect(res.body).toContain('Required metadata header not specified');
  });

  it("serves the aadpodidentity metrics on the chart's metrics port", async () => {
    const metrics = await httpGet(`http://127.0.0.1:${String(nmi.metricsPort)}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('aadpodidentity_');
  });

  it('exits 0 on SIGTERM, as the kubelet stops it', async () => {
    expect(await nmi.daemon.stop(), nmi.daemon.output()).toBe(0);
  });
});

describe('the NMI container of the chart, managed mode', () => {
  it('starts with --operation-mode=managed --forceNamespaced=true', async () => {
    const nmi = await startChartNmi(['ci/managed-values.yaml']);
    try {
      await until('NMI to be active', nmi.daemon, async () => {
        const res = await httpGet(`http://127.0.0.1:${String(nmi.probePort)}/healthz`);
        return res.status === 200 && res.body === 'Active' ? true : undefined;
      });
    } finally {
      expect(await nmi.daemon.stop(), nmi.daemon.output()).toBe(0);
    }
  });

  it('needs the --forceNamespaced=true the chart adds: NMI refuses managed mode without it', async () => {
    const nmi = await startChartNmi(['ci/managed-values.yaml'], (args) =>
      args.filter((arg) => arg !== '--forceNamespaced=true'),
    );
    const code = await new Promise<number | null>((resolve) => {
      nmi.daemon.child.once('exit', resolve);
      if (nmi.daemon.child.exitCode !== null) resolve(nmi.daemon.child.exitCode);
    });
    expect(code).not.toBe(0);
    expect(nmi.daemon.output()).toContain('forceNamespaced');
  });
});

/** PATCH to the sandbox's ARM over https, as `az vmss identity assign` would (any bearer passes). */
function armPatch(url: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'PATCH',
        ca: sandbox.caPem,
        headers: { authorization: 'Bearer admin', 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * Namespace `name` with an AzureIdentity `name` for `identity`, a binding with selector `name`, and
 * a pod `app` on the sandbox's node labelled with it; returns the pod's address and its token
 * request URL on NMI (a user-assigned identity by client ID, for ARM).
 */
function bindPodTo(
  identity: { id: string; clientId: string },
  name: string,
  nmiPort: number,
): { podIp: string; url: string } {
  const store = sandbox.kubernetes.store;
  store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  store.put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { name, namespace: name },
    spec: { type: 0, resourceID: identity.id, clientID: identity.clientId },
  });
  store.put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { name: `${name}-binding`, namespace: name },
    spec: { azureIdentity: name, selector: name },
  });
  const pod = sandbox.createPod({
    name: 'app',
    namespace: name,
    nodeName: sandbox.nodes[0]!.name,
    labels: { aadpodidbinding: name },
  });
  const podIp = (pod.status as { podIP: string }).podIP;
  const url =
    `http://127.0.0.1:${String(nmiPort)}/metadata/identity/oauth2/token` +
    `?api-version=2018-02-01&resource=https://management.azure.com/&client_id=${identity.clientId}`;
  return { podIp, url };
}

describe('the NMI container of the chart, managed mode, serving a pod', () => {
  let nmi: Awaited<ReturnType<typeof startChartNmi>>;

  beforeAll(async () => {
    nmi = await startChartNmi(['ci/managed-values.yaml']);
    await until('NMI to be active', nmi.daemon, async () => {
      const res = await httpGet(`http://127.0.0.1:${String(nmi.probePort)}/healthz`);
      return res.body === 'Active' ? true : undefined;
    });
  });

  afterAll(async () => {
    await nmi.daemon.stop();
  });

  it('gives a pod the token of an identity bound in its namespace and assigned by hand', async () => {
    const node = sandbox.nodes[0]!;
    const identity = sandbox.createIdentity('managed');
    // Managed mode has no MIC: the administrator assigns the identity to the scale set.
    const status = await armPatch(
      `${sandbox.endpoints.arm}${node.identityTargetId}?api-version=2024-07-01`,
      {
        identity: { type: 'UserAssigned', userAssignedIdentities: { [identity.id]: {} } },
      },
    );
    expect(status).toBe(200);
    const { podIp, url } = bindPodTo(identity, 'managed', nmi.nmiPort);
    // NMI's informers see the new objects within moments; until then it answers 404, as to any
    // pod it cannot match yet, and a client retries.
    const token = await until('a token from NMI', nmi.daemon, async () => {
      const res = await getFrom(url, podIp, { Metadata: 'true' });
      return res.status === 200 ? (JSON.parse(res.body) as Record<string, string>) : undefined;
    });
    expect(token.client_id).toBe(identity.clientId);
    expect(token.token_type).toBe('Bearer');
    expect(token.access_token).toEqual(expect.any(String));
  });

  it('refuses the same identity to a pod of another namespace (managed mode is namespaced)', async () => {
    const node = sandbox.nodes[0]!;
    const identity = sandbox.identities.get('managed')!;
    sandbox.kubernetes.store.put({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'other' },
    });
    const pod = sandbox.createPod({
      name: 'intruder',
      namespace: 'other',
      nodeName: node.name,
      labels: { aadpodidbinding: 'managed' },
    });
    const podIp = (pod.status as { podIP: string }).podIP;
    const url =
      `http://127.0.0.1:${String(nmi.nmiPort)}/metadata/identity/oauth2/token` +
      `?api-version=2018-02-01&resource=https://management.azure.com/&client_id=${identity.clientId}`;
    // No identity for this pod: IMDS's final 400 "Identity not found", at once (managed mode does
    // not wait; the Go NMI answered 404, which SDKs retry).
    const res = await getFrom(url, podIp, { Metadata: 'true' });
    expect(res.status).toBe(400);
    expect(res.body).toContain('Identity not found');
    expect(res.body).not.toContain('access_token');
  });
});

describe('the chart MIC and NMI together', () => {
  let mic: DaemonProcess;
  let nmi: Awaited<ReturnType<typeof startChartNmi>>;

  beforeAll(async () => {
    const container = podOf(
      find(await renderChart({ namespace }), 'Deployment', 'pod-identity-mic'),
    ).container;
    const env = containerEnv(container, { 'metadata.namespace': namespace });
    const args = [
      ...withValues(container.args, {
        '--cloudconfig': join(scratch, 'azure.json'),
        '--http-probe-port': String(await freePort()),
        '--prometheus-port': String(await freePort()),
      }),
      `--kubeconfig=${join(scratch, 'kubeconfig')}`,
      `--arm-endpoint=${sandbox.endpoints.arm}`,
      `--authority-host=${sandbox.endpoints.entra}`,
      `--arm-ca-file=${join(scratch, 'ca.pem')}`,
      '--arm-poll-interval=100ms',
    ];
    mic = startDaemon(builtBin('mic', 'pod-identity-mic'), args, env);
    nmi = await startChartNmi([]);
    await until('NMI to be active', nmi.daemon, async () => {
      const res = await httpGet(`http://127.0.0.1:${String(nmi.probePort)}/healthz`);
      return res.body === 'Active' ? true : undefined;
    });
  });

  afterAll(async () => {
    await Promise.all([mic.stop(), nmi.daemon.stop()]);
  });

  it(
    'give a pod labelled with a binding selector a token for its identity',
    { timeout: 120_000 },
    async () => {
      const identity = sandbox.createIdentity('chain');
      const { podIp, url } = bindPodTo(identity, 'chain', nmi.nmiPort);
      // One request, as a pod makes it: NMI holds it while MIC assigns the identity to the scale set
      // (up to --retry-attempts-for-created x --find-identity-retry-interval = 80 s with the chart's
      // values), then answers with the token.
      const res = await getFrom(url, podIp, { Metadata: 'true' }, 100_000).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}\nMIC:\n${mic.output()}\nNMI:\n${nmi.daemon.output()}`);
        },
      );
      expect(res.status, `${res.body}\nMIC:\n${mic.output()}\nNMI:\n${nmi.daemon.output()}`).toBe(
        200,
      );
      const token = JSON.parse(res.body) as Record<string, string>;
      expect(token.client_id).toBe(identity.clientId);
      expect(token.access_token).toEqual(expect.any(String));
      const record = sandbox.kubernetes.store.get({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureAssignedIdentity',
        namespace: 'default',
        name: 'app-chain-chain',
      });
      expect((record?.status as { status: string } | undefined)?.status).toBe('Assigned');
    },
  );
});
