// `pod-identity disable` deletes only what it was asked to and what `enable` created: never a CRD
// without --delete-crds, never a namespace without --delete-namespaces, never an object someone else
// installed without --delete-unowned; it lists what goes before anything goes, and --dry-run stops
// there. Run with every manifest the project ships (deploy/manifests/*.yaml, the Helm chart rendered)
// and with hand-written ones.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CREATED_BY_ANNOTATION } from '@pod-identity/cli';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startCliSandbox, type CliSandbox } from './cli-sandbox.js';

const MANIFESTS_DIR = fileURLToPath(new URL('../../../deploy/manifests/', import.meta.url));
const SHIPPED_MANIFESTS = readdirSync(MANIFESTS_DIR).filter((file) => file.endsWith('.yaml'));

interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

function objectsOf(path: string): ManifestObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => document.toJS() as ManifestObject | null)
    .filter((object): object is ManifestObject => object !== null);
}

function labelOf(object: ManifestObject): string {
  const { name, namespace } = object.metadata;
  return `${object.kind} ${namespace === undefined ? name : `${namespace}/${name}`}`;
}

// Each test runs several CLI commands against the emulators: seconds on a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

let sandbox: CliSandbox;
let scratch: string;

beforeEach(async () => {
  sandbox = await startCliSandbox();
  scratch = mkdtempSync(join(tmpdir(), 'pod-identity-cli-disable-'));
});
afterEach(async () => {
  await sandbox.close();
  rmSync(scratch, { recursive: true, force: true });
});

function stored(object: ManifestObject) {
  return sandbox.kube.store.get({
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
  });
}

const podIdentity = { apiVersion: 'aadpodidentity.k8s.io/v1', namespace: 'my-app' } as const;

describe.each(SHIPPED_MANIFESTS)('pod-identity disable with deploy/manifests/%s', (file) => {
  const manifest = join(MANIFESTS_DIR, file);
  const objects = objectsOf(manifest);
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
  const others = objects.filter((o) => o.kind !== 'CustomResourceDefinition');

  it('lists first, deletes only what enable created from it, and keeps the CRDs and every identity', async () => {
    expect(crds).toHaveLength(4);
    const mode = file.startsWith('managed') ? 'managed' : 'standard';
    const enabled = await sandbox.run('enable', '--mode', mode, '--nmi-manifest', manifest);
    expect(enabled.stderr).toBe('');
    expect(enabled.code).toBe(0);
    for (const object of others) expect(stored(object), labelOf(object)).toBeDefined();
    const identity = sandbox.createIdentity('app-id');
    const added = await sandbox.run(
      'add',
      '-n',
      'my-app',
      '--name',
      'app',
      '--identity-resource-id',
      identity.id,
    );
    expect(added.stderr).toBe('');

    const refused = await sandbox.run('disable', '--nmi-manifest', manifest);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('1 pod identities still exist: my-app/app');

    const dryRun = await sandbox.run('disable', '--force', '--dry-run', '--nmi-manifest', manifest);
    expect(dryRun.stderr).toBe('');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain('would delete');
    expect(dryRun.stdout).toContain('dry run: nothing was deleted');
    for (const object of others) {
      expect(dryRun.stdout).toContain(`  ${labelOf(object)}\n`);
      expect(stored(object), labelOf(object)).toBeDefined();
    }
    for (const crd of crds)
      expect(dryRun.stdout).toContain(
        `  ${labelOf(crd)}: a CRD; deleting it deletes every object of its kind`,
      );

    const disabled = await sandbox.run('disable', '--force', '--nmi-manifest', manifest);
    expect(disabled.stderr).toBe('');
    expect(disabled.code).toBe(0);
    const listEnd = disabled.stdout.indexOf('keeping 4 objects:');
    expect(listEnd).toBeGreaterThan(0);
    expect(disabled.stdout.indexOf(' deleted\n')).toBeGreaterThan(listEnd);
    for (const object of others) {
      expect(disabled.stdout).toContain(`${labelOf(object)} deleted\n`);
      expect(stored(object), labelOf(object)).toBeUndefined();
    }
    expect(disabled.stdout).toContain('ConfigMap kube-system/pod-identity-settings deleted');
    for (const crd of crds) expect(stored(crd), crd.metadata.name).toBeDefined();
    expect(
      sandbox.kube.store.get({ ...podIdentity, kind: 'AzureIdentity', name: 'app' }),
    ).toBeDefined();
    expect(sandbox.kube.store.list({ ...podIdentity, kind: 'AzureIdentityBinding' })).toHaveLength(
      1,
    );

    const crdsToo = await sandbox.run('disable', '--force', '--delete-crds');
    expect(crdsToo.code).toBe(0);
    for (const crd of crds) {
      expect(crdsToo.stdout).toContain(`${labelOf(crd)} deleted\n`);
      expect(stored(crd), crd.metadata.name).toBeUndefined();
    }
  });

  it('refuses while objects it would delete were installed by someone else, and names them', async () => {
    // What `helm install` leaves: the chart's objects without the annotation enable writes.
    const helmInstalled = others.filter(
      (o) => o.kind === 'ClusterRole' || o.kind === 'ServiceAccount',
    );
    expect(helmInstalled.length).toBeGreaterThan(0);
    for (const object of helmInstalled) sandbox.kube.store.put({ ...object });
    expect((await sandbox.run('enable', '--nmi-manifest', manifest)).code).toBe(0);
    for (const object of helmInstalled)
      expect(stored(object)?.metadata).not.toHaveProperty(['annotations', CREATED_BY_ANNOTATION]);

    const refused = await sandbox.run('disable', '--nmi-manifest', manifest);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `error: ${String(helmInstalled.length)} objects were not created by pod-identity enable and would be deleted: `,
    );
    for (const object of helmInstalled) expect(refused.stderr).toContain(labelOf(object));
    expect(refused.stderr).toContain('--delete-unowned');
    expect(refused.stdout).toBe('');
    for (const object of others) expect(stored(object), labelOf(object)).toBeDefined();

    const preview = await sandbox.run(
      'disable',
      '--nmi-manifest',
      manifest,
      '--delete-unowned',
      '--dry-run',
    );
    expect(preview.code).toBe(0);
    for (const object of helmInstalled)
      expect(preview.stdout).toContain(
        `  ${labelOf(object)} (not created by pod-identity enable; --delete-unowned)\n`,
      );
    const disabled = await sandbox.run('disable', '--nmi-manifest', manifest, '--delete-unowned');
    expect(disabled.code).toBe(0);
    for (const object of others) expect(stored(object), labelOf(object)).toBeUndefined();
  });
});

describe('pod-identity disable with a hand-written manifest', () => {
  it('keeps a namespace unless --delete-namespaces, and never one enable did not create', async () => {
    const manifest = join(scratch, 'nmi.yaml');
    writeFileSync(
      manifest,
      [
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: {name: nmi-system}',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: nmi-settings, namespace: nmi-system}',
        '---',
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: {name: other}',
      ].join('\n'),
    );
    expect((await sandbox.run('enable', '--nmi-manifest', manifest)).code).toBe(0);
    const namespace = (name: string) =>
      sandbox.kube.store.get({ apiVersion: 'v1', kind: 'Namespace', name });

    const disabled = await sandbox.run('disable', '--nmi-manifest', manifest);
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toContain(
      '  Namespace nmi-system: a namespace; deleting it deletes everything in it: only with --delete-namespaces\n',
    );
    expect(disabled.stdout).toContain('ConfigMap nmi-system/nmi-settings deleted');
    expect(namespace('nmi-system')).toBeDefined();
    expect(namespace('other')).toBeDefined();

    // `other` was there before enable: asking for namespaces does not take it.
    const refused = await sandbox.run('disable', '--nmi-manifest', manifest, '--delete-namespaces');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'error: 1 objects were not created by pod-identity enable and would be deleted: Namespace other',
    );
    expect(namespace('nmi-system')).toBeDefined();

    writeFileSync(manifest, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: nmi-system}\n');
    const json = await sandbox.run(
      'disable',
      '--nmi-manifest',
      manifest,
      '--delete-namespaces',
      '-o',
      'json',
    );
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as {
      dryRun: boolean;
      delete: string[];
      keep: { object: string; reason: string }[];
      deleted: string[];
    };
    expect(result.dryRun).toBe(false);
    expect(result.delete).toEqual(['Namespace nmi-system']);
    expect(result.deleted).toEqual(['Namespace nmi-system']);
    expect(result.keep.map((kept) => kept.object).sort()).toEqual([
      'CustomResourceDefinition azureassignedidentities.aadpodidentity.k8s.io',
      'CustomResourceDefinition azureidentities.aadpodidentity.k8s.io',
      'CustomResourceDefinition azureidentitybindings.aadpodidentity.k8s.io',
      'CustomResourceDefinition azurepodidentityexceptions.aadpodidentity.k8s.io',
    ]);
    expect(namespace('nmi-system')).toBeUndefined();
  });

  it('with nothing of its own left, deletes nothing', async () => {
    const disabled = await sandbox.run('disable', '--dry-run');
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toBe('nothing to delete\ndry run: nothing was deleted\n');
  });
});
