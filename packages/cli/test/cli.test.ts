import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setScaleSetIdentity } from '@pod-identity/cli';
import { IdentityDenial } from '@pod-identity/testkit';
import {
  startCliSandbox,
  NODE_GROUP,
  SCALE_SET,
  SUBSCRIPTION,
  type CliSandbox,
} from './cli-sandbox.js';

const GROUP = 'aadpodidentity.k8s.io/v1';
let sandbox: CliSandbox;

beforeEach(async () => {
  sandbox = await startCliSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

const scaleSetId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${NODE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET}`;
function scaleSetIdentityIds(): string[] {
  return (sandbox.arm.getIdentityAssignment(scaleSetId)?.userAssigned ?? []).map((u) =>
    u.resourceId.toLowerCase(),
  );
}

describe('pod-identity enable / disable', () => {
  it('installs the CRDs, records the mode and adds the aks-addon-exception', async () => {
    const result = await sandbox.run('enable', '--mode', 'managed');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/azureidentities.aadpodidentity.k8s.io created',
    );
    expect(result.stdout).toContain('pod identity enabled (managed mode)');
    const exception = sandbox.kube.store.get({
      apiVersion: GROUP,
      kind: 'AzurePodIdentityException',
      namespace: 'kube-system',
      name: 'aks-addon-exception',
    });
    expect(exception?.spec).toEqual({ podLabels: { 'kubernetes.azure.com/managedby': 'aks' } });
    const again = await sandbox.run('enable');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('azureidentities.aadpodidentity.k8s.io updated');
    expect(again.stdout).toContain('mode managed (unchanged)');
    expect(again.stdout).toContain('(managed mode)');
  });

  it('never switches a recorded mode silently: enable --mode refuses, --switch-mode says so', async () => {
    expect((await sandbox.run('enable', '--mode', 'managed')).code).toBe(0);
    const refused = await sandbox.run('enable', '--mode', 'standard');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'error: the cluster runs in managed mode (configmap kube-system/pod-identity-settings); enable --mode standard would switch it under MIC and NMI',
    );
    expect(refused.stderr).toContain('pod-identity enable --mode standard --switch-mode');
    expect(
      (await sandbox.run('delete', '-n', 'a', '--name', 'b', '--mode', 'standard')).stderr,
    ).toContain('error: --mode standard disagrees with the cluster, which runs in managed mode');
    const switched = await sandbox.run('enable', '--mode', 'standard', '--switch-mode');
    expect(switched.code).toBe(0);
    expect(switched.stdout).toContain('mode standard (switched from managed');
  });

  it("follows the Helm chart's record and refuses to switch it outside helm", async () => {
    sandbox.kube.store.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'pod-identity-settings',
        namespace: 'kube-system',
        labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      },
      data: { mode: 'managed' },
    });
    const enabled = await sandbox.run('enable');
    expect(enabled.stdout).toContain('pod identity enabled (managed mode)');
    const refused = await sandbox.run('enable', '--mode', 'standard', '--switch-mode');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('set by the Helm chart');
    expect(refused.stderr).toContain('--set operationMode=standard');
  });

  it('refuses to disable while pod identities exist, then disables', async () => {
    await sandbox.run('enable');
    const identity = sandbox.createIdentity('app-id');
    await sandbox.addPodIdentity('my-app', 'app', identity.id);
    const refused = await sandbox.run('disable');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: 1 pod identities still exist: my-app/app');
    expect(refused.stderr).toContain('hint: delete them first');
    expect((await sandbox.run('delete', '-n', 'my-app', '--name', 'app')).code).toBe(0);
    const disabled = await sandbox.run('disable', '--delete-crds');
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toContain('aks-addon-exception deleted');
    expect(disabled.stdout).toContain(
      'CustomResourceDefinition azureidentities.aadpodidentity.k8s.io deleted',
    );
  });
});

describe('pod-identity enable --nmi-manifest', () => {
  it("applies the manifest's objects and disable deletes them", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nmi-manifest-'));
    const manifest = join(dir, 'nmi.yaml');
    writeFileSync(
      manifest,
      [
        'apiVersion: v1',
        'kind: ServiceAccount',
        'metadata: {name: nmi, namespace: kube-system}',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: nmi-settings, namespace: kube-system}',
        'data: {operationMode: standard}',
      ].join('\n'),
    );
    try {
      const enabled = await sandbox.run('enable', '--nmi-manifest', manifest);
      expect(enabled.stderr).toBe('');
      expect(enabled.stdout).toContain('ServiceAccount kube-system/nmi applied');
      expect(enabled.stdout).toContain('ConfigMap kube-system/nmi-settings applied');
      expect(
        sandbox.kube.store.get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: 'kube-system',
          name: 'nmi-settings',
        }),
      ).toBeDefined();
      const disabled = await sandbox.run('disable', '--nmi-manifest', manifest);
      expect(disabled.stdout).toContain('ConfigMap kube-system/nmi-settings deleted');
      expect(
        sandbox.kube.store.get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: 'kube-system',
          name: 'nmi-settings',
        }),
      ).toBeUndefined();
      const broken = join(dir, 'broken.yaml');
      writeFileSync(broken, 'kind: ConfigMap\n');
      const refused = await sandbox.run('enable', '--nmi-manifest', broken);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('needs apiVersion, kind and metadata.name');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pod-identity add / list / delete', () => {
  beforeEach(async () => {
    expect((await sandbox.run('enable')).code).toBe(0);
  });

  it('creates the AzureIdentity with the client ID read from ARM, and its binding', async () => {
    const identity = sandbox.createIdentity('my-identity');
    const result = await sandbox.run(
      'add',
      '--namespace',
      'my-app',
      '--name',
      'my-pod-identity',
      '--identity-resource-id',
      identity.id,
      '--binding-selector',
      'demo',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `azureidentity.aadpodidentity.k8s.io/my-pod-identity created in namespace my-app (client ID ${identity.clientId})`,
    );
    const stored = sandbox.kube.store.get({
      apiVersion: GROUP,
      kind: 'AzureIdentity',
      namespace: 'my-app',
      name: 'my-pod-identity',
    });
    expect(stored?.spec).toMatchObject({
      type: 0,
      resourceID: identity.id,
      clientID: identity.clientId,
    });
    const binding = sandbox.kube.store.get({
      apiVersion: GROUP,
      kind: 'AzureIdentityBinding',
      namespace: 'my-app',
      name: 'my-pod-identity-binding',
    });
    expect(binding?.spec).toMatchObject({ azureIdentity: 'my-pod-identity', selector: 'demo' });
    // Standard mode: MIC assigns; the CLI leaves the scale set alone.
    expect(scaleSetIdentityIds()).toEqual([]);

    const list = await sandbox.run('list', '-n', 'my-app');
    expect(list.stdout).toMatch(
      /^NAMESPACE\s+NAME\s+TYPE\s+CLIENT-ID\s+BINDING-SELECTOR\s+RESOURCE-ID\n/,
    );
    expect(list.stdout).toMatch(
      new RegExp(
        `my-app\\s+my-pod-identity\\s+UserAssignedMSI\\s+${identity.clientId}\\s+demo\\s+`,
      ),
    );
    const json = JSON.parse((await sandbox.run('list', '-o', 'json')).stdout) as {
      identities: { metadata: { name: string } }[];
      bindings: unknown[];
    };
    expect(json.identities.map((i) => i.metadata.name)).toEqual(['my-pod-identity']);
    expect(json.bindings).toHaveLength(1);
    expect((await sandbox.run('list', '-o', 'yaml')).stdout).toContain(
      'kind: AzureIdentityBinding',
    );

    const deleted = await sandbox.run('delete', '-n', 'my-app', '--name', 'my-pod-identity');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(
      'azureidentitybinding.aadpodidentity.k8s.io/my-pod-identity-binding deleted',
    );
    expect(sandbox.kube.store.list({ apiVersion: GROUP, kind: 'AzureIdentity' })).toEqual([]);
    expect((await sandbox.run('list')).stdout).toBe('no pod identities\n');
  });

  it('in managed mode assigns the identity to the node scale set and removes it on delete', async () => {
    // The cluster records standard mode (beforeEach): managed mode is switched to, not given per command.
    expect((await sandbox.run('enable', '--mode', 'managed', '--switch-mode')).code).toBe(0);
    const first = sandbox.createIdentity('first');
    const second = sandbox.createIdentity('second');
    expect(
      (
        await sandbox.run(
          'add',
          '-n',
          'my-app',
          '--name',
          'one',
          '--identity-resource-id',
          first.id,
          '--mode',
          'managed',
        )
      ).stdout,
    ).toContain(`identity assigned to scale set ${NODE_GROUP}/${SCALE_SET}`);
    // The same Azure identity under a second name in another namespace.
    await sandbox.addPodIdentity('other', 'one-again', first.id, '--mode', 'managed');
    await sandbox.addPodIdentity('my-app', 'two', second.id, '--mode', 'managed');
    expect(scaleSetIdentityIds().sort()).toEqual(
      [first.id.toLowerCase(), second.id.toLowerCase()].sort(),
    );

    // Still used by other/one-again: stays on the scale set.
    const kept = await sandbox.run('delete', '-n', 'my-app', '--name', 'one', '--mode', 'managed');
    expect(kept.stdout).not.toContain('removed from scale set');
    expect(scaleSetIdentityIds()).toContain(first.id.toLowerCase());
    const removed = await sandbox.run(
      'delete',
      '-n',
      'other',
      '--name',
      'one-again',
      '--mode',
      'managed',
    );
    expect(removed.stdout).toContain(`identity removed from scale set ${NODE_GROUP}/${SCALE_SET}`);
    expect(scaleSetIdentityIds()).toEqual([second.id.toLowerCase()]);
  });

  it('in managed mode never removes an identity someone assigned to the scale set by hand', async () => {
    // The cluster records standard mode (beforeEach): managed mode is switched to, not given per command.
    expect((await sandbox.run('enable', '--mode', 'managed', '--switch-mode')).code).toBe(0);
    const handmade = sandbox.createIdentity('handmade');
    // The administrator put it on the scale set before pod identity used it (`az vmss identity assign`).
    const scaleSet = { subscriptionId: SUBSCRIPTION, resourceGroup: NODE_GROUP, name: SCALE_SET };
    expect(await setScaleSetIdentity(scaleSet, handmade.id, true, sandbox.azure)).toBe(true);
    const addArgs = ['--identity-resource-id', handmade.id, '--mode', 'managed'];
    const added = await sandbox.run('add', '-n', 'my-app', '--name', 'hand', ...addArgs);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(
      `identity already on scale set ${NODE_GROUP}/${SCALE_SET}, assigned outside pod-identity: delete leaves it there`,
    );
    // A second pod identity of the same Azure identity finds it there too, and records nothing.
    expect((await sandbox.run('add', '-n', 'other', '--name', 'hand', ...addArgs)).code).toBe(0);
    for (const namespace of ['my-app', 'other']) {
      const deleted = await sandbox.run(
        'delete',
        '-n',
        namespace,
        '--name',
        'hand',
        '--mode',
        'managed',
      );
      expect(deleted.code).toBe(0);
      expect(deleted.stdout).not.toContain('identity removed from scale set');
      expect(scaleSetIdentityIds()).toEqual([handmade.id.toLowerCase()]);
    }
    expect(sandbox.kube.store.list({ apiVersion: GROUP, kind: 'AzureIdentity' })).toEqual([]);
  });

  it('in managed mode undoes the pod identity when ARM refuses the assignment', async () => {
    // The cluster records standard mode (beforeEach): managed mode is switched to, not given per command.
    expect((await sandbox.run('enable', '--mode', 'managed', '--switch-mode')).code).toBe(0);
    const denied = sandbox.createIdentity('denied');
    sandbox.arm.faults.denyIdentities([denied.id], IdentityDenial.LinkedAuthorizationFailed);
    const result = await sandbox.run(
      'add',
      '-n',
      'my-app',
      '--name',
      'denied',
      '--identity-resource-id',
      denied.id,
      '--mode',
      'managed',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: assign identity on scale set .*LinkedAuthorizationFailed|^error: assign identity on scale set .*permission/,
    );
    expect(result.stderr).toContain('the pod identity was not created');
    expect(result.stderr).toContain('hint: the cluster identity needs "Managed Identity Operator"');
    expect(sandbox.kube.store.list({ apiVersion: GROUP, kind: 'AzureIdentity' })).toEqual([]);
    expect(sandbox.kube.store.list({ apiVersion: GROUP, kind: 'AzureIdentityBinding' })).toEqual(
      [],
    );
  });

  it.each([
    [['--name', 'Bad_Name'], /--name: "Bad_Name" is not an RFC 1123 subdomain/],
    [
      ['--name', 'ok', '--binding-selector', 'no spaces'],
      /--binding-selector: "no spaces" is not a valid label value/,
    ],
    [
      ['--name', 'ok', '-n', 'Not_A_Namespace'],
      /--namespace: "Not_A_Namespace" is not a valid namespace/,
    ],
  ])('refuses invalid input %j with exit code 2', async (extra, message) => {
    const identity = sandbox.createIdentity('x');
    const args = ['add', '-n', 'my-app', '--identity-resource-id', identity.id, ...extra];
    const result = await sandbox.run(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(sandbox.kube.store.list({ apiVersion: GROUP, kind: 'AzureIdentity' })).toEqual([]);
  });

  it('refuses a malformed resource ID with exit code 2', async () => {
    const result = await sandbox.run(
      'add',
      '-n',
      'my-app',
      '--name',
      'ok',
      '--identity-resource-id',
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --identity-resource-id: /);
  });

  it('refuses an identity ARM does not know', async () => {
    const missing = `/subscriptions/${SUBSCRIPTION}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost`;
    const result = await sandbox.run(
      'add',
      '-n',
      'my-app',
      '--name',
      'ghost',
      '--identity-resource-id',
      missing,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: identity ' + missing + ' not found in ARM');
    expect(sandbox.kube.store.list({ apiVersion: GROUP, kind: 'AzureIdentity' })).toEqual([]);
  });

  it('refuses a duplicate name and deleting what does not exist', async () => {
    const identity = sandbox.createIdentity('dup');
    await sandbox.addPodIdentity('my-app', 'dup', identity.id);
    const again = await sandbox.run(
      'add',
      '-n',
      'my-app',
      '--name',
      'dup',
      '--identity-resource-id',
      identity.id,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('error: pod identity my-app/dup already exists');
    const missing = await sandbox.run('delete', '-n', 'my-app', '--name', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: pod identity my-app/nope not found');
  });

  it('enforces the limit of 200 pod identities per cluster', async () => {
    const identity = sandbox.createIdentity('many');
    for (let i = 0; i < 200; i++) {
      sandbox.kube.store.put({
        apiVersion: GROUP,
        kind: 'AzureIdentity',
        metadata: { name: `id-${i}`, namespace: i % 2 === 0 ? 'my-app' : 'other' },
        spec: { type: 0, resourceID: identity.id, clientID: identity.clientId },
      });
    }
    const result = await sandbox.run(
      'add',
      '-n',
      'my-app',
      '--name',
      'one-too-many',
      '--identity-resource-id',
      identity.id,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'error: this cluster already has 200 pod identities; at most 200 are allowed per cluster',
    );
  });
});

describe('pod-identity exception', () => {
  beforeEach(async () => {
    expect((await sandbox.run('enable')).code).toBe(0);
  });

  it('adds, updates, lists and deletes exceptions', async () => {
    const added = await sandbox.run(
      'exception',
      'add',
      '-n',
      'my-app',
      '--name',
      'skip-me',
      '--pod-labels',
      'app=legacy,tier=batch',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(
      'azurepodidentityexception.aadpodidentity.k8s.io/skip-me created in namespace my-app (pod labels app=legacy,tier=batch)',
    );
    const updated = await sandbox.run(
      'exception',
      'update',
      '-n',
      'my-app',
      '--name',
      'skip-me',
      '--pod-labels',
      'app=other',
    );
    expect(updated.code).toBe(0);
    expect(
      sandbox.kube.store.get({
        apiVersion: GROUP,
        kind: 'AzurePodIdentityException',
        namespace: 'my-app',
        name: 'skip-me',
      })?.spec,
    ).toEqual({
      podLabels: { app: 'other' },
    });
    const list = await sandbox.run('exception', 'list');
    expect(list.stdout).toMatch(
      /kube-system\s+aks-addon-exception\s+kubernetes\.azure\.com\/managedby=aks/,
    );
    expect(list.stdout).toMatch(/my-app\s+skip-me\s+app=other/);
    expect(
      (await sandbox.run('exception', 'delete', '-n', 'my-app', '--name', 'skip-me')).code,
    ).toBe(0);
    const gone = await sandbox.run('exception', 'delete', '-n', 'my-app', '--name', 'skip-me');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('not found');
  });

  it.each([
    ['', /--pod-labels: give at least one key=value/],
    ['novalue', /"novalue" is not key=value/],
    ['bad key=v', /"bad key" is not a valid label key/],
  ])('refuses pod labels %j', async (labels, message) => {
    const result = await sandbox.run(
      'exception',
      'add',
      '-n',
      'my-app',
      '--name',
      'x',
      '--pod-labels',
      labels,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('refuses to update a missing exception and to add a duplicate', async () => {
    expect(
      (
        await sandbox.run(
          'exception',
          'update',
          '-n',
          'my-app',
          '--name',
          'nope',
          '--pod-labels',
          'a=b',
        )
      ).code,
    ).toBe(1);
    const dup = await sandbox.run(
      'exception',
      'add',
      '-n',
      'kube-system',
      '--name',
      'aks-addon-exception',
      '--pod-labels',
      'a=b',
    );
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already exists');
  });

  it('enforces the limit of 200 exceptions per cluster', async () => {
    for (let i = 0; i < 199; i++) {
      sandbox.kube.store.put({
        apiVersion: GROUP,
        kind: 'AzurePodIdentityException',
        metadata: { name: `e-${i}`, namespace: 'other' },
        spec: { podLabels: { a: 'b' } },
      });
    }
    const result = await sandbox.run(
      'exception',
      'add',
      '-n',
      'my-app',
      '--name',
      'last',
      '--pod-labels',
      'a=b',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'this cluster already has 200 pod identity exceptions; at most 200 are allowed per cluster',
    );
  });
});

describe('kubectl-like conventions', () => {
  it('prints help and exits 0; an unknown command or option exits 2', async () => {
    const help = await sandbox.run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: pod-identity');
    const unknown = await sandbox.run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badOutput = await sandbox.run('list', '-o', 'xml');
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toContain('Allowed choices are table, json, yaml');
    const missing = await sandbox.run('add', '-n', 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--name <name>' not specified");
  });

  it('names the context that does not exist', async () => {
    const result = await sandbox.run('--context', 'nope', 'list');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: context "nope" not found');
  });

  it('says when the API server cannot be reached', async () => {
    await sandbox.kube.close();
    const result = await sandbox.run('list');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /error: list azureidentities: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(result.stderr).toContain('hint: check --kubeconfig and --context');
    sandbox.kube = await (await import('@pod-identity/testkit')).startKubernetesEmulator();
  });

  it('tells the administrator to enable pod identity when the CRDs are missing', async () => {
    const result = await sandbox.run('list');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'hint: are the pod-identity CRDs installed? run `pod-identity enable`',
    );
  });
});
