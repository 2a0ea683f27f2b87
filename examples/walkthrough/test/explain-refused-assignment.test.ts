import { ClientSecretCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import type { PodExplanation } from '@pod-identity/cli';
import { createMic, type Mic } from '@pod-identity/mic';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { runCliOnSandbox } from '../src/sandbox-cli.ts';

// What an administrator sees when ARM refuses MIC: MIC's own error, read by `pod-identity explain`
// from the events MIC records on the record and the pod, not "waiting for MIC" for ever.
describe('pod-identity explain after ARM refused MIC the identity', () => {
  let sandbox: Sandbox | undefined;
  let mic: Mic | undefined;
  afterEach(async () => {
    await mic?.stop();
    await sandbox?.stop();
    mic = undefined;
    sandbox = undefined;
  });

  // MIC retries ARM's refusal before the record shows it: seconds on a loaded machine.
  it(
    'shows MIC`s LinkedAuthorizationFailed on the Created record, then the token once ARM allows it',
    { timeout: 30_000 },
    async () => {
      sandbox = await startSandbox({ nodeCount: 1 });
      const world = sandbox;
      const sp = world.clusterServicePrincipal;
      const credential = new ClientSecretCredential(
        sp.tenantId,
        sp.clientId,
        sp.clientSecret,
        world.credentialOptions,
      );
      const cli = async (...args: string[]): Promise<string> => {
        const { code, stdout, stderr } = await runCliOnSandbox(world, credential, args);
        expect(code, stderr).toBe(0);
        return stdout;
      };
      const explain = async (): Promise<PodExplanation> =>
        JSON.parse(
          await cli('explain', 'app', '--namespace', 'my-app', '--skip-azure', '-o', 'json'),
        ) as PodExplanation;

      await cli('enable', '--mode', 'standard');
      world.kubernetes.store.put({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'my-app' },
      });
      const identity = world.createIdentity('denied-identity');
      world.arm.faults.denyIdentities([identity.id], 'LinkedAuthorizationFailed');
      await cli(
        'add',
        '--namespace',
        'my-app',
        '--name',
        'denied',
        '--identity-resource-id',
        identity.id,
        '--binding-selector',
        'app',
      );
      mic = createMic({
        kubeConfig: world.kubeConfig,
        credential,
        armEndpoint: world.endpoints.arm,
        armClientOptions: world.azureClientOptions,
        namespace: 'kube-system',
        leaderElection: false,
        armPollIntervalMs: 5,
        updateUserMsiRetryIntervalMs: 5,
      });
      mic.start();
      const node = world.nodes[0]!;
      world.createPod({
        name: 'app',
        namespace: 'my-app',
        nodeName: node.name,
        labels: { aadpodidbinding: 'app' },
      });

      const refused = await until(explain, (e) => e.assignedIdentities[0]?.lastError != null);
      expect(refused.assignedIdentities[0]?.state).toBe('Created');
      expect(refused.assignedIdentities[0]?.lastError).toContain('LinkedAuthorizationFailed');
      expect(refused.verdict.resolves).toBe('no');
      expect(refused.verdict.why).toMatch(
        /^will not resolve: MIC could not assign my-app\/denied to the node: .*LinkedAuthorizationFailed/,
      );
      expect(refused.verdict.fix).toContain('Managed Identity Operator');
      const table = await cli('explain', 'app', '--namespace', 'my-app', '--skip-azure');
      expect(table).toMatch(/MIC's last error for app-my-app-denied: .*LinkedAuthorizationFailed/);

      // Once ARM lets MIC assign it, the error is history: an Assigned record shows none.
      world.arm.faults.allowIdentities();
      const assigned = await until(explain, (e) => e.assignedIdentities[0]?.state === 'Assigned');
      expect(assigned.assignedIdentities[0]?.lastError).toBeNull();
      expect(assigned.verdict).toMatchObject({ resolves: 'yes', fix: null });
    },
  );
});

/** Asks again until the answer is what the test waits for (MIC works through watches, on its own). */
async function until<T>(ask: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const value = await ask();
    if (done(value)) return value;
    if (attempt === 300) throw new Error(`gave up waiting: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
