// Python's azure-identity (from PyPI, in a virtual environment cached outside the repository) in its
// own process, pointed at NMI as a pod's application would be: the bound identity's token, and a
// refusal that ends on NMI's first answer with NMI's reason in the exception.
import {
  PYTHON_AZURE_IDENTITY_VERSION,
  PYTHON_TOKEN_SCRIPT,
  pythonWithAzureIdentity,
  runSdkProgram,
} from '@pod-identity/test-support/sdk-runtimes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf } from './nmi-test-support.js';
import { startSdkFixture, type SdkFixture } from './sdk-fixture.js';

const scope = 'https://management.azure.com/.default';

let fixture: SdkFixture;
let python: string;

beforeAll(async () => {
  [python, fixture] = await Promise.all([pythonWithAzureIdentity(), startSdkFixture()]);
}, 900_000);

afterAll(async () => {
  await fixture.close();
});

const getToken = (clientId: string) =>
  runSdkProgram(python, [PYTHON_TOKEN_SCRIPT, scope, clientId], {
    AZURE_POD_IDENTITY_AUTHORITY_HOST: fixture.nmi.url,
    POD_IP: fixture.podIp,
  });

describe(`Python azure-identity ${PYTHON_AZURE_IDENTITY_VERSION} against NMI`, () => {
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
      // What a DefaultAzureCredential chain reads as "not this credential", as for IMDS's own 400.
      expect(outcome.type).toBe('CredentialUnavailableError');
      expect(outcome.message).toContain('Identity not found');
      expect(outcome.message).toContain('pod default/sdk');
      expect(outcome.message).toContain('aadpodidbinding=sdk');
      // One request: no retry of a final answer.
      expect((await fixture.answered(400)) - before).toBe(1);
    },
  );
});
