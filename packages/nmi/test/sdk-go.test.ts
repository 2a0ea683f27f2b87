// Go's azidentity (built from the Go module proxy, the binary cached outside the repository) in its
// own process, pointed at NMI as a pod's application would be. azidentity always dials
// 169.254.169.254 for IMDS, so the program's transport dials NMI instead, from the pod's address,
// and refuses every other destination (test-support/sdk/go/main.go).
import { goProgram, runSdkProgram } from '@pod-identity/test-support/sdk-runtimes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf } from './nmi-test-support.js';
import { startSdkFixture, type SdkFixture } from './sdk-fixture.js';

const scope = 'https://management.azure.com/.default';

let fixture: SdkFixture;
let program: string;

beforeAll(async () => {
  [program, fixture] = await Promise.all([goProgram(), startSdkFixture()]);
}, 1_200_000);

afterAll(async () => {
  await fixture.close();
});

const getToken = (clientId: string) => {
  const { hostname, port } = new URL(fixture.nmi.url);
  return runSdkProgram(program, [scope, clientId], {
    NMI_ADDRESS: `${hostname}:${port}`,
    POD_IP: fixture.podIp,
  });
};

describe('Go azidentity 1.15 against NMI', () => {
  it('gets the bound identity’s token', { timeout: 120_000 }, async () => {
    const outcome = await getToken(fixture.app.clientId);
    if (!outcome.ok) throw new Error(`${outcome.type}: ${outcome.message}`);
    const claims = claimsOf(outcome.token);
    expect(claims.appid).toBe(fixture.app.clientId);
    expect(claims.aud).toBe('https://management.azure.com');
  });

  it(
    'fails on NMI’s first answer for an identity not bound to the pod, with NMI’s reason',
    { timeout: 120_000 },
    async () => {
      const before = await fixture.answered(400);
      const outcome = await getToken(fixture.other.clientId);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      // azidentity's answer to IMDS's 400 for a user-assigned identity; its message prints the body.
      expect(outcome.type).toBe('AuthenticationFailedError');
      expect(outcome.message).toContain("the requested identity isn't assigned to this resource");
      expect(outcome.message).toContain('Identity not found');
      expect(outcome.message).toContain('pod default/sdk');
      expect((await fixture.answered(400)) - before).toBe(1);
    },
  );
});
