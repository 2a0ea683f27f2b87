import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodIdentityError } from '@pod-identity/core';
import { imdsTokenBody, startScriptedImds, type ScriptedImds } from './scripted-imds.js';

// The published CommonJS build, loaded the way a CJS application loads it. `pnpm build` runs before
// `pnpm test` in CI; run it locally first too.
const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.cjs');
const requireFromHere = createRequire(import.meta.url);

interface ClientCjs {
  getToken: (resource: string, identity?: unknown, options?: unknown) => Promise<{ token: string }>;
  PodIdentityCredential: new (options?: unknown) => {
    getToken: (scope: string) => Promise<{ token: string }>;
  };
  IdentityRefusedError: new (message: string, details: { attempts: number }) => Error;
}

describe('CommonJS build', () => {
  let imds: ScriptedImds;
  beforeAll(async () => {
    imds = await startScriptedImds([
      { status: 200, body: imdsTokenBody('cjs-token', 2_000_000_000) },
    ]);
  });
  afterAll(async () => {
    await imds.close();
  });

  it('exists (run `pnpm build` first)', () => {
    expect(existsSync(built), `${built} missing: run pnpm build`).toBe(true);
  });

  it('loads with require() and acquires a token', async () => {
    const client = requireFromHere(built) as ClientCjs;
    expect(
      (
        await client.getToken('https://management.azure.com/', undefined, {
          endpoint: imds.endpoint,
        })
      ).token,
    ).toBe('cjs-token');
    const credential = new client.PodIdentityCredential({ endpoint: imds.endpoint });
    expect((await credential.getToken('https://management.azure.com/.default')).token).toBe(
      'cjs-token',
    );
  });

  it('throws errors that the ESM copy of core recognises', () => {
    const client = requireFromHere(built) as ClientCjs;
    const error = new client.IdentityRefusedError('refused', { attempts: 1 });
    expect(PodIdentityError.is(error)).toBe(true);
    expect(error).toMatchObject({ name: 'IdentityRefusedError', code: 'IDENTITY_REFUSED' });
  });
});
