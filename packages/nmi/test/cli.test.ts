// The pod-identity-nmi command as the DaemonSet runs it, against the sandbox.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceHooksPath as hooks } from '@pod-identity/test-support/source-hooks-path';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call } from './nmi-test-support.js';

const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1 });
  dir = mkdtempSync(join(tmpdir(), 'nmi-cli-'));
  writeFileSync(join(dir, 'kubeconfig'), sandbox.kubeconfigYaml);
  writeFileSync(join(dir, 'kubelet'), 'KUBELET_FLAGS=--network-plugin=cni\n');
  writeFileSync(join(dir, 'kubelet-kubenet'), 'KUBELET_FLAGS=--network-plugin=kubenet\n');
});

afterAll(async () => {
  await sandbox.stop();
});

function freePort(host: string): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function start(args: string[]) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', hooks, cli, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, output: () => out };
}

it('starts with the chart’s flags, serves, and exits 0 on SIGTERM', async () => {
  const node = sandbox.nodes[0]!;
  const [port, probe, metrics] = await Promise.all([
    freePort(node.internalIp),
    freePort(node.internalIp),
    freePort(node.internalIp),
  ]);
  const nmi = start([
    `--node=${node.name}`,
    `--nmi-listen-address=${node.internalIp}`,
    `--nmi-port=${String(port)}`,
    `--http-probe-port=${String(probe)}`,
    `--prometheus-port=${String(metrics)}`,
    `--metadata-ip=${node.imds.host}`,
    `--metadata-port=${String(node.imds.port)}`,
    '--operation-mode=standard',
    '--forceNamespaced=false',
    '--MICNamespace=kube-system',
    '--enableScaleFeatures=true',
    '--metadata-header-required=true',
    `--kubelet-config=${join(dir, 'kubelet')}`,
    `--kubeconfig=${join(dir, 'kubeconfig')}`,
    '--manage-iptables=false',
  ]);
  for (let i = 0; i < 400 && !nmi.output().includes('nmi started'); i += 1)
    await new Promise((r) => setTimeout(r, 25));
  expect(nmi.output()).toContain('"msg":"nmi started"');
  const probeAnswer = await call(`http://${node.internalIp}:${String(probe)}`, {
    path: '/healthz',
  });
  expect(probeAnswer).toMatchObject({ status: 200, body: 'Active' });
  const noHeader = await call(`http://${node.internalIp}:${String(port)}`, {
    path: '/metadata/identity/oauth2/token',
  });
  expect(noHeader.status).toBe(400);
  nmi.child.kill('SIGTERM');
  expect(await nmi.exited).toBe(0);
  // Every log line names its component once: a repeated key makes the JSON ambiguous for log
  // pipelines (JSON.parse would keep the last one silently, so the raw text is counted).
  const logLines = nmi
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'));
  expect(logLines.length).toBeGreaterThanOrEqual(3); // started, signal, shutting down
  for (const line of logLines) {
    expect(line.split('"component":').length - 1, line).toBe(1);
    expect(JSON.parse(line)).toMatchObject({ component: 'nmi' });
  }
}, 30_000); // starting Node on the sources takes seconds on a loaded machine

it('refuses to run on kubenet unless allowed, and rejects bad flags with exit 2', async () => {
  const kubenet = start([
    '--node=n',
    `--kubelet-config=${join(dir, 'kubelet-kubenet')}`,
    `--kubeconfig=${join(dir, 'kubeconfig')}`,
  ]);
  expect(await kubenet.exited).toBe(1);
  expect(kubenet.output()).toContain('AAD Pod Identity is not supported for Kubenet');
  const bad = start(['--node=n', '--nmi-port=abc']);
  expect(await bad.exited).toBe(2);
  expect(bad.output()).toContain('--nmi-port: invalid value "abc"');
}, 30_000);

it('warns once that --enable-conntrack-deletion needs the managed redirect, and keeps serving', async () => {
  // The deletion itself, after a real install, is shown in conntrack-netns.test.ts.
  const noEffect =
    'enable-conntrack-deletion has no effect with manage-iptables=false: nmi installs no redirect';
  const node = sandbox.nodes[0]!;
  const [port, probe, metrics] = await Promise.all([
    freePort(node.internalIp),
    freePort(node.internalIp),
    freePort(node.internalIp),
  ]);
  const nmi = start([
    `--node=${node.name}`,
    `--nmi-listen-address=${node.internalIp}`,
    `--nmi-port=${String(port)}`,
    `--http-probe-port=${String(probe)}`,
    `--prometheus-port=${String(metrics)}`,
    `--metadata-ip=${node.imds.host}`,
    `--metadata-port=${String(node.imds.port)}`,
    `--kubelet-config=${join(dir, 'kubelet')}`,
    `--kubeconfig=${join(dir, 'kubeconfig')}`,
    '--manage-iptables=false',
    '--enable-conntrack-deletion',
  ]);
  for (let i = 0; i < 400 && !nmi.output().includes('nmi started'); i += 1)
    await new Promise((r) => setTimeout(r, 25));
  const probeAnswer = await call(`http://${node.internalIp}:${String(probe)}`, {
    path: '/healthz',
  });
  expect(probeAnswer.status).toBe(200);
  const noHeader = await call(`http://${node.internalIp}:${String(port)}`, {
    path: '/metadata/identity/oauth2/token',
  });
  expect(noHeader.status).toBe(400);
  nmi.child.kill('SIGTERM');
  expect(await nmi.exited).toBe(0);
  const lines = nmi
    .output()
    .split('\n')
    .filter((line) => line.includes(noEffect));
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, msg: noEffect });
}, 30_000);
