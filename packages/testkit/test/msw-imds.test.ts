// @pod-identity/testkit/msw: the IMDS token endpoint as NMI answers it, for applications' unit tests.
// Requests go through msw's interception of fetch; nothing leaves the process (unhandled requests
// are errors).
import {
  createImdsTokenHandlers,
  imdsAnswer,
  originalNmiRefusalResponse,
  type ImdsRefusal,
} from '@pod-identity/testkit/msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ENDPOINT = 'http://imds.testkit-msw.test';
const APP = {
  clientId: '00000000-0000-0000-0000-0000000000aa',
  resourceId:
    '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app',
  objectId: '00000000-0000-0000-0000-0000000000bb',
};
const OTHER = { clientId: '00000000-0000-0000-0000-0000000000cc' };
const NOW_MS = 1_800_000_000_000;

const imds = createImdsTokenHandlers({
  endpoint: ENDPOINT,
  identities: [APP, OTHER],
  now: () => NOW_MS,
});
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

function tokenUrl(query: string): string {
  return `${ENDPOINT}/metadata/identity/oauth2/token?api-version=2018-02-01&${query}`;
}

async function get(query: string, init: RequestInit = {}): Promise<Response> {
  return fetch(tokenUrl(query), { headers: { Metadata: 'true' }, ...init });
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

describe('tokens', () => {
  it('answers with the IMDS token object, every value a string', async () => {
    const response = await get(`resource=${encodeURIComponent('https://vault.azure.net')}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({
      refresh_token: '',
      expires_in: '3600',
      expires_on: String(NOW_MS / 1000 + 3600),
      not_before: String(NOW_MS / 1000),
      resource: 'https://vault.azure.net',
      token_type: 'Bearer',
      client_id: APP.clientId,
    });
    expect(claims(body.access_token!)).toMatchObject({
      aud: 'https://vault.azure.net',
      appid: APP.clientId,
      exp: NOW_MS / 1000 + 3600,
    });
    expect(imds.requests).toEqual([
      {
        resource: 'https://vault.azure.net',
        identity: { kind: 'none' },
        apiVersion: '2018-02-01',
        answer: 'token',
      },
    ]);
  });

  it('serves the identity a request names by client, object or resource ID', async () => {
    for (const query of [
      `client_id=${OTHER.clientId}`,
      `object_id=${APP.objectId}`,
      `msi_res_id=${encodeURIComponent(APP.resourceId)}`,
    ]) {
      const body = (await (await get(`resource=r&${query}`)).json()) as { access_token: string };
      expect(claims(body.access_token).appid).toBe(
        query.startsWith('client_id') ? OTHER.clientId : APP.clientId,
      );
    }
  });

  it('issues a given token with a given lifetime', async () => {
    imds.answerNext(imdsAnswer.token({ accessToken: 'scripted', expiresInSeconds: 60 }));
    const body = (await (await get('resource=r')).json()) as Record<string, string>;
    expect(body).toMatchObject({ access_token: 'scripted', expires_in: '60' });
  });
});

describe('requests NMI refuses before deciding', () => {
  it('answers the availability probe (no Metadata header) at once with 400 invalid_request', async () => {
    const response = await fetch(`${ENDPOINT}/metadata/identity/oauth2/token`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: 'Required metadata header not specified',
    });
    expect(imds.requests).toEqual([]);
  });

  it('refuses a request without resource', async () => {
    const response = await get('client_id=x');
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('parameter resource cannot be empty\n');
  });
});

describe('refusals', () => {
  it('refuses an identity the pod does not have finally, as NMI does (400 Identity not found, JSON)', async () => {
    const response = await get('resource=r&client_id=00000000-0000-0000-0000-0000000000dd');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('retry-after')).toBeNull();
    expect(await response.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/^Identity not found: /) as string,
    });
    expect(imds.requests[0]?.answer).toBe(400);
  });

  it('answers as the original NMI with originalNmiRefusalResponse (404, text)', async () => {
    const original = createImdsTokenHandlers({
      endpoint: 'http://original-nmi.testkit-msw.test',
      identities: [APP],
      refusalResponse: originalNmiRefusalResponse,
    });
    server.use(...original.handlers);
    const response = await fetch(
      'http://original-nmi.testkit-msw.test/metadata/identity/oauth2/token?resource=r&client_id=zz',
      { headers: { Metadata: 'true' } },
    );
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    server.resetHandlers();
  });

  it('plays scripted refusals in order, with Retry-After, then goes back to tokens', async () => {
    imds.answerNext(
      imdsAnswer.notAssigned({ retryAfterSeconds: 5 }),
      imdsAnswer.forbidden(),
      imdsAnswer.unavailable(),
      imdsAnswer.unknownPod(),
    );
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i += 1) {
      const response = await get('resource=r');
      statuses.push(response.status);
      if (i === 0) retryAfter = response.headers.get('retry-after');
    }
    expect(statuses).toEqual([503, 403, 503, 503, 200]);
    expect(retryAfter).toBe('5');
  });

  it('gives refusals the shape a formatter says', async () => {
    const shaped = createImdsTokenHandlers({
      endpoint: 'http://other-broker.testkit-msw.test',
      identities: [APP],
      refusalResponse: (refusal: ImdsRefusal) => ({
        status: refusal.reason === 'not-bound' ? 400 : 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'invalid_request', error_description: refusal.reason }),
      }),
    });
    server.use(...shaped.handlers);
    const response = await fetch(
      'http://other-broker.testkit-msw.test/metadata/identity/oauth2/token?resource=r&client_id=zz',
      { headers: { Metadata: 'true' } },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: 'not-bound',
    });
    server.resetHandlers();
  });
});

describe('slow answers', () => {
  it('holds an answer for its delay, so a caller can give up first', async () => {
    imds.answerNext(imdsAnswer.token({ delayMs: 60_000 }));
    await expect(get('resource=r', { signal: AbortSignal.timeout(20) })).rejects.toThrow();
    expect(imds.requests).toHaveLength(1);
  });
});
