// JS's @azure/identity in this test file's own process (msal-node keeps its managed identity source
// in a static, so AZURE_POD_IDENTITY_AUTHORITY_HOST is set before the first credential), pointed at
// NMI as a pod's application would be. Its outgoing connections leave from the pod's address, as the
// iptables redirect would deliver them.
import { ManagedIdentityCredential } from '@azure/identity';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf } from './nmi-test-support.js';
import { startSdkFixture, type SdkFixture } from './sdk-fixture.js';

const scope = 'https://management.azure.com/.default';
const originalRequest = http.request;
let fixture: SdkFixture;

beforeAll(async () => {
  fixture = await startSdkFixture();
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = fixture.nmi.url;
  const podIp = fixture.podIp;
  http.request = ((...args: Parameters<typeof http.request>) => {
    const [first, second] = args;
    if (typeof first === 'object' && !(first instanceof URL))
      Object.assign(first, { localAddress: podIp });
    else if (typeof second === 'object' && typeof second !== 'function')
      Object.assign(second, { localAddress: podIp });
    return originalRequest(...args);
  }) as typeof http.request;
}, 120_000);

afterAll(async () => {
  http.request = originalRequest;
  delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  await fixture.close();
});

describe('JS @azure/identity 4.14 against NMI', () => {
  it('gets the bound identity’s token', async () => {
    const token = await new ManagedIdentityCredential({ clientId: fixture.app.clientId }).getToken(
      scope,
    );
    expect(claimsOf(token.token).appid).toBe(fixture.app.clientId);
  });

  it('fails on NMI’s first answer for an identity not bound to the pod, with NMI’s reason', async () => {
    const before = await fixture.answered(400);
    const credential = new ManagedIdentityCredential({ clientId: fixture.other.clientId });
    const error = await credential.getToken(scope).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('CredentialUnavailableError');
    expect(error?.message).toContain('Identity not found');
    expect(error?.message).toContain('pod default/sdk');
    expect((await fixture.answered(400)) - before).toBe(1);
  });
});
