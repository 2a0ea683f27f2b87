// Java's azure-identity (compiled against Maven Central's artifacts, cached outside the repository)
// in its own process, pointed at NMI as a pod's application would be: the SDK (MSAL Java) takes IMDS's
// address from AZURE_POD_IDENTITY_AUTHORITY_HOST, and the program's HTTP client sends from the pod's
// address to NMI only (test-support/sdk/java).
import {
  JAVA_AZURE_IDENTITY_VERSION,
  javaProgram,
  runSdkProgram,
} from '@pod-identity/test-support/sdk-runtimes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf } from './nmi-test-support.js';
import { startSdkFixture, type SdkFixture } from './sdk-fixture.js';

const scope = 'https://management.azure.com/.default';

let fixture: SdkFixture;
let program: string;

beforeAll(async () => {
  [program, fixture] = await Promise.all([javaProgram(), startSdkFixture()]);
}, 1_200_000);

afterAll(async () => {
  await fixture.close();
});

const getToken = (clientId: string) =>
  runSdkProgram(program, [scope, clientId], {
    AZURE_POD_IDENTITY_AUTHORITY_HOST: fixture.nmi.url,
    POD_IP: fixture.podIp,
  });

describe(`Java azure-identity ${JAVA_AZURE_IDENTITY_VERSION} against NMI`, () => {
  it('gets the bound identity’s token', { timeout: 120_000 }, async () => {
    const before = await fixture.answered(200);
    const outcome = await getToken(fixture.app.clientId);
    if (!outcome.ok) throw new Error(`${outcome.type}: ${outcome.message}`);
    const claims = claimsOf(outcome.token);
    expect(claims.appid).toBe(fixture.app.clientId);
    expect(claims.aud).toBe('https://management.azure.com');
    // From NMI, not from anywhere else.
    expect((await fixture.answered(200)) - before).toBe(1);
  });

  it(
    'fails on NMI’s first answer for an identity not bound to the pod, with NMI’s reason',
    { timeout: 120_000 },
    async () => {
      const before = await fixture.answered(400);
      const outcome = await getToken(fixture.other.clientId);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.type).toBe('ClientAuthenticationException');
      const causes = (outcome as { causes?: string }).causes ?? '';
      expect(causes).toContain('Identity not found');
      expect(causes).toContain('pod default/sdk');
      // One request: no retry of a final answer.
      expect((await fixture.answered(400)) - before).toBe(1);
    },
  );
});
