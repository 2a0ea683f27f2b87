// @azure/identity's ManagedIdentityCredential (through msal-node) against @pod-identity/testkit/msw:
// what an application that uses the Azure SDK's own credential tests with. Its own file (and so its
// own process): msal-node reads AZURE_POD_IDENTITY_AUTHORITY_HOST once, at the first credential.
import { ManagedIdentityCredential } from '@azure/identity';
import { createImdsTokenHandlers, imdsAnswer } from '@pod-identity/testkit/msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

const ENDPOINT = 'http://imds.testkit-msw-identity.test';
const CLIENT_ID = '00000000-0000-0000-0000-0000000001d1';

const imds = createImdsTokenHandlers({ endpoint: ENDPOINT, identities: [{ clientId: CLIENT_ID }] });
const server = setupServer(...imds.handlers);

beforeAll(() => {
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = ENDPOINT;
  server.listen({ onUnhandledFrame: 'error' });
});
afterEach(() => {
  imds.reset();
});
afterAll(() => {
  server.close();
  delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
});

it('gets the token of its identity', async () => {
  const credential = new ManagedIdentityCredential({ clientId: CLIENT_ID });
  const token = await credential.getToken('https://vault.azure.net/.default');
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString()) as {
    aud: string;
    appid: string;
  };
  expect(claims).toMatchObject({ aud: 'https://vault.azure.net', appid: CLIENT_ID });
  expect(imds.requests).toMatchObject([{ identity: { kind: 'clientId', clientId: CLIENT_ID } }]);
});

it('reports a refusal by Azure as an authentication failure', async () => {
  imds.answerNext(imdsAnswer.forbidden({ message: 'identity not found' }));
  const credential = new ManagedIdentityCredential({ clientId: CLIENT_ID });
  await expect(credential.getToken('https://storage.azure.com/.default')).rejects.toThrow();
  expect(imds.requests.map((r) => r.answer)).toContain(403);
});
