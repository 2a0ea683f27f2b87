/**
 * The chart's MIC and NMI containers, run for real: the built CLIs (`pnpm build`) started with the
 * exact args and env the chart renders, against the testkit sandbox (Kubernetes, ARM, Entra and IMDS
 * emulators). What a cluster provides differently is substituted, and only that:
 * - `$(NODE_NAME)` and `fieldRef` env are resolved from the sandbox, as the kubelet resolves them;
 * - a hostPath flag value (`--cloudconfig`, `--kubelet-config`) points at a file with the sandbox's
 *   content instead of the node's;
 * - port values become free loopback ports, since 8080/8085/8888/9090 may be taken on this machine;
 * - the in-cluster service account and Azure's public endpoints are replaced by the sandbox's, with
 *   the CLIs' own flags for that (`--kubeconfig`, `--arm-endpoint`, `--arm-ca-file`, …), appended.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtBin,
  containerEnv,
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
