/**
 * The built images (`pnpm images:build`), each started from its own unpacked filesystem with
 * run-container.ts, against the testkit sandbox, as a cluster runs them:
 * - MIC with the chart's args, user, capabilities and volumes, in a network namespace of its own,
 *   assigns an identity to the node's scale set;
 * - NMI likewise, in a "node" namespace joined to a "pod" namespace by a veth pair: it installs its
 *   iptables redirect there, a pod's request to 169.254.169.254 reaches it, and it answers with the
 *   pod's token; on SIGTERM it removes the redirect;
 * - the demo image, in the "pod" namespace, prints the walkthrough's success lines.
 * The sandbox's emulators stay on this process's loopback; forward-into-namespace.ts makes them
 * reachable inside the namespaces at the same addresses (the node's IMDS at 169.254.169.254:80, as on
 * a node). Nothing is sent anywhere else: no namespace has a route out.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  POD_ADDRESS,
  createNodeAndPod,
  deleteNamespaces,
  runInNamespace,
} from '@pod-identity/test-support/netns';
import { containerEnv, expandArgs } from '../../test/daemon-process.ts';
import { find, podOf, renderChart, type RenderedObject } from '../../test/render-chart.ts';
import { DEFAULT_OUT, DEFAULT_REPOSITORY, imageReference, type BuiltImage } from '../build.ts';
import { COMPONENTS, componentManifest } from '../components.ts';
import { unpackOciArchive, type OciImage } from '../oci-archive.ts';
import { addressOf, forwardIntoNamespace, type Forward } from './forward-into-namespace.ts';
import { runContainer, type ContainerMount, type RunningContainer } from './run-container.ts';

const run = promisify(execFile);
const suffix = String(process.pid);
const micNs = `pi-img-mic-${suffix}`;
const nodeNs = `pi-img-node-${suffix}`;
const podNs = `pi-img-pod-${suffix}`;
const namespace = 'kube-system';
const IMDS = '169.254.169.254';

let scratch: string;
let sandbox: Sandbox;
let built: BuiltImage[];
const unpacked = new Map<string, OciImage & { rootfs: string }>();
const forwards: Forward[] = [];
const containers: RunningContainer[] = [];
let containerCount = 0;

function image(name: string): OciImage & { rootfs: string } {
  const found = unpacked.get(name);
  if (!found) throw new Error(`image ${name} was not unpacked`);
  return found;
}

/** A fresh directory for one container's overlay. */
function containerScratch(): string {
  containerCount += 1;
  return join(scratch, `container-${String(containerCount)}`);
}

beforeAll(async () => {
  const record = join(DEFAULT_OUT, 'images.json');
  if (!existsSync(record)) throw new Error(`${record} is missing: run pnpm images:build first`);
  built = JSON.parse(readFileSync(record, 'utf8')) as BuiltImage[];
  scratch = mkdtempSync(join(tmpdir(), 'pod-identity-images-test-'));
  for (const b of built) {
    const rootfs = join(scratch, `${b.name}-rootfs`);
    unpacked.set(b.name, { ...unpackOciArchive(join(DEFAULT_OUT, b.archive), rootfs), rootfs });
  }
  sandbox = await startSandbox({ nodeCount: 1 });
  writeFileSync(join(scratch, 'kubeconfig'), sandbox.kubeconfigYaml);
  writeFileSync(join(scratch, 'azure.json'), JSON.stringify(sandbox.azureJson));
  // As on a node: root-owned, readable by root only.
  chmodSync(join(scratch, 'azure.json'), 0o600);
  writeFileSync(join(scratch, 'ca.pem'), sandbox.caPem);
  writeFileSync(join(scratch, 'kubelet'), 'KUBELET_FLAGS=--network-plugin=cni --max-pods=30\n');
  writeFileSync(join(scratch, 'xtables.lock'), '');

  await run('ip', ['netns', 'add', micNs]);
  await run('ip', ['-n', micNs, 'link', 'set', 'lo', 'up']);
  // The pod's only route to IMDS is through the node, as on a cluster node.
  await createNodeAndPod(nodeNs, podNs, `${IMDS}/32`);
  // The node's own IMDS address (what NMI asks for tokens), answered by the sandbox's IMDS of node 0.
  await run('ip', ['-n', nodeNs, 'addr', 'add', `${IMDS}/32`, 'dev', 'lo']);
  const kubernetes = addressOf(sandbox.endpoints.kubernetes);
  const arm = addressOf(sandbox.endpoints.arm);
  forwards.push(
    await forwardIntoNamespace(micNs, [kubernetes, arm, addressOf(sandbox.endpoints.entra)]),
    await forwardIntoNamespace(nodeNs, [
      kubernetes,
      { host: IMDS, port: 80, target: addressOf(sandbox.nodes[0]!.imdsUrl) },
    ]),
    await forwardIntoNamespace(podNs, [arm]),
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(containers.map((c) => c.stop().catch(() => null)));
  await Promise.all(forwards.map((f) => f.close()));
  await deleteNamespaces(podNs, nodeNs, micNs);
  await sandbox.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

/** What the chart's hostPath volumes stand for here. */
function hostPathSubstitutes(): Record<string, string> {
  return {
    '/etc/kubernetes/azure.json': join(scratch, 'azure.json'),
    '/etc/default/kubelet': join(scratch, 'kubelet'),
    '/run/xtables.lock': join(scratch, 'xtables.lock'),
  };
}

/**
 * The chart's container as run-container.ts options: its volume mounts (hostPaths replaced by the
 * test's files), its user, the capabilities it adds back after dropping all, its read-only root.
 */
function fromChart(workload: RenderedObject): {
  mounts: ContainerMount[];
  runAsUser: number | undefined;
  capabilities: string[];
  readOnlyRoot: boolean;
} {
  const { pod, container } = podOf(workload);
  const substitutes = hostPathSubstitutes();
  const mounts = (container.volumeMounts ?? []).map((mount) => {
    const hostPath = pod.volumes?.find((v) => v.name === mount.name)?.hostPath?.path;
    const source = hostPath === undefined ? undefined : substitutes[hostPath];
    if (source === undefined) throw new Error(`no stand-in for volume ${mount.name} (${hostPath})`);
    return { source, target: mount.mountPath, readOnly: mount.readOnly ?? false };
  });
  const security = container.securityContext ?? {};
  expect(security.capabilities?.drop).toEqual(['ALL']);
  expect(security.allowPrivilegeEscalation).toBe(false);
  return {
    mounts,
    runAsUser: security.runAsUser,
    capabilities: (security.capabilities?.add ?? []).map((cap) => `cap_${cap.toLowerCase()}`),
    readOnlyRoot: security.readOnlyRootFilesystem === true,
  };
}

/** The end of what a container printed, for failure messages. */
function tail(container: RunningContainer): string {
  return container.output().slice(-4000);
}

/** Polls `check` every 100 ms until it returns a value; throws with the container's output. */
async function until<T>(
  what: string,
  container: RunningContainer,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const state = { exited: false };
  void container.exited.then(() => {
    state.exited = true;
  });
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (state.exited) throw new Error(`the container exited before ${what}:\n${tail(container)}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}:\n${tail(container)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** GET `url` with this machine's node, run inside `ns`; resolves with status and body. */
async function getIn(
  ns: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const script = `fetch(${JSON.stringify(url)},{headers:${JSON.stringify(headers)},signal:AbortSignal.timeout(20000)}).then(async r=>console.log(JSON.stringify({status:r.status,body:await r.text()})),e=>{console.log(JSON.stringify({status:0,body:String(e)}))})`;
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
  return JSON.parse(stdout) as { status: number; body: string };
}

function natChain(): Promise<{ code: number; stdout: string }> {
  return runInNamespace(nodeNs, 'iptables', ['-w', '-t', 'nat', '-S', 'aad-metadata']);
}

/** Whether PREROUTING jumps to NMI's chain in the node namespace (exit code 0 when it does). */
function preroutingJump(): Promise<{ code: number }> {
  return runInNamespace(nodeNs, 'iptables', [
    '-w',
    '-t',
    'nat',
    '-C',
    'PREROUTING',
    '-j',
    'aad-metadata',
  ]);
}

/** Packets NMI's DNAT rule has redirected so far (its iptables counter in the node namespace). */
async function redirectedPackets(): Promise<number> {
  const listing = await runInNamespace(nodeNs, 'iptables', [
    '-w',
    '-t',
    'nat',
    '-L',
    'aad-metadata',
    '-n',
    '-v',
    '-x',
  ]);
  const dnat = listing.stdout.split('\n').find((line) => line.includes('DNAT'));
  const packets = Number(dnat?.trim().split(/\s+/)[0]);
  if (!Number.isInteger(packets)) throw new Error(`no DNAT counter in:\n${listing.stdout}`);
  return packets;
}

describe('the built images', () => {
  it.each(COMPONENTS.map((c) => c.name))(
    '%s carries the chart-style reference, the OCI labels and stays within 40 MB beyond Node',
    (name) => {
      const b = built.find((x) => x.name === name)!;
      const version = componentManifest(COMPONENTS.find((c) => c.name === name)!).version;
      const { reference, config } = image(name);
      expect(reference).toBe(imageReference(DEFAULT_REPOSITORY, name, version));
      expect(b.reference).toBe(reference);
      const labels = config.config.Labels ?? {};
      expect(labels['org.opencontainers.image.version']).toBe(version);
      expect(labels['org.opencontainers.image.licenses']).toBe('MIT');
      expect(labels['org.opencontainers.image.source']).toMatch(/^https:\/\//);
      expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
      expect(config.os).toBe('linux');
      expect(b.uncompressedBytes - b.nodeBytes).toBeLessThanOrEqual(40 * 1e6);
      // No shell, no package manager: the entrypoint is the only program besides NMI's iptables.
      expect(existsSync(join(image(name).rootfs, 'bin/sh'))).toBe(false);
      expect(existsSync(join(image(name).rootfs, 'usr/bin/apt'))).toBe(false);
    },
  );

  it("are the images the chart's default values name", async () => {
    const objects = await renderChart({ namespace });
    expect(podOf(find(objects, 'Deployment', 'pod-identity-mic')).container.image).toBe(
      image('mic').reference,
    );
    expect(podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container.image).toBe(
      image('nmi').reference,
    );
  });

  it('run MIC and the demo as the non-root user 65532, NMI as root', () => {
    expect(image('mic').config.config.User).toBe('65532:65532');
    expect(image('demo').config.config.User).toBe('65532:65532');
    expect(image('nmi').config.config.User).toBe('0:0');
  });

  it('keep the root filesystem read-only: a write fails with EROFS', async () => {
    const demo = image('demo');
    const container = runContainer({
      rootfs: demo.rootfs,
      config: {
        ...demo.config,
        config: {
          ...demo.config.config,
          Entrypoint: [
            '/usr/local/bin/node',
            '-e',
            "try { require('fs').writeFileSync('/app/x', '') } catch (e) { console.log(e.code) }",
          ],
        },
      },
      networkNamespace: podNs,
      scratch: containerScratch(),
    });
    expect(await container.exited).toBe(0);
    expect(container.output().trim()).toBe('EROFS');
    await container.stop();
  });
});

describe('the images on a cluster node', () => {
  let mic: RunningContainer;
  let nmi: RunningContainer;
  const identity = { name: 'images', clientId: '', id: '' };

  it('MIC, run as the chart runs it, leads and assigns an identity to the scale set', async () => {
    const workload = find(await renderChart({ namespace }), 'Deployment', 'pod-identity-mic');
    const chart = fromChart(workload);
    const env = containerEnv(podOf(workload).container, { 'metadata.namespace': namespace });
    const started = Date.now();
    mic = runContainer({
      rootfs: image('mic').rootfs,
      config: image('mic').config,
      args: [
        ...podOf(workload).container.args,
        // The in-cluster service account and Azure's public endpoints, replaced by the sandbox's.
        '--kubeconfig=/var/run/test/kubeconfig',
        `--arm-endpoint=${sandbox.endpoints.arm}`,
        `--authority-host=${sandbox.endpoints.entra}`,
        '--arm-ca-file=/var/run/test/ca.pem',
        '--arm-poll-interval=100ms',
      ],
      env,
      mounts: [
        ...chart.mounts,
        { source: join(scratch, 'kubeconfig'), target: '/var/run/test/kubeconfig', readOnly: true },
        { source: join(scratch, 'ca.pem'), target: '/var/run/test/ca.pem', readOnly: true },
      ],
      runAsUser: chart.runAsUser,
      capabilities: chart.capabilities,
      readOnlyRoot: chart.readOnlyRoot,
      networkNamespace: micNs,
      scratch: containerScratch(),
    });
    containers.push(mic);
    await until('MIC to lead', mic, () => {
      const lease = sandbox.kubernetes.store.get({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace,
        name: 'aad-pod-identity-mic',
      });
      return (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
    });
    console.log(`mic image: leading ${String(Date.now() - started)} ms after start`);
    const health = await getIn(micNs, 'http://127.0.0.1:8080/healthz');
    expect(health).toEqual({ status: 200, body: 'Active' });

    const created = sandbox.createIdentity(identity.name);
    identity.clientId = created.clientId;
    identity.id = created.id;
    const store = sandbox.kubernetes.store;
    store.put({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: { name: identity.name, namespace: 'default' },
      spec: { type: 0, resourceID: created.id, clientID: created.clientId },
    });
    store.put({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentityBinding',
      metadata: { name: `${identity.name}-binding`, namespace: 'default' },
      spec: { azureIdentity: identity.name, selector: identity.name },
    });
    sandbox.createPod({
      name: 'app',
      nodeName: sandbox.nodes[0]!.name,
      labels: { aadpodidbinding: identity.name },
      podIp: POD_ADDRESS,
    });
    const status = await until('the assignment', mic, () => {
      const record = store.get({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureAssignedIdentity',
        namespace: 'default',
        name: `app-default-${identity.name}`,
      });
      const value = (record?.status as { status?: string } | undefined)?.status;
      return value === 'Assigned' ? value : undefined;
    });
    expect(status).toBe('Assigned');
  });

  it('NMI, run as the chart runs it on the node, installs its redirect with NET_ADMIN', async () => {
    const workload = find(await renderChart({ namespace }), 'DaemonSet', 'pod-identity-nmi');
    const chart = fromChart(workload);
    expect(chart.capabilities.sort()).toEqual(['cap_net_admin', 'cap_net_raw']);
    const node = sandbox.nodes[0]!;
    const env = containerEnv(podOf(workload).container, { 'spec.nodeName': node.name });
    const started = Date.now();
    nmi = runContainer({
      rootfs: image('nmi').rootfs,
      config: image('nmi').config,
      args: [
        ...expandArgs(podOf(workload).container.args, env),
        '--kubeconfig=/var/run/test/kubeconfig',
      ],
      env,
      mounts: [
        ...chart.mounts,
        { source: join(scratch, 'kubeconfig'), target: '/var/run/test/kubeconfig', readOnly: true },
      ],
      runAsUser: chart.runAsUser,
      capabilities: chart.capabilities,
      readOnlyRoot: chart.readOnlyRoot,
      networkNamespace: nodeNs,
      scratch: containerScratch(),
    });
    containers.push(nmi);
    const listing = await until('the redirect', nmi, async () => {
      const chain = await natChain();
      // The manager fills the chain first, then inserts the jump to it.
      const installed =
        chain.code === 0 && chain.stdout.includes('DNAT') && (await preroutingJump()).code === 0;
      return installed ? chain.stdout : undefined;
    });
    console.log(`nmi image: redirect installed ${String(Date.now() - started)} ms after start`);
    expect(listing).toContain(
      `-d ${IMDS}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579`,
    );
    // The entrypoint chose the backend of a node with no rules yet.
    expect(nmi.output()).toContain('"backend":"nft"');
    await until('NMI to be active', nmi, async () => {
      const res = await getIn(nodeNs, 'http://127.0.0.1:8085/healthz');
      return res.body === 'Active' ? true : undefined;
    });
  });

  it("gives the pod its identity's token through the redirect", async () => {
    const url = `http://${IMDS}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/`;
    const before = await redirectedPackets();
    const res = await getIn(podNs, `${url}&client_id=${identity.clientId}`, { Metadata: 'true' });
    expect(res.status, `${res.body}\nNMI:\n${tail(nmi)}`).toBe(200);
    const token = JSON.parse(res.body) as Record<string, string>;
    expect(token.client_id).toBe(identity.clientId);
    expect(token.access_token).toEqual(expect.any(String));
    // The node's IMDS address is local in the node's namespace too: the DNAT rule's counter shows the
    // pod's connection went to NMI instead.
    expect(await redirectedPackets()).toBeGreaterThan(before);
  });

  it('the demo image, run in the pod, prints the success lines', async () => {
    const started = Date.now();
    const demo = runContainer({
      rootfs: image('demo').rootfs,
      config: image('demo').config,
      args: [
        '--once',
        '--subscription-id',
        sandbox.subscriptionId,
        '--resource-group',
        sandbox.nodeResourceGroup,
        '--client-id',
        identity.clientId,
        '--arm-endpoint',
        sandbox.endpoints.arm,
        '--arm-ca-file',
        '/var/run/test/ca.pem',
      ],
      env: { MY_POD_NAME: 'app', MY_POD_NAMESPACE: 'default', MY_POD_IP: POD_ADDRESS },
      mounts: [{ source: join(scratch, 'ca.pem'), target: '/var/run/test/ca.pem', readOnly: true }],
      networkNamespace: podNs,
      scratch: containerScratch(),
    });
    containers.push(demo);
    expect(await demo.exited, tail(demo)).toBe(0);
    console.log(`demo image: one round in ${String(Date.now() - started)} ms`);
    const output = demo.output();
    expect(output).toContain(
      `successfully acquired a token, userAssignedID MSI, msiEndpoint(http://${IMDS}/metadata/identity/oauth2/token) clientID(${identity.clientId})`,
    );
    expect(output).toMatch(/successfully doARMOperations vm count \d+/);
    expect(output).toContain('successfully made GET on instance metadata');
  });

  it('NMI removes its redirect and exits 0 on SIGTERM; so does MIC', async () => {
    expect(await nmi.stop(), tail(nmi)).toBe(0);
    expect((await natChain()).code).not.toBe(0);
    expect((await preroutingJump()).code).not.toBe(0);
    expect(await mic.stop(), tail(mic)).toBe(0);
  });
});
