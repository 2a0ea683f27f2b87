import { afterEach, describe, expect, it } from 'vitest';
import { isTokenCredential } from '@azure/core-auth';
import { PodIdentityCredential } from './pod-identity-credential.js';
import {
  imdsTokenBody,
  startScriptedImds,
  type ScriptedAnswer,
  type ScriptedImds,
} from '../test/scripted-imds.js';

const NOW = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

let imds: ScriptedImds | undefined;
afterEach(async () => {
  await imds?.close();
  imds = undefined;
});
async function serve(...script: ScriptedAnswer[]): Promise<ScriptedImds> {
  imds = await startScriptedImds(script);
  return imds;
}
const token = (name: string, expiresOnMs = NOW + HOUR): ScriptedAnswer => ({
  status: 200,
  body: imdsTokenBody(name, expiresOnMs / 1000),
});

describe('PodIdentityCredential', () => {
  it('is a TokenCredential that maps a .default scope to its resource', async () => {
    const server = await serve(token('one'));
    const credential = new PodIdentityCredential({
      endpoint: server.endpoint,
      identity: { clientId: 'cid' },
    });
    expect(isTokenCredential(credential)).toBe(true);
    const access = await credential.getToken('https://management.azure.com/.default');
    expect(access).toEqual({
      token: 'one',
      expiresOnTimestamp: NOW + HOUR,
      refreshAfterTimestamp: NOW + HOUR - 300_000,
      tokenType: 'Bearer',
    });
    expect(server.requests[0]?.url.searchParams.get('resource')).toBe(
      'https://management.azure.com',
    );
    expect(server.requests[0]?.url.searchParams.get('client_id')).toBe('cid');
  });

  it('caches until shortly before expiry, then refreshes', async () => {
    const server = await serve(token('one'), token('two', NOW + 2 * HOUR));
    let now = NOW;
    const credential = new PodIdentityCredential({ endpoint: server.endpoint, now: () => now });
    expect((await credential.getToken(['https://vault.azure.net/.default'])).token).toBe('one');
    now = NOW + HOUR - 300_001;
    expect((await credential.getToken('https://vault.azure.net/.default')).token).toBe('one');
    expect(server.requests).toHaveLength(1);
    now = NOW + HOUR - 299_999;
    expect((await credential.getToken('https://vault.azure.net/.default')).token).toBe('two');
    expect(server.requests).toHaveLength(2);
  });

  it('caches per resource', async () => {
    const server = await serve(token('one'), token('two'));
    const credential = new PodIdentityCredential({ endpoint: server.endpoint, now: () => NOW });
    expect((await credential.getToken('https://vault.azure.net/.default')).token).toBe('one');
    expect((await credential.getToken('https://storage.azure.com/.default')).token).toBe('two');
    expect((await credential.getToken('https://vault.azure.net/.default')).token).toBe('one');
    expect(server.requests).toHaveLength(2);
  });

  it('shares one request among concurrent callers', async () => {
    const server = await serve(token('shared'));
    const credential = new PodIdentityCredential({ endpoint: server.endpoint, now: () => NOW });
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map(() => credential.getToken('https://vault.azure.net/.default')),
    );
    expect(results.map((r) => r.token)).toEqual(['shared', 'shared', 'shared', 'shared', 'shared']);
    expect(server.requests).toHaveLength(1);
  });

  it('lets one caller abort without failing the others sharing the request', async () => {
    const server = await serve({ status: 404 }, token('late'));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const credential = new PodIdentityCredential({
      endpoint: server.endpoint,
      now: () => NOW,
      sleep: () => gate,
    });
    const controller = new AbortController();
    const impatient = credential.getToken('https://vault.azure.net/.default', {
      abortSignal: controller.signal,
    });
    const patient = credential.getToken('https://vault.azure.net/.default');
    await server.requestArrived(1);
    controller.abort();
    await expect(impatient).rejects.toMatchObject({ name: 'AbortError' });
    release();
    expect((await patient).token).toBe('late');
  });

  it('keeps returning a still-valid token while a refresh fails', async () => {
    const server = await serve(token('one'), { status: 403, body: 'no' });
    let now = NOW;
    const credential = new PodIdentityCredential({ endpoint: server.endpoint, now: () => now });
    await credential.getToken('https://vault.azure.net/.default');
    now = NOW + HOUR - 60_000;
    expect((await credential.getToken('https://vault.azure.net/.default')).token).toBe('one');
    now = NOW + HOUR + 1;
    await expect(credential.getToken('https://vault.azure.net/.default')).rejects.toMatchObject({
      name: 'IdentityRefusedError',
    });
  });

  it('takes exactly one scope', async () => {
    const credential = new PodIdentityCredential({ endpoint: 'http://127.0.0.1:1' });
    await expect(credential.getToken([])).rejects.toThrow(/exactly one scope, got 0/);
    await expect(credential.getToken(['a/.default', 'b/.default'])).rejects.toThrow(
      /exactly one scope, got 2/,
    );
  });
});
