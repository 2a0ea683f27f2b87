/**
 * Every chart value that becomes a daemon flag reaches the daemon as that value: the args the chart
 * renders are parsed by MIC's and NMI's own command-line parsers (the ones their CLIs use), with
 * every value changed from its default; and with the default values the daemons run with the Go
 * original's defaults, except where the chart deliberately differs (as the Go chart did).
 */
import { parseMicArgs } from '@pod-identity/mic';
import { parseNmiFlags } from '@pod-identity/nmi';
import { describe, expect, it } from 'vitest';
import { expandArgs } from './daemon-process.ts';
import { find, podOf, renderChart } from './render-chart.ts';

async function micArgs(values?: Record<string, unknown>): Promise<string[]> {
  const objects = await renderChart({ namespace: 'kube-system', ...(values ? { values } : {}) });
  return podOf(find(objects, 'Deployment', 'pod-identity-mic')).container.args;
}

async function nmiArgs(values?: Record<string, unknown>): Promise<string[]> {
  const objects = await renderChart({ namespace: 'kube-system', ...(values ? { values } : {}) });
  const args = podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container.args;
  return expandArgs(args, { NODE_NAME: 'aks-nodepool1-0' });
}

function parseNmi(args: readonly string[]): ReturnType<typeof parseNmiFlags> & { ok: true } {
  const parsed = parseNmiFlags(args, {});
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed;
}

describe('MIC flags from the chart', () => {
  it('carry every MIC value', async () => {
    const args = await micArgs({
      forceNamespaced: true,
      customUserAgent: 'ops/1',
      mic: {
        cloudConfig: '/etc/kubernetes/custom.json',
        leaderElection: { instance: 'mic-a', namespace: 'locks', name: 'lock', duration: '20s' },
        probePort: 18080,
        prometheusPort: 18888,
        syncRetryDuration: '30m',
        immutableUserMSIs: ['id-1', 'id-2'],
        createDeleteBatch: 7,
        clientQps: 9,
        updateUserMSIMaxRetry: 5,
        updateUserMSIRetryInterval: '3s',
        identityAssignmentReconcileInterval: '5m',
        logVerbosity: 4,
        loggingFormat: 'json',
      },
    });
    expect(parseMicArgs(args, {})).toMatchObject({
      cloudconfig: '/etc/kubernetes/custom.json',
      forceNamespaced: true,
      leaderElectionInstance: 'mic-a',
      leaderElectionNamespace: 'locks',
      leaderElectionName: 'lock',
      leaderElectionDurationMs: 20_000,
      httpProbePort: 18080,
      prometheusPort: 18888,
      syncRetryDurationMs: 1_800_000,
      immutableUserMsis: ['id-1', 'id-2'],
      createDeleteBatch: 7,
      clientQps: 9,
      updateUserMsiMaxRetry: 5,
      updateUserMsiRetryIntervalMs: 3000,
      identityAssignmentReconcileIntervalMs: 300_000,
      verbosity: 4,
      logFormat: 'json',
      customUserAgent: 'ops/1',
    });
  });

  it("run MIC with the original's defaults, plus the node's azure.json and its own namespace's Lease", async () => {
    const fromChart = parseMicArgs(await micArgs(), {});
    const bare = parseMicArgs([], {});
    expect(fromChart).toEqual({
      ...bare,
      cloudconfig: '/etc/kubernetes/azure.json',
      leaderElectionNamespace: 'kube-system',
    });
  });
});

describe('NMI flags from the chart', () => {
  it('carry every NMI value', async () => {
    const args = await nmiArgs({
      forceNamespaced: true,
      customUserAgent: 'ops/1',
      nmi: {
        ipTableUpdateTimeIntervalInSeconds: 30,
        micNamespace: 'mic-ns',
        exceptionMatch: 'all',
        probePort: 18085,
        prometheusPort: 19090,
        retryAttemptsForCreated: 3,
        retryAttemptsForAssigned: 2,
        findIdentityRetryIntervalInSeconds: 1,
        enableScaleFeatures: false,
        blockInstanceMetadata: true,
        metadataHeaderRequired: false,
        allowNetworkPluginKubenet: true,
        kubeletConfig: '/etc/kubelet-env',
        setRetryAfterHeader: true,
        enableConntrackDeletion: true,
        logVerbosity: 2,
        loggingFormat: 'json',
      },
    });
    expect(parseNmi(args).flags).toMatchObject({
      node: 'aks-nodepool1-0',
      operationMode: 'standard',
      forceNamespaced: true,
      iptUpdateIntervalSec: 30,
      micNamespace: 'mic-ns',
      exceptionMatch: 'all',
      httpProbePort: 18085,
      prometheusPort: 19090,
      retryAttemptsForCreated: 3,
      retryAttemptsForAssigned: 2,
      findIdentityRetryInterval: 1,
      enableScaleFeatures: false,
      blockInstanceMetadata: true,
      metadataHeaderRequired: false,
      allowNetworkPluginKubenet: true,
      kubeletConfig: '/etc/kubelet-env',
      setRetryAfterHeader: true,
      enableConntrackDeletion: true,
      logLevel: 'debug',
      logFormat: 'json',
      customUserAgent: 'ops/1',
    });
  });

  it("run NMI with the original's defaults, plus the manifests' probe port 8085 and MIC's namespace", async () => {
    const fromChart = parseNmi(await nmiArgs()).flags;
    const bare = parseNmi(['--node=aks-nodepool1-0']).flags;
    expect(fromChart).toEqual({ ...bare, httpProbePort: 8085, micNamespace: 'kube-system' });
  });

  it('run NMI in managed mode, namespaced, with the managed values', async () => {
    const objects = await renderChart({
      namespace: 'kube-system',
      valuesFiles: ['ci/managed-values.yaml'],
    });
    const args = podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container.args;
    const flags = parseNmi(expandArgs(args, { NODE_NAME: 'aks-nodepool1-0' })).flags;
    expect(flags.operationMode).toBe('managed');
    expect(flags.forceNamespaced).toBe(true);
  });
});
