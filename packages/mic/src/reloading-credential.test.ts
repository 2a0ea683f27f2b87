import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCloudConfig, type CloudConfig } from './cloud-config.js';
import { createReloadingCredential } from './reloading-credential.js';

// The rotation AKS does: a new secret for the cluster's service principal in Entra, and the node's
// azure.json rewritten with it. Real ClientSecretCredentials against the sandbox's Entra emulator.
let sandbox: Sandbox;
let path: string;
const scope = 'https://management.azure.com/.default';

beforeAll(async () => {
  sandbox = await startSandbox({ nodeCount: 1 });
  path = join(mkdtempSync(join(tmpdir(), 'mic-azure-json-')), 'azure.json');
});
afterAll(async () => {
  await sandbox.stop();
});

function writeAzureJson(secret: string, extra: Record<string, unknown> = {}): void {
  writeFileSync(path, JSON.stringify({ ...sandbox.azureJson, aadClientSecret: secret, ...extra }));
}

function rotateSecret(secret: string): void {
  sandbox.entra.registerServicePrincipal({
    tenantId: sandbox.tenantId,
    clientId: sandbox.clusterServicePrincipal.clientId,
    clientSecret: secret,
  });
}

function setUp(checkIntervalMs: number) {
  let clock = 0;
  const builds: string[] = [];
  const logger = { info: vi.fn(), warn: vi.fn() };
  const build = (config: CloudConfig) => {
    builds.push(config.aadClientSecret);
    return new ClientSecretCredential(
      config.tenantId,
      config.aadClientId,
      config.aadClientSecret,
      sandbox.credentialOptions,
    );
  };
  return {
    builds,
    logger,
    advance: (ms: number) => (clock += ms),
    create: async () =>
      createReloadingCredential({
        initial: await loadCloudConfig(path, {}),
        load: () => loadCloudConfig(path, {}),
        build,
        checkIntervalMs,
        logger,
        now: () => clock,
      }),
  };
}

describe('createReloadingCredential', () => {
  it('follows a rotated secret in azure.json, after a failed token request at once', async () => {
    rotateSecret('first-secret');
    writeAzureJson('first-secret');
    const t = setUp(3_600_000);
    const credential = await t.create();
    expect((await credential.getToken(scope))?.token).toBeTruthy();

    // Entra now wants the new secret; the node's file is rewritten with it.
    rotateSecret('second-secret');
    writeAzureJson('second-secret');
    // A fresh token request (a new scope, not in the credential's cache) with the old secret fails…
    await expect(credential.getToken('https://storage.azure.com/.default')).rejects.toThrow();
    // …and the next one reads the file again, well before the interval, and succeeds.
    expect((await credential.getToken('https://storage.azure.com/.default'))?.token).toBeTruthy();
    expect(t.builds).toEqual(['first-secret', 'second-secret']);
    expect(t.logger.info).toHaveBeenCalledWith(
      { keys: ['aadClientSecret'] },
      'cloud config credentials changed; using the new ones',
    );
    expect(JSON.stringify(t.logger.info.mock.calls)).not.toContain('second-secret');
  });

  it('reads the file at most once per interval while tokens succeed, and rebuilds only on a change', async () => {
    rotateSecret('steady-secret');
    writeAzureJson('steady-secret');
    const t = setUp(60_000);
    const credential = await t.create();
    await credential.getToken(scope);
    t.advance(60_000);
    await credential.getToken(scope); // re-read: same credential keys, no rebuild
    expect(t.builds).toEqual(['steady-secret']);
    writeAzureJson('steady-secret', { subscriptionId: '00000000-0000-0000-0000-0000000000ff' });
    t.advance(30_000);
    await credential.getToken(scope); // not due yet: the change is not seen
    expect(t.logger.warn).not.toHaveBeenCalled();
    t.advance(30_000);
    await credential.getToken(scope);
    expect(t.builds).toEqual(['steady-secret']);
    expect(t.logger.warn).toHaveBeenCalledWith(
      { keys: ['subscriptionId'] },
      'cloud config changed keys that apply only after MIC restarts',
    );
  });

  it('keeps the current credential when azure.json cannot be parsed, and says so once', async () => {
    rotateSecret('kept-secret');
    writeAzureJson('kept-secret');
    const t = setUp(1000);
    const credential = await t.create();
    writeFileSync(path, '{"aadClientSecret": ');
    for (let i = 0; i < 3; i += 1) {
      t.advance(1000);
      expect((await credential.getToken(scope))?.token).toBeTruthy();
    }
    expect(t.builds).toEqual(['kept-secret']);
    expect(t.logger.warn).toHaveBeenCalledTimes(1);
    expect(t.logger.warn.mock.calls[0]?.[1]).toBe(
      'cannot read the cloud config again; keeping the current credential',
    );
  });
});
