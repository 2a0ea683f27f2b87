// Values files written for the AAD Pod Identity chart 4.1.x (the Go original's last chart line) install
// this chart unchanged: string ports and flags, `""` for "the default", the Go images and keys this
// chart no longer uses. The fixtures under fixtures/go-chart-4.1/ are the Go chart's default values and
// files typical users of it kept (identities, managed mode, namespaced matching, registries, scheduling,
// sizing and disruption budgets).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, pinnedKubeVersion, runHelm } from '../../scripts/deploy/helm.ts';
import { find, parseManifest, podOf, renderChart, renderNotes } from './render-chart.ts';

const FIXTURES = 'deploy/test/fixtures/go-chart-4.1';
const appVersion = (
  parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string }
).appVersion;

/** Renders the chart with one fixture (a path relative to the chart, as --values takes it). */
function renderGo(fixture: string, namespace = 'kube-system') {
  return renderChart({ namespace, valuesFiles: [join('../../..', FIXTURES, fixture)] });
}

function argOf(args: readonly string[], flag: string): string | undefined {
  const prefix = `${flag}=`;
  return args.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

describe("the Go chart's default values file (chart 4.1.18)", () => {
  const rendered = renderGo('default-values.yaml');
  const ours = renderChart({ namespace: 'kube-system' });

  it("renders the same MIC and NMI flags as this chart's own defaults", async () => {
    for (const [kind, name] of [
      ['Deployment', 'pod-identity-mic'],
      ['DaemonSet', 'pod-identity-nmi'],
    ] as const) {
      const go = podOf(find(await rendered, kind, name)).container;
      const own = podOf(find(await ours, kind, name)).container;
      expect(go.args, name).toEqual(own.args);
      expect(go.ports, name).toEqual(own.ports);
    }
  });

  it('turns "" into the defaults: probe ports, durations, retries and the log format', async () => {
    const mic = podOf(find(await rendered, 'Deployment', 'pod-identity-mic')).container;
    expect(argOf(mic.args, '--http-probe-port')).toBe('8080');
    expect(argOf(mic.args, '--syncRetryDuration')).toBe('3600s');
    expect(argOf(mic.args, '--leader-election-name')).toBe('aad-pod-identity-mic');
    expect(argOf(mic.args, '--createDeleteBatch')).toBe('20');
    expect(argOf(mic.args, '--log-format')).toBe('text');
    const nmi = podOf(find(await rendered, 'DaemonSet', 'pod-identity-nmi')).container;
    expect(argOf(nmi.args, '--http-probe-port')).toBe('8085');
    expect(argOf(nmi.args, '--block-instance-metadata')).toBe('false');
    expect(argOf(nmi.args, '--retry-attempts-for-created')).toBe('16');
    expect(nmi.ports).toContainEqual({ name: 'health', containerPort: 8085, protocol: 'TCP' });
  });

  it("runs this project's images, not the Go original's v1.8.17 ones", async () => {
    const objects = await rendered;
    expect(podOf(find(objects, 'Deployment', 'pod-identity-mic')).container.image).toBe(
      `ghcr.io/pod-identity/mic:${appVersion}`,
    );
    expect(podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container.image).toBe(
      `ghcr.io/pod-identity/nmi:${appVersion}`,
    );
  });

  it('installs the exceptions from the string "true" and keeps the CRDs', async () => {
    const kinds = (await rendered).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toContain('AzurePodIdentityException/pod-identity-mic');
    expect(kinds).toContain('AzurePodIdentityException/aks-addon-exception');
    expect(kinds.filter((k) => k.startsWith('CustomResourceDefinition/'))).toHaveLength(4);
  });

  it('names every value that changed meaning in the release notes', async () => {
    const notes = await renderNotes({
      valuesFiles: [join('../../..', FIXTURES, 'default-values.yaml')],
    });
    expect(notes).toContain('rbac.pspEnabled is ignored');
    expect(notes).toContain('mcr.microsoft.com/oss/azure/aad-pod-identity');
    expect(notes).toContain(`mic.tag v1.8.17 is a release of the Go original`);
    expect(notes).toContain(`nmi.tag v1.8.17 is a release of the Go original`);
    expect(await renderNotes()).not.toContain('changed meaning');
  });
});

describe("typical users' values files of the Go chart", () => {
  it('creates the identities and bindings of the azureIdentities map, with a name apart from its key', async () => {
    const objects = await renderGo('identities.yaml');
    const msi = find(objects, 'AzureIdentity', 'orders-reader');
    expect(msi.metadata.namespace).toBe('shop');
    expect(msi.spec).toMatchObject({ type: 0, clientID: '0a0a0a0a-1111-2222-3333-444444444444' });
    const sp = find(objects, 'AzureIdentity', 'legacy-principal');
    expect(sp.metadata.namespace).toBe('batch');
    expect(sp.spec).toMatchObject({
      type: 1,
      clientPassword: { name: 'legacy-sp-secret', namespace: 'batch' },
    });
    expect(find(objects, 'AzureIdentityBinding', 'legacy-sp-binding').spec).toEqual({
      azureIdentity: 'legacy-principal',
      selector: 'nightly-batch',
    });
  });

  it('runs NMI alone in managed mode, namespaced, with the string retry settings as numbers', async () => {
    const objects = await renderGo('managed.yaml');
    expect(objects.some((o) => o.kind === 'Deployment')).toBe(false);
    const nmi = podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container;
    expect(argOf(nmi.args, '--operation-mode')).toBe('managed');
    expect(argOf(nmi.args, '--forceNamespaced')).toBe('true');
    expect(argOf(nmi.args, '--retry-attempts-for-created')).toBe('1');
    expect(argOf(nmi.args, '--find-identity-retry-interval')).toBe('1');
    expect(argOf(nmi.args, '--set-retry-after-header')).toBe('true');
  });

  it('matches namespaced from forceNamespaced "true" and leaves the exceptions out on "false"', async () => {
    const objects = await renderGo('force-namespaced.yaml');
    for (const [kind, name] of [
      ['Deployment', 'pod-identity-mic'],
      ['DaemonSet', 'pod-identity-nmi'],
    ] as const) {
      expect(argOf(podOf(find(objects, kind, name)).container.args, '--forceNamespaced')).toBe(
        'true',
      );
    }
    expect(objects.some((o) => o.kind === 'AzurePodIdentityException')).toBe(false);
  });

  it('pulls from a private registry with its secret and keeps tags that are not Go releases', async () => {
    const objects = await renderGo('custom-images.yaml');
    const mic = podOf(find(objects, 'Deployment', 'pod-identity-mic'));
    expect(mic.container.image).toBe('contoso.azurecr.io/pod-identity/mic:0.1.0-hotfix.1');
    const nmi = find(objects, 'DaemonSet', 'pod-identity-nmi');
    expect(podOf(nmi).container.image).toBe(
      'contoso.azurecr.io/pod-identity/nmi-custom:0.1.0-hotfix.1',
    );
    const nmiPod = (nmi.spec as { template: { spec: { imagePullSecrets: unknown } } }).template
      .spec;
    expect(nmiPod.imagePullSecrets).toEqual([{ name: 'contoso-acr' }]);
  });

  it('places MIC and NMI by their own nodeSelector, tolerations and affinity', async () => {
    const objects = await renderGo('scheduling.yaml');
    const mic = podOf(find(objects, 'Deployment', 'pod-identity-mic')).pod;
    // helm merges maps: the default kubernetes.io/os selector stays beside the user's key.
    expect(mic.nodeSelector).toEqual({
      'kubernetes.io/os': 'linux',
      'kubernetes.azure.com/mode': 'system',
    });
    expect(mic.tolerations).toEqual([{ key: 'CriticalAddonsOnly', operator: 'Exists' }]);
    expect(mic.affinity).toHaveProperty(
      'nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution',
    );
    const nmi = podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).pod;
    expect(nmi.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'pool-role': 'apps' });
    expect(nmi.tolerations).toEqual([
      { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
    ]);
    expect(nmi.affinity).toHaveProperty(
      'nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution',
    );
  });

  it('sizes MIC and NMI, budgets disruptions and passes string tuning flags as numbers', async () => {
    const objects = await renderGo('resources-pdb.yaml');
    const micObject = find(objects, 'Deployment', 'pod-identity-mic');
    expect((micObject.spec as { replicas: number }).replicas).toBe(3);
    const mic = podOf(micObject).container as { resources?: unknown } & ReturnType<
      typeof podOf
    >['container'];
    expect(mic.resources).toEqual({
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
    expect(argOf(mic.args, '--createDeleteBatch')).toBe('50');
    expect(argOf(mic.args, '--clientQps')).toBe('10');
    expect(argOf(mic.args, '--http-probe-port')).toBe('9080');
    expect(argOf(mic.args, '--v')).toBe('4');
    expect(argOf(mic.args, '--log-format')).toBe('json');
    expect(mic.ports).toContainEqual({ name: 'metrics', containerPort: 9888, protocol: 'TCP' });
    // helm merges maps: the default minAvailable stays beside the user's maxUnavailable.
    expect(find(objects, 'PodDisruptionBudget', 'pod-identity-mic').spec).toMatchObject({
      maxUnavailable: 1,
    });
    const nmi = podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container;
    expect(argOf(nmi.args, '--block-instance-metadata')).toBe('true');
    expect(argOf(nmi.args, '--metadata-header-required')).toBe('false');
    expect(argOf(nmi.args, '--ipt-update-interval-sec')).toBe('30');
    expect(nmi.ports).toContainEqual({ name: 'metrics', containerPort: 9191, protocol: 'TCP' });
  });

  it('creates the PodMonitors the Go chart offered, selecting MIC and NMI pods', async () => {
    const objects = await renderGo('resources-pdb.yaml');
    for (const component of ['mic', 'nmi']) {
      const monitor = find(objects, 'PodMonitor', `pod-identity-${component}`);
      expect(monitor.metadata.labels?.release).toBe('kube-prometheus');
      expect(monitor.spec).toMatchObject({
        selector: { matchLabels: { 'app.kubernetes.io/component': component } },
        podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
      });
    }
    expect((await renderChart()).some((o) => o.kind === 'PodMonitor')).toBe(false);
  });
});

describe('--set-string, as the Go chart took every setting', () => {
  it('accepts string ports, empty durations and string booleans', async () => {
    const result = await runHelm([
      'template',
      'pod-identity',
      CHART_DIR,
      '--kube-version',
      pinnedKubeVersion(),
      '--set-string',
      'nmi.probePort=8086,mic.syncRetryDuration=,nmi.enableScaleFeatures=false,rbac.enabled=true',
    ]);
    expect(result.stderr).toBe('');
    const objects = parseManifest(result.stdout);
    const nmi = podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container;
    expect(argOf(nmi.args, '--http-probe-port')).toBe('8086');
    expect(argOf(nmi.args, '--enableScaleFeatures')).toBe('false');
    const mic = podOf(find(objects, 'Deployment', 'pod-identity-mic')).container;
    expect(argOf(mic.args, '--syncRetryDuration')).toBe('3600s');
  });
});

describe('pod-identity.defaults (what "" stands for)', () => {
  const helpers = readFileSync(join(CHART_DIR, 'templates/_helpers.tpl'), 'utf8');
  const block = /\{\{- define "pod-identity\.defaults" -\}\}\n([\s\S]*?)\{\{- end -\}\}/.exec(
    helpers,
  );
  const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;

  it('repeats values.yaml exactly', () => {
    expect(block?.[1]).toBeDefined();
    const defaults = parse(block?.[1] ?? '') as Record<string, unknown>;
    const check = (
      part: Record<string, unknown>,
      against: Record<string, unknown>,
      path: string,
    ) => {
      for (const [key, value] of Object.entries(part)) {
        if (value !== null && typeof value === 'object') {
          check(
            value as Record<string, unknown>,
            against[key] as Record<string, unknown>,
            `${path}${key}.`,
          );
        } else {
          expect(against[key], `${path}${key}`).toEqual(value);
        }
      }
    };
    check(defaults, values, '');
    expect(Object.keys(defaults).length).toBeGreaterThan(5);
  });
});
