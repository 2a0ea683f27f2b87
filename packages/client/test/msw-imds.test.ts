// The client against @pod-identity/testkit/msw, the way an application unit-tests its own code:
// NMI's answers (tokens, refusals, Retry-After, slow answers) emulated in-process by msw, with the
// client's real HTTP code. Waits between attempts go through an injected sleep, so no test waits.
import {
  IdentityNotAssignedError,
  IdentityRefusedError,
  PodIdentityCredential,
  getToken,
  type GetTokenOptions,
} from '@pod-identity/client';
import { createImdsTokenHandlers, imdsAnswer } from '@pod-identity/testkit/msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ENDPOINT = 'http://imds.client-msw.test';
const CLIENT_ID = '00000000-0000-0000-0000-00000000c11e';

const imds = createImdsTokenHandlers({ endpoint: ENDPOINT, identities: [{ clientId: CLIENT_ID }] });
const server = setupServer(...imds.handlers);

beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
});
afterEach(() => {
  imds.reset();
});
afterAll(() => {
  server.close();
});

/** Options with a virtual clock: sleeping advances it at once and is recorded. */
function virtualTime(): { options: GetTokenOptions; slept: number[] } {
  let nowMs = 1_700_000_000_000;
  const slept: number[] = [];
  return {
    slept,
    options: {
      endpoint: ENDPOINT,
      now: () => nowMs,
      sleep: (ms) => {
        slept.push(ms);
        nowMs += ms;
        return Promise.resolve();
      },
      random: () => 0.5,
    },
  };
}

describe('getToken', () => {
  it('gets the token of the identity it names', async () => {
    const token = await getToken(
      'https://vault.azure.net',
      { clientId: CLIENT_ID },
      {
        endpoint: ENDPOINT,
      },
    );
    expect(token.resource).toBe('https://vault.azure.net');
    expect(token.token.split('.')).toHaveLength(3);
    expect(imds.requests).toMatchObject([{ identity: { kind: 'clientId', clientId: CLIENT_ID } }]);
  });

  it('waits as long as Retry-After says while the identity is being assigned', async () => {
    imds.answerNext(imdsAnswer.notAssigned({ retryAfterSeconds: 7 }));
    const { options, slept } = virtualTime();
    const token = await getToken('https://vault.azure.net', { clientId: CLIENT_ID }, options);
    expect(token.token).not.toBe('');
    expect(slept).toEqual([7000]);
    expect(imds.requests.map((r) => r.answer)).toEqual([503, 'token']);
  });

  it('fails on the first answer with IdentityNotAssignedError when no binding gives the identity', async () => {
    const { options } = virtualTime();
    const error: unknown = await getToken(
      'https://vault.azure.net',
      { clientId: '00000000-0000-0000-0000-0000000000ff' },
      { ...options, deadlineMs: 30_000 },
    ).catch((e: unknown) => e);
    expect(IdentityNotAssignedError.is(error)).toBe(true);
    expect((error as IdentityNotAssignedError).retryable).toBe(false);
    expect((error as Error).message).toContain('Identity not found');
    expect(imds.requests).toHaveLength(1);
  });

  it('does not retry a refusal by Azure (403): IdentityRefusedError', async () => {
    imds.answerNext(imdsAnswer.forbidden());
    const { options } = virtualTime();
    const error: unknown = await getToken('https://vault.azure.net', undefined, options).catch(
      (e: unknown) => e,
    );
    expect(IdentityRefusedError.is(error)).toBe(true);
    expect(imds.requests).toHaveLength(1);
  });

  it('retries an unavailable broker, then gets the token', async () => {
    imds.answerNext(imdsAnswer.unavailable(), imdsAnswer.unavailable());
    const { options, slept } = virtualTime();
    await getToken('https://vault.azure.net', undefined, options);
    expect(slept).toHaveLength(2);
    expect(imds.requests.map((r) => r.answer)).toEqual([503, 503, 'token']);
  });

  it('abandons an attempt that outlasts attemptTimeoutMs and tries again', async () => {
    imds.answerNext(imdsAnswer.token({ accessToken: 'too-late', delayMs: 60_000 }));
    const { options } = virtualTime();
    const token = await getToken('https://vault.azure.net', undefined, {
      ...options,
      attemptTimeoutMs: 50,
    });
    expect(token.token).not.toBe('too-late');
    expect(imds.requests).toHaveLength(2);
  });
});

describe('PodIdentityCredential', () => {
  it('serves an Azure SDK scope from one request while the token is fresh', async () => {
    const credential = new PodIdentityCredential({
      endpoint: ENDPOINT,
      identity: { clientId: CLIENT_ID },
    });
    const first = await credential.getToken('https://management.azure.com/.default');
    const second = await credential.getToken('https://management.azure.com/.default');
    expect(second.token).toBe(first.token);
    expect(imds.requests).toMatchObject([{ resource: 'https://management.azure.com' }]);
  });
});
