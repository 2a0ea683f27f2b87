// pod-identity-nmi with --enable-conntrack-deletion but without the iptables redirect (the deletion
// itself, after a real install, is shown in conntrack-netns.test.ts): NMI says once that the flag
// does nothing, and serves.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call } from './nmi-test-support.js';

const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
const hooks = join(import.meta.dirname, 'source-hooks.ts');
const NO_EFFECT =
  'enable-conntrack-deletion has no effect with manage-iptables=false: nmi installs no redirect';
let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1 });
  dir = mkdtempSync(join(tmpdir(), 'nmi-cli-conntrack-'));
  writeFileSync(join(dir, 'kubeconfig'), sandbox.kubeconfigYaml);
  writeFileSync(join(dir, 'kubelet'), 'KUBELET_FLAGS=--network-plugin=cni\n');
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

it('warns once that the flag needs the managed redirect, and keeps serving', async () => {
  const node = sandbox.nodes[0]!;
  const [port, probe, metrics] = await Promise.all([
    freePort(node.internalIp),
    freePort(node.internalIp),
    freePort(node.internalIp),
  ]);
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      hooks,
      cli,
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
    ],
    { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const warned = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes(NO_EFFECT)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      reject(new Error(`nmi exited ${String(code)} before warning:\n${out}`));
    });
  });
  await warned;

  const probeAnswer = await call(`http://${node.internalIp}:${String(probe)}`, {
    path: '/healthz',
  });
  expect(probeAnswer.status).toBe(200);
  const noHeader = await call(`http://${node.internalIp}:${String(port)}`, {
    path: '/metadata/identity/oauth2/token',
  });
  expect(noHeader.status).toBe(400);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const lines = out.split('\n').filter((line) => line.includes(NO_EFFECT));
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, msg: NO_EFFECT });
}, 30_000); // starting Node on the sources takes seconds on a loaded machine
