/**
 * The static manifests (`deploy/manifests/`, rendered from the Helm chart) against a real
 * kube-apiserver: every object is applied with server-side apply in dry-run mode and strict field
 * validation, so the API server runs defaulting, validation and admission on each one (a misspelt
 * or misplaced field is a 400, not a silently dropped key) without storing anything that the other
 * conformance files rely on.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { connectRealCluster, locateKubeBinaries, type RealCluster } from './harness.ts';

interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

const repoRoot = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
let cluster: RealCluster;

beforeAll(async () => {
  cluster = await connectRealCluster();
});

async function manifest(file: string): Promise<ManifestObject[]> {
  const text = await readFile(join(repoRoot, file), 'utf8');
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as ManifestObject | null)
    .filter((object): object is ManifestObject => object !== null);
}

/** The REST path of an object, from the server's own discovery document for its group version. */
async function pathOf(object: ManifestObject): Promise<string> {
  const base = object.apiVersion.includes('/')
    ? `/apis/${object.apiVersion}`
    : `/api/${object.apiVersion}`;
  const discovery = await cluster.request('GET', base);
  expect(discovery.status, `the server does not serve ${object.apiVersion}`).toBe(200);
  const resources = (
    discovery.body as { resources: { name: string; kind: string; namespaced: boolean }[] }
  ).resources;
  const resource = resources.find((r) => r.kind === object.kind && !r.name.includes('/'));
  if (!resource)
    throw new Error(`the server does not serve ${object.kind} in ${object.apiVersion}`);
  if (resource.namespaced && !object.metadata.namespace) {
    throw new Error(`${object.kind}/${object.metadata.name} is namespaced but names no namespace`);
  }
  const namespace = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? ''}` : '';
  return `${base}${namespace}/${resource.name}/${object.metadata.name}`;
}

/** Applies one object with server-side apply in dry-run mode and strict field validation. */
async function expectAccepted(object: ManifestObject): Promise<void> {
  const id = `${object.kind}/${object.metadata.name}`;
  const res = await cluster.request(
    'PATCH',
    `${await pathOf(object)}?dryRun=All&fieldManager=pod-identity-deploy&fieldValidation=Strict&force=true`,
    { body: JSON.stringify(object), contentType: 'application/apply-patch+yaml' },
  );
  expect(res.status, `${id}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  // Warnings would mean deprecated APIs or fields the server ignores.
  expect(res.headers.warning, `${id} drew a warning`).toBeUndefined();
  const stored = res.body as ManifestObject;
  expect(stored.kind).toBe(object.kind);
  expect(stored.metadata.name).toBe(object.metadata.name);
}

describe.each(['deploy/manifests/standard.yaml', 'deploy/manifests/managed.yaml'])('%s', (file) => {
  it('is accepted object by object by kube-apiserver (server-side apply, dry run, strict fields)', async () => {
    const objects = await manifest(file);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) await expectAccepted(object);
  });
});

describe('the chart with every optional part on (ci/full-values.yaml)', () => {
  it('is accepted object by object by kube-apiserver (server-side apply, dry run, strict fields)', async () => {
    const bins = await locateKubeBinaries();
    const chart = join(repoRoot, 'deploy/charts/pod-identity');
    const { stdout } = await run(
      bins.helm,
      [
        'template',
        'pod-identity',
        chart,
        '--namespace',
        'kube-system',
        '--kube-version',
        bins.kubeVersion,
        '--values',
        join(chart, 'ci/full-values.yaml'),
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const objects = parseAllDocuments(stdout)
      .map((doc) => doc.toJS() as ManifestObject | null)
      .filter((object): object is ManifestObject => object !== null);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['Secret', 'AzureIdentity', 'AzureIdentityBinding', 'Role']),
    );
    for (const object of objects) await expectAccepted(object);
  });
});

describe('the server keeps what the chart relies on', () => {
  it('keeps the NMI DaemonSet host network, capabilities and node name as written', async () => {
    const objects = await manifest('deploy/manifests/standard.yaml');
    const nmi = objects.find((o) => o.kind === 'DaemonSet');
    if (!nmi) throw new Error('no DaemonSet in the standard manifest');
    const res = await cluster.request(
      'PATCH',
      `${await pathOf(nmi)}?dryRun=All&fieldManager=pod-identity-deploy&fieldValidation=Strict&force=true`,
      { body: JSON.stringify(nmi), contentType: 'application/apply-patch+yaml' },
    );
    const pod = (res.body as { spec: { template: { spec: Record<string, unknown> } } }).spec
      .template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    const container = (pod.containers as { securityContext: unknown; env: unknown }[])[0];
    expect(container?.securityContext).toMatchObject({
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    });
    expect(container?.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
    });
  });
});
