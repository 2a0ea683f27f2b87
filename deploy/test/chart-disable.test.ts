// The Helm chart's objects, with every optional part of it on (ci/*.yaml values): the built
// `pod-identity` CLI (`pnpm build`) enables with the rendered chart as its manifest, then disables
// with it. Disable removes every object enable created from it and keeps the CRDs; installed by Helm
// instead (no mark from enable), the same objects are refused and named, and nothing is deleted.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubernetesEmulator, type KubernetesEmulator } from '@pod-identity/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CHART_DIR } from '../../scripts/deploy/helm.ts';
import { builtBin } from './daemon-process.ts';
import { renderChart, type RenderedObject } from './render-chart.ts';

/** The chart's defaults, then each values file of its ci/ directory. */
const VALUES_FILES = [
  'values.yaml',
  ...readdirSync(join(CHART_DIR, 'ci'))
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => `ci/${file}`),
];

let kube: KubernetesEmulator;
let scratch: string;

beforeEach(async () => {
  kube = await startKubernetesEmulator();
  for (const name of ['default', 'kube-system'])
    kube.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  scratch = mkdtempSync(join(tmpdir(), 'pod-identity-chart-disable-'));
  writeFileSync(join(scratch, 'kubeconfig'), kube.kubeconfigYaml);
});
afterEach(async () => {
  await kube.close();
  rmSync(scratch, { recursive: true, force: true });
});

function podIdentity(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [builtBin('cli', 'pod-identity'), '--kubeconfig', join(scratch, 'kubeconfig'), ...args],
      { env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr });
      },
    );
  });
}

function labelOf(object: RenderedObject): string {
  const { name, namespace } = object.metadata;
  return `${object.kind} ${namespace === undefined ? name : `${namespace}/${name}`}`;
}

function stored(object: RenderedObject) {
  return kube.store.get({
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
  });
}

// helm runs once per values file, not once per test.
const rendered = new Map<string, Promise<RenderedObject[]>>();

async function renderTo(valuesFile: string): Promise<{
  path: string;
  crds: RenderedObject[];
  others: RenderedObject[];
}> {
  let objects = rendered.get(valuesFile);
  if (objects === undefined) {
    objects = renderChart({
      namespace: 'kube-system',
      ...(valuesFile === 'values.yaml' ? {} : { valuesFiles: [valuesFile] }),
    });
    rendered.set(valuesFile, objects);
  }
  const path = join(scratch, 'chart.yaml');
  const all = await objects;
  writeFileSync(path, all.map((object) => stringify(object)).join('---\n'));
  return {
    path,
    crds: all.filter((o) => o.kind === 'CustomResourceDefinition'),
    others: all.filter((o) => o.kind !== 'CustomResourceDefinition'),
  };
}

describe.each(VALUES_FILES)('pod-identity disable with the chart rendered with %s', (file) => {
  it('deletes every object enable created from the chart and keeps the CRDs', async () => {
    const { path, crds, others } = await renderTo(file);
    const enabled = await podIdentity('enable', '--nmi-manifest', path);
    expect(enabled.stderr).toBe('');
    expect(enabled.code).toBe(0);
    for (const object of others) expect(stored(object), labelOf(object)).toBeDefined();

    // The chart's identities (values azureIdentities) are pod identities: --force is the ask.
    const disabled = await podIdentity('disable', '--force', '--nmi-manifest', path);
    expect(disabled.stderr).toBe('');
    expect(disabled.code).toBe(0);
    for (const object of others) {
      expect(disabled.stdout).toContain(`${labelOf(object)} deleted\n`);
      expect(stored(object), labelOf(object)).toBeUndefined();
    }
    expect(crds).toHaveLength(4);
    for (const crd of crds) expect(stored(crd), crd.metadata.name).toBeDefined();
  });

  it('refuses, naming them all, when Helm installed the objects', async () => {
    const { path, crds, others } = await renderTo(file);
    for (const crd of crds) kube.store.put(crd);
    for (const object of others) kube.store.put(object);
    const refused = await podIdentity('disable', '--force', '--nmi-manifest', path);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `error: ${String(others.length)} objects were not created by pod-identity enable`,
    );
    for (const object of others) {
      expect(refused.stderr).toContain(labelOf(object));
      expect(stored(object), labelOf(object)).toBeDefined();
    }
  });
});
