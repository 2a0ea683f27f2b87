// The CLI over objects a cluster that ran the Go original holds: what parses is listed, what does not
// is named with why (exit code 3), and one bad object never breaks the explanation of another pod.
// Runs against the testkit emulator in `pnpm test` and against the real kube-apiserver (as cluster
// admin) in `pnpm test:conformance`, so the objects are pruned and stored as a real server does.
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { PodExplanation, TypeUpgradeResult } from '@pod-identity/cli';
import { runCli } from '@pod-identity/cli';
import { podIdentityCrds } from '@pod-identity/core';
import type { SandboxNode } from '@pod-identity/testkit';
import {
  againstRealServer,
  eventually,
  startKubeTarget,
  type KubeTarget,
} from '@pod-identity/test-support';
import {
  goBinding,
  goException,
  goManagedIdentity,
  goMic15Record,
  pre16Binding,
  pre16Exception,
  pre16Identity,
  type GoObject,
} from '@pod-identity/test-support/go-original-objects';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let target: KubeTarget;
let node: SandboxNode;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    kubeConfig: target.admin,
  });
  return { code, stdout, stderr };
}

const plurals: Record<string, string> = {
  AzureIdentity: 'azureidentities',
  AzureIdentityBinding: 'azureidentitybindings',
  AzurePodIdentityException: 'azurepodidentityexceptions',
  AzureAssignedIdentity: 'azureassignedidentities',
};

const CRD_API = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
};

/**
 * Gives the four CRDs the schema the original's CRDs had before v1.8 (unknown fields kept, so a
 * pre-1.6 manifest is stored as written), or back this project's (which prunes them). Waits until
 * the API server decodes with the new schema: a field no schema declares is then kept or dropped.
 */
async function setCrds(keepUnknownFields: boolean, probeNamespace: string): Promise<void> {
  const api = target.admin.makeApiClient(CustomObjectsApi);
  for (const definition of podIdentityCrds()) {
    const name = definition.metadata.name;
    const current = (await api.getClusterCustomObject({ ...CRD_API, name })) as {
      metadata: { resourceVersion: string };
    };
    const versions = definition.spec.versions.map((v) =>
      keepUnknownFields
        ? {
            ...v,
            schema: {
              openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          }
        : v,
    );
    await api.replaceClusterCustomObject({
      ...CRD_API,
      name,
      body: {
        ...definition,
        metadata: { ...definition.metadata, resourceVersion: current.metadata.resourceVersion },
        spec: { ...definition.spec, versions },
      },
    });
  }
  let probe = 0;
  await eventually(
    async () => {
      probe += 1;
      const name = `crd-probe-${String(probe)}`;
      await target.createCustom('azurepodidentityexceptions', {
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzurePodIdentityException',
        metadata: { name, namespace: probeNamespace },
        spec: { podLabels: { probe: 'yes' }, Probe: true },
      });
      const stored = await target.getCustom('azurepodidentityexceptions', probeNamespace, name);
      await api.deleteNamespacedCustomObject({
        group: 'aadpodidentity.k8s.io',
        version: 'v1',
        namespace: probeNamespace,
        plural: 'azurepodidentityexceptions',
        name,
      });
      const spec = stored?.spec;
      return (typeof spec === 'object' && spec !== null && 'Probe' in spec) === keepUnknownFields;
    },
    `the CRDs to ${keepUnknownFields ? 'keep' : 'prune'} unknown fields`,
  );
}

async function write(...objects: GoObject[]): Promise<void> {
  for (const object of objects) await target.createCustom(plurals[object.kind] ?? '', object);
}

interface Unreadable {
  kind: string;
  namespace: string;
  name: string;
  problem: string;
}

beforeAll(async () => {
  target = await startKubeTarget('mic', {
    scaleSets: [{ name: `cli${Math.random().toString(36).slice(2, 8)}-vmss`, nodeCount: 1 }],
    identities: [],
  });
  node = target.sandbox.nodes[0]!;
  await target.node(node);
});

afterAll(async () => {
  await target.stop();
});

describe(`the CLI over objects of the Go original (${againstRealServer ? 'real API server' : 'emulator'})`, () => {
  it('list names each identity and binding it cannot read and why, lists the rest, and exits 3', async () => {
    const ns = await target.namespace('cli-list');
    const uami = target.sandbox.createIdentity(`cli-list-${target.suffix}`);
    await write(
      goManagedIdentity('current', ns, { resourceId: uami.id, clientId: uami.clientId }),
      goBinding('current-binding', ns, 'current', 'demo'),
      // The manifests of releases before 1.6, as the documentation's upgrade notes describe them.
      pre16Identity('old-id', ns, { resourceId: uami.id, clientId: uami.clientId }),
      pre16Binding('old-binding', ns, 'old-id', 'old'),
    );
    const json = await cli('list', '-n', ns, '-o', 'json');
    expect(json.code).toBe(3);
    const listed = JSON.parse(json.stdout) as {
      identities: { metadata: { name: string } }[];
      bindings: { metadata: { name: string } }[];
      unreadable: Unreadable[];
    };
    expect(listed.identities.map((i) => i.metadata.name)).toEqual(['current']);
    expect(listed.bindings.map((b) => b.metadata.name)).toEqual(['current-binding']);
    expect(listed.unreadable.map((u) => [u.kind, u.namespace, u.name])).toEqual([
      ['AzureIdentity', ns, 'old-id'],
      ['AzureIdentityBinding', ns, 'old-binding'],
    ]);
    expect(listed.unreadable[0]!.problem).toMatch(/^spec\.clientID: is required .*ClientID/);
    expect(listed.unreadable[1]!.problem).toMatch(/^spec\.azureIdentity: is required .*Selector/);
    expect(json.stderr).toBe(
      'warning: 2 objects in the cluster could not be read (listed above)\n',
    );

    const table = await cli('list', '-n', ns);
    expect(table.code).toBe(3);
    expect(table.stdout).toContain('current');
    expect(table.stdout).toMatch(/Could not read \(2\):\n\s+KIND\s+NAMESPACE\s+NAME\s+PROBLEM\n/);
    expect(table.stdout).toMatch(
      new RegExp(`AzureIdentityBinding\\s+${ns}\\s+old-binding\\s+spec\\.azureIdentity`),
    );

    // All namespaces: ours are among whatever else the cluster holds.
    const all = await cli('list', '-A', '-o', 'json');
    expect(all.code).toBe(3);
    expect((JSON.parse(all.stdout) as { unreadable: Unreadable[] }).unreadable).toEqual(
      expect.arrayContaining(listed.unreadable),
    );
  });

  it('exception list names a pre-1.6 exception (PodLabels pruned away) and exits 3', async () => {
    const ns = await target.namespace('cli-exc');
    await write(
      goException('mic-exception', ns, { app: 'mic', component: 'mic' }),
      pre16Exception('old-exception', ns, { app: 'legacy' }),
    );
    const run = await cli('exception', 'list', '-n', ns, '-o', 'json');
    expect(run.code).toBe(3);
    const listed = JSON.parse(run.stdout) as {
      exceptions: { metadata: { name: string } }[];
      unreadable: Unreadable[];
    };
    expect(listed.exceptions.map((e) => e.metadata.name)).toEqual(['mic-exception']);
    expect(listed.unreadable).toEqual([
      expect.objectContaining({
        kind: 'AzurePodIdentityException',
        namespace: ns,
        name: 'old-exception',
      }),
    ]);
    expect(listed.unreadable[0]!.problem).toContain('PodLabels');
  });

  it('explain is not broken by a bad binding that cannot concern the pod, and names (exit 3) one that may', async () => {
    const quiet = await target.namespace('cli-quiet');
    const noisy = await target.namespace('cli-noisy');
    const uami = target.sandbox.createIdentity(`cli-explain-${target.suffix}`);
    for (const ns of [quiet, noisy]) {
      await write(
        goManagedIdentity('demo-id', ns, { resourceId: uami.id, clientId: uami.clientId }),
        goBinding('demo-binding', ns, 'demo-id', 'demo'),
      );
      await target.pod(node, {
        namespace: ns,
        name: 'demo-pod',
        labels: { aadpodidbinding: 'demo' },
      });
    }
    // A binding that names its identity the pre-1.6 way but its selector today's way: it cannot be
    // read, and it selects other pods.
    await write({
      ...pre16Binding('other-binding', quiet, 'demo-id', 'other'),
      spec: { AzureIdentity: 'demo-id', selector: 'other' },
    });
    // A pre-1.6 binding pruned to nothing: it may have selected this pod.
    await write(pre16Binding('old-binding', noisy, 'demo-id', 'demo'));

    // Managed mode decides from the pod's own namespace, so other files' objects on a shared server
    // cannot concern these pods.
    const args = ['--mode', 'managed', '--skip-azure', '-o', 'json'];
    const fine = await cli('explain', 'demo-pod', '-n', quiet, ...args);
    expect(fine.stderr).toBe('');
    expect(fine.code).toBe(0);
    const explained = JSON.parse(fine.stdout) as PodExplanation;
    expect(explained.bindings.map((b) => b.name)).toEqual(['demo-binding']);
    expect(explained.nmi[0]).toMatchObject({ status: 200, answer: `token for ${quiet}/demo-id` });
    expect(explained.unreadable).toEqual([]);
    expect(explained.otherUnreadable).toBeGreaterThanOrEqual(1);

    const concerned = await cli('explain', 'demo-pod', '-n', noisy, ...args);
    expect(concerned.code).toBe(3);
    const noisyExplained = JSON.parse(concerned.stdout) as PodExplanation;
    expect(noisyExplained.nmi[0]).toMatchObject({ status: 200 });
    expect(noisyExplained.unreadable).toEqual([
      expect.objectContaining({
        kind: 'AzureIdentityBinding',
        namespace: noisy,
        name: 'old-binding',
      }),
    ]);
    const table = await cli(
      'explain',
      'demo-pod',
      '-n',
      noisy,
      '--mode',
      'managed',
      '--skip-azure',
    );
    expect(table.code).toBe(3);
    expect(table.stdout).toContain('Could not read, and may concern this pod (1):');
  });

  // The application-exception page of the Go documentation: an exception listing two labels, and a
  // pod that carries one of them.
  it('explain says which exception rule applied: any label by default, all labels with --exception-match=all', async () => {
    const ns = await target.namespace('cli-rule');
    await write(goException('test-exception', ns, { foo: 'bar', app: 'custom' }));
    await target.pod(node, { namespace: ns, name: 'custom-pod', labels: { foo: 'bar' } });
    const byDefault = await cli('explain', 'custom-pod', '-n', ns, '--skip-azure', '-o', 'json');
    expect(byDefault.code).toBe(0);
    const any = JSON.parse(byDefault.stdout) as PodExplanation;
    expect(any.exception).toEqual({
      name: 'test-exception',
      podLabels: 'app=custom,foo=bar',
      matchedLabels: 'foo=bar',
    });
    expect(any.exceptionRule).toEqual({ rule: 'any', otherRule: { rule: 'all', exception: null } });
    expect(any.nmi[0]).toMatchObject({ status: null, reason: 'exception test-exception' });

    const strict = await cli(
      'explain',
      'custom-pod',
      '-n',
      ns,
      '--skip-azure',
      '--exception-match',
      'all',
      '-o',
      'json',
    );
    const all = JSON.parse(strict.stdout) as PodExplanation;
    expect(all.exception).toBeNull();
    expect(all.exceptionRule).toEqual({
      rule: 'all',
      otherRule: { rule: 'any', exception: 'test-exception' },
    });
    // Not excepted, and no binding selects it: NMI's final refusal, IMDS's 400 Identity not found.
    expect(all.nmi[0]!.status).toBe(400);

    const table = await cli('explain', 'custom-pod', '-n', ns, '--skip-azure');
    expect(table.stdout).toContain(
      'Exception:  test-exception (app=custom,foo=bar): the pod carries foo=bar and reaches IMDS directly (rule: any one of its labels (NMI --exception-match=any); under --exception-match=all: <none>)',
    );
  });

  it('upgrade-types renames what a pre-1.6 cluster stored (visible while the CRDs keep unknown fields), as the original MIC did', async () => {
    const ns = await target.namespace('cli-upgrade');
    const uami = target.sandbox.createIdentity(`cli-upgrade-${target.suffix}`);
    const run = async (...args: string[]) => {
      const result = await cli('upgrade-types', '-n', ns, ...args, '-o', 'json');
      return {
        code: result.code,
        results: (JSON.parse(result.stdout) as { results: TypeUpgradeResult[] }).results,
      };
    };
    await setCrds(true, ns);
    try {
      await write(
        pre16Identity('old-id', ns, { resourceId: uami.id, clientId: uami.clientId }),
        pre16Binding('old-binding', ns, 'old-id', 'old'),
        pre16Exception('old-exception', ns, { app: 'legacy' }),
        goMic15Record(
          { name: 'old-id', namespace: ns, resourceId: uami.id, clientId: uami.clientId },
          { name: 'old-binding', namespace: ns, selector: 'old' },
          { name: 'old-pod', namespace: ns, nodeName: node.name },
        ),
      );
      // Records live in `default`: the namespace filter does not see this one.
      const dry = await run('--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.results.map((r) => [r.kind, r.name, r.result])).toEqual([
        ['AzureIdentity', 'old-id', 'would rewrite'],
        ['AzureIdentityBinding', 'old-binding', 'would rewrite'],
        ['AzurePodIdentityException', 'old-exception', 'would rewrite'],
      ]);
      expect(dry.results[0]!.detail).toBe('spec.ClientID → clientID, spec.ResourceID → resourceID');
      const all = await cli('upgrade-types', '-o', 'json');
      const results = (JSON.parse(all.stdout) as { results: TypeUpgradeResult[] }).results;
      expect(
        results.filter((r) => r.namespace === ns || r.name === `old-pod-${ns}-old-id`),
      ).toEqual([
        expect.objectContaining({ kind: 'AzureIdentity', name: 'old-id', result: 'rewritten' }),
        expect.objectContaining({
          kind: 'AzureIdentityBinding',
          name: 'old-binding',
          result: 'rewritten',
        }),
        expect.objectContaining({
          kind: 'AzurePodIdentityException',
          name: 'old-exception',
          result: 'rewritten',
        }),
        expect.objectContaining({
          kind: 'AzureAssignedIdentity',
          name: `old-pod-${ns}-old-id`,
          result: 'rewritten',
          detail: expect.stringContaining('spec.azureidentityref → azureIdentityRef') as unknown,
        }),
      ]);
      // A pre-1.6 binding that arrives after the upgrade and is not upgraded before the switch.
      await write(pre16Binding('late-binding', ns, 'old-id', 'late'));
    } finally {
      await setCrds(false, ns);
    }
    // Under this project's CRDs: the upgraded objects parse; the late one is read pruned.
    const list = await cli('list', '-n', ns, '-o', 'json');
    const listed = JSON.parse(list.stdout) as {
      identities: { spec: { clientID: string } }[];
      bindings: { spec: { selector: string } }[];
      unreadable: Unreadable[];
    };
    expect(listed.identities.map((i) => i.spec.clientID)).toEqual([uami.clientId]);
    expect(listed.bindings.map((b) => b.spec.selector)).toEqual(['old']);
    expect(listed.unreadable.map((u) => u.name)).toEqual(['late-binding']);
    expect(list.code).toBe(3);
    const record = await target.getCustom(
      'azureassignedidentities',
      'default',
      `old-pod-${ns}-old-id`,
    );
    expect(record).toMatchObject({
      spec: { podNamespace: ns, azureIdentityRef: { spec: { resourceID: uami.id } } },
      status: { status: 'Assigned' },
    });
    // Now the old name is hidden: upgrade-types says so instead of guessing.
    const hidden = await run();
    expect(hidden.code).toBe(3);
    expect(hidden.results).toEqual([
      expect.objectContaining({ name: 'late-binding', result: 'not upgradable' }),
    ]);
    expect(hidden.results[0]!.detail).toContain('no field is spelled the pre-1.6 way');
    // It is still stored: with the CRDs keeping unknown fields again, it is upgraded.
    await setCrds(true, ns);
    try {
      expect((await run()).results).toEqual([
        expect.objectContaining({ name: 'late-binding', result: 'rewritten' }),
      ]);
    } finally {
      await setCrds(false, ns);
    }
    expect((await cli('list', '-n', ns)).code).toBe(0);
  });
});
