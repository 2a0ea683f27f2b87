import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { parseDemoOptions, runDemoRound } from '@pod-identity/example-demo';

// The demo program against one node's IMDS emulator on the sandbox (no NMI in between), as it runs
// on a VM that has the identity: every line the walkthrough shows.
let sandbox: Sandbox;
let clientId: string;

const admin: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'admin', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1, identities: ['demo-identity'] });
  const identity = sandbox.identities.get('demo-identity')!;
  clientId = identity.clientId;
  const node = sandbox.nodes[0]!;
  const compute = new ComputeManagementClient(admin, sandbox.subscriptionId, {
    endpoint: sandbox.endpoints.arm,
    ...sandbox.azureClientOptions,
  });
  await compute.virtualMachineScaleSets.update(sandbox.nodeResourceGroup, node.scaleSetName!, {
    identity: { type: 'UserAssigned', userAssignedIdentities: { [identity.id]: {} } },
  });
});
afterAll(async () => {
  await sandbox.stop();
});

describe('demo round', () => {
  it('logs the walkthrough lines: token, VM count through ARM, instance metadata', async () => {
    const lines: string[] = [];
    const node = sandbox.nodes[0]!;
    const result = await runDemoRound({
      subscriptionId: sandbox.subscriptionId,
      resourceGroup: sandbox.nodeResourceGroup,
      clientId,
      imdsEndpoint: node.imdsUrl,
      armEndpoint: sandbox.endpoints.arm,
      armCaPem: sandbox.caPem,
      log: (line) => lines.push(line),
    });
    const endpoint = `${new URL(node.imdsUrl).origin}/metadata/identity/oauth2/token`;
    expect(lines).toEqual([
      `successfully acquired a token using the MSI, msiEndpoint(${endpoint})`,
      `successfully acquired a token, userAssignedID MSI, msiEndpoint(${endpoint}) clientID(${clientId})`,
      'successfully doARMOperations vm count 0',
      expect.stringMatching(/^successfully made GET on instance metadata, \{"name":/),
    ]);
    expect(result.vmCount).toBe(0);
    expect(String(result.instanceCompute.resourceId).toLowerCase()).toBe(
      node.resourceId.toLowerCase(),
    );
  });

  it('fails the round when the identity is not on the machine', async () => {
    const other = sandbox.createIdentity('not-assigned');
    await expect(
      runDemoRound({
        subscriptionId: sandbox.subscriptionId,
        resourceGroup: sandbox.nodeResourceGroup,
        clientId: other.clientId,
        imdsEndpoint: sandbox.nodes[0]!.imdsUrl,
        log: () => undefined,
      }),
    ).rejects.toMatchObject({ name: 'IdentityNotAssignedError', status: 400, retryable: false });
  });
});

describe('parseDemoOptions', () => {
  it('takes the walkthrough flags and the Go demo spellings', () => {
    const parsed = parseDemoOptions(
      [
        '--subscriptionid',
        's',
        '--resourcegroup',
        'g',
        '--clientid',
        'c',
        '--once',
        '--period',
        '5',
      ],
      {},
    );
    expect(parsed).toMatchObject({
      subscriptionId: 's',
      resourceGroup: 'g',
      clientId: 'c',
      once: true,
      periodMs: 5000,
    });
  });
  it('names a missing flag', () => {
    expect(() => parseDemoOptions(['--subscription-id', 's', '--resource-group', 'g'], {})).toThrow(
      'missing --client-id',
    );
    expect(() => parseDemoOptions(['--bogus'], {})).toThrow(/bogus/);
  });
});

// Each case starts Node on the program's source: seconds on a loaded machine, beyond vitest's 5 s.
describe('pod-identity-demo command', { timeout: 60_000 }, () => {
  // The program's source run as the container runs the built file (the workspace packages it imports
  // resolve to their builds, which `pnpm test` refreshes first).
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

  it('prints its usage for --help and exits 0 without needing the required flags', () => {
    const result = run('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: pod-identity-demo');
    for (const flag of ['--subscription-id', '--resource-group', '--client-id', '--once']) {
      expect(result.stdout).toContain(flag);
    }
  });
  it('prints the package version for --version', async () => {
    const { version } = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const result = run('--version');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
  it('exits 2 with the problem and the usage on a bad command line', () => {
    const result = run('--subscription-id', 's');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('missing --resource-group');
    expect(result.stderr).toContain('Usage: pod-identity-demo');
  });
});
