import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import { AzureCliCredential, ChainedTokenCredential, EnvironmentCredential } from '@azure/identity';
import {
  startArmEmulator,
  startKubernetesEmulator,
  azureClientTlsOptions,
  type ArmEmulator,
  type KubernetesEmulator,
} from '@pod-identity/testkit';
import { runCli, type AzureAccess } from '@pod-identity/cli';

export const SUBSCRIPTION = '00000000-0000-0000-0000-0000000000aa';
export const NODE_GROUP = 'MC_rg_cluster_westus2';
export const SCALE_SET = 'aks-nodepool1-12345678-vmss';

/** The result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A Kubernetes emulator with two scale-set nodes and an ARM emulator with that scale set, plus a
 * kubeconfig file: the world `pod-identity` commands run against in these tests.
 */
export interface CliSandbox {
  kube: KubernetesEmulator;
  arm: ArmEmulator;
  kubeconfigPath: string;
  /** How the CLI reaches the ARM emulator, for changes made by hand (outside the CLI). */
  azure: AzureAccess;
  /** Runs `pod-identity <args>` with `--kubeconfig` and the ARM emulator. */
  run(...args: string[]): Promise<CliRun>;
  /**
   * Runs it as an administrator without an Azure login: the credential is a real `@azure/identity`
   * chain (environment, Azure CLI) in which no credential is available.
   */
  runWithoutAzureLogin(...args: string[]): Promise<CliRun>;
  /** Runs `pod-identity <args>` as a set-up step: throws (with its stderr) unless it exits 0. */
  must(...args: string[]): Promise<CliRun>;
  /**
   * Set-up: `pod-identity add -n <namespace> --name <name> --identity-resource-id <id> [extra…]`,
   * which must succeed.
   */
  addPodIdentity(
    namespace: string,
    name: string,
    identityId: string,
    ...extra: string[]
  ): Promise<CliRun>;
  /** Creates a user-assigned identity in ARM; returns its resource ID and client ID. */
  createIdentity(name: string, resourceGroup?: string): { id: string; clientId: string };
  close(): Promise<void>;
}

const adminCredential: TokenCredential = {
  getToken: () =>
    Promise.resolve({ token: 'admin-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** Starts the sandbox; call `close()` after. */
export async function startCliSandbox(): Promise<CliSandbox> {
  const kube = await startKubernetesEmulator();
  const arm = await startArmEmulator();
  const scaleSet = arm.addScaleSet({
    subscriptionId: SUBSCRIPTION,
    resourceGroup: NODE_GROUP,
    name: SCALE_SET,
    instanceCount: 2,
  });
  for (const namespace of ['default', 'kube-system', 'my-app', 'other']) {
    kube.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  }
  for (const instance of scaleSet.instances) {
    kube.store.put({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: instance.computerName, labels: { 'kubernetes.io/os': 'linux' } },
      spec: { providerID: `azure://${instance.id}` },
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'pod-identity-cli-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kube.kubeconfigYaml);
  const azure = {
    credential: adminCredential,
    endpoint: arm.url,
    ...azureClientTlsOptions(arm.certificateAuthority),
  };
  const runWith = async (access: typeof azure, args: string[]): Promise<CliRun> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--kubeconfig', kubeconfigPath, ...args], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      azure: access,
    });
    return { code, stdout, stderr };
  };
  const must = async (args: string[]): Promise<CliRun> => {
    const result = await runWith(azure, args);
    if (result.code !== 0)
      throw new Error(`pod-identity ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result;
  };
  return {
    kube,
    arm,
    kubeconfigPath,
    azure,
    run: (...args) => runWith(azure, args),
    must: (...args) => must(args),
    addPodIdentity: (namespace, name, identityId, ...extra) =>
      must([
        'add',
        '-n',
        namespace,
        '--name',
        name,
        '--identity-resource-id',
        identityId,
        ...extra,
      ]),
    runWithoutAzureLogin: (...args) =>
      runWith(
        {
          ...azure,
          credential: new ChainedTokenCredential(
            new EnvironmentCredential(),
            new AzureCliCredential(),
          ),
        },
        args,
      ),
    createIdentity(name, resourceGroup = 'identities') {
      const info = arm.createUserAssignedIdentity({
        subscriptionId: SUBSCRIPTION,
        resourceGroup,
        name,
      });
      return { id: info.id, clientId: info.clientId };
    },
    async close() {
      await kube.close();
      await arm.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
