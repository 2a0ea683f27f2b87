import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli } from '@pod-identity/cli';
import { startCliSandbox, type CliRun, type CliSandbox } from './cli-sandbox.js';

// The conventions an administrator coming from `az aks pod-identity` or kubectl expects (#15).
const GROUP = 'aadpodidentity.k8s.io/v1';
const STANDARD_MANIFEST = new URL('../../../deploy/manifests/standard.yaml', import.meta.url)
  .pathname;
let sandbox: CliSandbox;
let dir: string;
/** The sandbox's kubeconfig plus a context named as `az aks get-credentials -n myAKSCluster` names it. */
let azKubeconfig: string;

beforeEach(async () => {
  sandbox = await startCliSandbox();
  dir = mkdtempSync(join(tmpdir(), 'pod-identity-adoption-'));
  const config = parse(sandbox.kube.kubeconfigYaml) as {
    contexts: { name: string; context: Record<string, unknown> }[];
  };
  const first = config.contexts[0];
  if (first === undefined) throw new Error('the emulator kubeconfig has no context');
  config.contexts.push({ name: 'myAKSCluster', context: { ...first.context, namespace: 'other' } });
  azKubeconfig = join(dir, 'az-kubeconfig');
  writeFileSync(azKubeconfig, stringify(config));
});
afterEach(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  expect((await sandbox.run('enable')).code).toBe(0);
});

async function runWith(kubeconfig: string, ...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--kubeconfig', kubeconfig, ...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    azure: sandbox.azure,
  });
  return { code, stdout, stderr };
}

describe("az's spellings", () => {
  it('runs az aks pod-identity add as pasted, on the context named after --cluster-name', async () => {
    const identity = sandbox.createIdentity('az-pasted');
    const result = await runWith(
      azKubeconfig,
      'add',
      '--resource-group',
      'myResourceGroup',
      '--cluster-name',
      'myAKSCluster',
      '--namespace',
      'my-app',
      '--name',
      'az-pasted',
      '--identity-resource-id',
      identity.id,
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      "note: --resource-group myResourceGroup --cluster-name myAKSCluster are az's names; pod-identity works on a kubeconfig context, as after az aks get-credentials: using context myAKSCluster\n",
    );
    expect(result.stdout).toContain('azureidentity.aadpodidentity.k8s.io/az-pasted created');
  });

  it("reads -n as az's cluster name beside -g or --namespace, and as the namespace otherwise", async () => {
    const identity = sandbox.createIdentity('short-flags');
    const added = await runWith(
      azKubeconfig,
      'add',
      '-g',
      'myResourceGroup',
      '-n',
      'myAKSCluster',
      '--namespace',
      'my-app',
      '--name',
      'short-flags',
      '--identity-resource-id',
      identity.id,
    );
    expect(added.code).toBe(0);
    expect(added.stderr).toContain('using context myAKSCluster');
    const azList = await runWith(
      azKubeconfig,
      'list',
      '-g',
      'myResourceGroup',
      '-n',
      'myAKSCluster',
    );
    expect(azList.stdout).toContain('my-app      short-flags');
    const namespaceList = await runWith(azKubeconfig, 'list', '-n', 'other');
    expect(namespaceList.stdout).toBe('no pod identities in namespace other\n');
    expect(namespaceList.stderr).toBe('');
  });

  it('refuses a cluster name no kubeconfig context carries, saying how to get one', async () => {
    const result = await runWith(azKubeconfig, 'list', '-g', 'rg', '--cluster-name', 'elsewhere');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'error: --cluster-name elsewhere: no kubeconfig context of that name; pod-identity works on a kubeconfig context',
    );
    expect(result.stderr).toContain(
      'hint: run az aks get-credentials --resource-group rg --name elsewhere, or pass --context <name> (contexts: emulator, myAKSCluster)',
    );
  });

  it('takes --pod-labels in az form (space-separated) and in kubectl form alike', async () => {
    const spaced = await sandbox.run(
      'exception',
      'add',
      '-n',
      'my-app',
      '--name',
      'spaced',
      '--pod-labels',
      'app=probe',
      'tier=infra',
    );
    expect(spaced.code).toBe(0);
    const commas = await sandbox.run(
      'exception',
      'add',
      '-n',
      'my-app',
      '--pod-labels',
      'app=probe,tier=infra',
      '--name',
      'commas',
    );
    expect(commas.code).toBe(0);
    for (const name of ['spaced', 'commas'])
      expect(
        sandbox.kube.store.get({
          apiVersion: GROUP,
          kind: 'AzurePodIdentityException',
          namespace: 'my-app',
          name,
        })?.spec,
      ).toEqual({ podLabels: { app: 'probe', tier: 'infra' } });
  });

  it('--enable-pod-identity-with-kubenet lets the manifest NMI run on kubenet', async () => {
    const result = await sandbox.run(
      'enable',
      '--nmi-manifest',
      STANDARD_MANIFEST,
      '--enable-pod-identity-with-kubenet',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'kubenet allowed: daemonset/pod-identity-nmi run with --allow-network-plugin-kubenet=true',
    );
    const nmi = sandbox.kube.store.get({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      namespace: 'kube-system',
      name: 'pod-identity-nmi',
    }) as { spec: { template: { spec: { containers: { args: string[] }[] } } } } | undefined;
    const args = nmi?.spec.template.spec.containers[0]?.args ?? [];
    expect(args).toContain('--allow-network-plugin-kubenet=true');
    expect(args).not.toContain('--allow-network-plugin-kubenet=false');
    const bare = await sandbox.run('enable', '--enable-pod-identity-with-kubenet');
    expect(bare.stdout).toContain('--set nmi.allowNetworkPluginKubenet=true');
  });

  it('still refuses an unknown option with exit 2', async () => {
    const result = await sandbox.run('list', '--subscriptionn', 'x');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--subscriptionn'");
  });
});

describe('kubectl conventions', () => {
  it('exception list -A and -o wide', async () => {
    expect(
      (await sandbox.run('exception', 'add', '-n', 'my-app', '--name', 'x', '--pod-labels', 'a=b'))
        .code,
    ).toBe(0);
    const all = await sandbox.run('exception', 'list', '-A');
    expect(all.stdout).toContain('kube-system   aks-addon-exception');
    expect(all.stdout).toContain('my-app        x');
    const wide = await sandbox.run('exception', 'list', '-n', 'my-app', '-o', 'wide');
    const stored = sandbox.kube.store.get({
      apiVersion: GROUP,
      kind: 'AzurePodIdentityException',
      namespace: 'my-app',
      name: 'x',
    }) as { metadata: { creationTimestamp: string } } | undefined;
    const created = stored?.metadata.creationTimestamp ?? 'no creation time';
    expect(wide.stdout.split('\n')[0]).toMatch(/^NAMESPACE +NAME +POD-LABELS +CREATED$/);
    expect(wide.stdout).toContain(created);
  });

  it('list -o wide names the bindings and counts the assignments by state', async () => {
    const identity = sandbox.createIdentity('wide');
    await sandbox.addPodIdentity('my-app', 'wide', identity.id);
    const azureIdentity = sandbox.kube.store.get({
      apiVersion: GROUP,
      kind: 'AzureIdentity',
      namespace: 'my-app',
      name: 'wide',
    });
    const binding = sandbox.kube.store.get({
      apiVersion: GROUP,
      kind: 'AzureIdentityBinding',
      namespace: 'my-app',
      name: 'wide-binding',
    });
    for (const [pod, state] of [
      ['a', 'Assigned'],
      ['b', 'Assigned'],
      ['c', 'Created'],
    ] as const)
      sandbox.kube.store.put({
        apiVersion: GROUP,
        kind: 'AzureAssignedIdentity',
        metadata: { name: `${pod}-my-app-wide`, namespace: 'default' },
        spec: {
          azureIdentityRef: azureIdentity,
          azureBindingRef: binding,
          pod,
          podNamespace: 'default',
          nodename: 'node',
        },
        status: { status: state },
      });
    const wide = await sandbox.run('list', '-o', 'wide');
    expect(wide.stdout.split('\n')[0]).toMatch(/ BINDINGS +ASSIGNED$/);
    expect(wide.stdout).toMatch(/ wide-binding +Assigned=2,Created=1\n/);
    const narrow = await sandbox.run('list');
    expect(narrow.stdout).not.toContain('ASSIGNED');
  });

  it('version: the CLI alone, then the cluster with MIC, NMI and a mode that disagrees', async () => {
    const client = await sandbox.run('version', '--client');
    expect(client.stdout).toMatch(/^Client: +pod-identity \d+\.\d+\.\d+ \(Node\.js [\d.]+\)\n$/);
    expect((await sandbox.run('enable', '--nmi-manifest', STANDARD_MANIFEST)).code).toBe(0);
    const standard = await sandbox.run('version');
    expect(standard.code).toBe(0);
    expect(standard.stdout).toContain('Server:      Kubernetes v1.');
    expect(standard.stdout).toContain(
      'Mode:        standard (configmap kube-system/pod-identity-settings, set by the Helm chart)',
    );
    expect(standard.stdout).toMatch(
      /mic +Deployment +kube-system +pod-identity-mic +\S+ +standard/,
    );
    expect(standard.stdout).toMatch(/nmi +DaemonSet +kube-system +pod-identity-nmi +\S+ +standard/);
    expect(standard.stdout).not.toContain('warning');
    // The record edited by hand to managed while the daemons still run in standard mode.
    const record = sandbox.kube.store.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'kube-system',
      name: 'pod-identity-settings',
    });
    sandbox.kube.store.put({ ...record, data: { mode: 'managed' } });
    const json = JSON.parse((await sandbox.run('version', '-o', 'json')).stdout) as {
      mode: { mode: string };
      warnings: string[];
    };
    expect(json.mode.mode).toBe('managed');
    expect(json.warnings).toContain(
      'daemonset kube-system/pod-identity-nmi runs with --operation-mode=standard, but the cluster records managed (configmap kube-system/pod-identity-settings, set by the Helm chart)',
    );
  });
});

describe('help and completion', () => {
  it('marks required options and shows examples', async () => {
    const help = await sandbox.run('add', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /-n, --namespace <namespace> +namespace of the pod identity \(required\)/,
    );
    expect(help.stdout).toMatch(
      /--binding-selector <selector> +value of the pods' aadpodidbinding label\s+\(default: the name\)\n/,
    );
    expect(help.stdout).not.toMatch(/binding-selector.*\(required\)/);
    expect(help.stdout).toContain('Examples:\n  pod-identity add -n my-app --name my-pod-identity');
    const root = await sandbox.run('--help');
    expect(root.stdout).toContain('-g, --resource-group <group>');
    expect(root.stdout).toContain('completion');
  });

  it('completes commands, subcommands, options and choices in bash', async () => {
    const script = (await sandbox.run('completion', 'bash')).stdout;
    const lines = [
      'pod-identity ex',
      'pod-identity exception l',
      'pod-identity exception list --all',
      'pod-identity list -o ',
      'pod-identity add --mode m',
      'pod-identity add --kube',
      'pod-identity completion z',
      'pod-identity completion --v',
    ];
    // One bash runs every case: COMP_WORDS as bash splits the line, then the completion function.
    const cases = lines
      .map((line) => {
        const words = line.split(' ');
        return `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _pod_identity; echo "\${COMPREPLY[*]}"`;
      })
      .join('\n');
    const output = execFileSync('bash', ['-c', `${script}\n${cases}`], { encoding: 'utf8' });
    expect(output.split('\n').slice(0, lines.length)).toEqual([
      'exception explain',
      'list',
      '--all-namespaces',
      'table json yaml wide',
      'managed',
      '--kubeconfig',
      'zsh',
      '',
    ]);
  }, 30_000);

  it('writes zsh and fish scripts from the same command tree', async () => {
    const zsh = await sandbox.run('completion', 'zsh');
    expect(zsh.stdout).toMatch(/^#compdef pod-identity\n/);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -F _pod_identity pod-identity');
    const fish = (await sandbox.run('completion', 'fish')).stdout;
    expect(fish).toContain(
      "complete -c pod-identity -n '_pod_identity_cmd_is exception_add' -l pod-labels -x -d",
    );
    expect(fish).toContain("complete -c pod-identity -n '_pod_identity_cmd_is root' -a version -d");
    expect(fish).toContain("-s o -l output -x -a 'table json yaml wide'");
    const refused = await sandbox.run('completion', 'powershell');
    expect(refused.code).toBe(2);
  });
});
