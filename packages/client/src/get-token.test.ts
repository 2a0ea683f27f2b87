import { afterEach, describe, expect, it } from 'vitest';
import { getToken } from './get-token.js';
import { IdentityNotAssignedError } from './errors/identity-not-assigned-error.js';
import { IdentityRefusedError } from './errors/identity-refused-error.js';
import { TokenRequestError } from './errors/token-request-error.js';
import { ImdsResponseError } from './errors/imds-response-error.js';
import {
  imdsTokenBody,
  startScriptedImds,
  type ScriptedAnswer,
  type ScriptedImds,
} from '../test/scripted-imds.js';

const ARM = 'https://management.azure.com/';
const T0 = Date.UTC(2026, 0, 1);
const EXPIRES = T0 / 1000 + 3600;

/** A clock that only moves when the client sleeps, recording every delay. */
function fakeClock(start = T0) {
  let t = start;
  const delays: number[] = [];
  return {
    delays,
    now: () => t,
    sleep: (ms: number) => {
      delays.push(ms);
      t += ms;
      return Promise.resolve();
    },
    advance: (ms: number) => (t += ms),
  };
}

let imds: ScriptedImds | undefined;
afterEach(async () => {
  await imds?.close();
  imds = undefined;
});

async function serve(...script: ScriptedAnswer[]): Promise<ScriptedImds> {
  imds = await startScriptedImds(script);
  return imds;
}

const notFound: ScriptedAnswer = {
  status: 404,
  body: '{"error":"not_found","error_description":"no identity assigned yet"}',
};
const ok: ScriptedAnswer = { status: 200, body: imdsTokenBody('tok-1', EXPIRES) };

describe('getToken', () => {
  it('sends the IMDS request shape: path, api-version, resource, client_id and Metadata: true', async () => {
    const server = await serve(ok);
    const token = await getToken(
      ARM,
      { clientId: '00000000-0000-0000-0000-000000000001' },
      { endpoint: server.endpoint },
    );
    expect(token).toEqual({
      token: 'tok-1',
      expiresOnTimestamp: EXPIRES * 1000,
      resource: ARM,
      tokenType: 'Bearer',
    });
    const [request] = server.requests;
    expect(request?.method).toBe('GET');
    expect(request?.url.pathname).toBe('/metadata/identity/oauth2/token');
    expect(Object.fromEntries(request!.url.searchParams)).toEqual({
      'api-version': '2018-02-01',
      resource: ARM,
      client_id: '00000000-0000-0000-0000-000000000001',
    });
    expect(request?.metadataHeader).toBe('true');
  });

  it('names a resource ID msi_res_id and an object ID object_id', async () => {
    const server = await serve(ok);
    const id =
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i';
    await getToken(ARM, { resourceId: id }, { endpoint: server.endpoint });
    await getToken(ARM, { objectId: 'oid' }, { endpoint: server.endpoint });
    await getToken(ARM, undefined, { endpoint: server.endpoint });
    expect(server.requests[0]?.url.searchParams.get('msi_res_id')).toBe(id);
    expect(server.requests[1]?.url.searchParams.get('object_id')).toBe('oid');
    const bare = server.requests[2]!.url.searchParams;
    expect([bare.has('client_id'), bare.has('msi_res_id'), bare.has('object_id')]).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('turns a /.default scope into its resource', async () => {
    const server = await serve(ok);
    await getToken('https://vault.azure.net/.default', undefined, { endpoint: server.endpoint });
    expect(server.requests[0]?.url.searchParams.get('resource')).toBe('https://vault.azure.net');
  });

  it('reads the endpoint from AZURE_POD_IDENTITY_AUTHORITY_HOST when no option is given', async () => {
    const server = await serve(ok);
    const token = await getToken(ARM, undefined, {
      env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: server.endpoint },
    });
    expect(token.token).toBe('tok-1');
    expect(server.requests).toHaveLength(1);
  });

  it('rejects bad arguments before sending anything', async () => {
    await expect(
      getToken('', undefined, { endpoint: 'http://127.0.0.1:1' }),
    ).rejects.toBeInstanceOf(TypeError);
    await expect(
      getToken(ARM, { clientId: 'a', objectId: 'b' } as never, { endpoint: 'http://127.0.0.1:1' }),
    ).rejects.toThrow(/at most one of clientId, resourceId, objectId/);
    await expect(
      getToken(ARM, { clientId: ' ' }, { endpoint: 'http://127.0.0.1:1' }),
    ).rejects.toThrow(/clientId must be/);
    await expect(getToken(ARM, undefined, { endpoint: 'ftp://x' })).rejects.toThrow(
      /http or https/,
    );
    await expect(
      getToken(ARM, undefined, { endpoint: 'http://127.0.0.1:1', deadlineMs: 0 }),
    ).rejects.toBeInstanceOf(RangeError);
  });

  it('retries 404, 410, 429 and 5xx with exponential backoff and jitter, then succeeds', async () => {
    const server = await serve(
      notFound,
      { status: 410 },
      { status: 429 },
      { status: 500 },
      { status: 503 },
      ok,
    );
    const clock = fakeClock();
    const token = await getToken(ARM, undefined, {
      endpoint: server.endpoint,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.5,
      retry: { initialDelayMs: 1000, maxDelayMs: 60_000 },
    });
    expect(token.token).toBe('tok-1');
    expect(server.requests).toHaveLength(6);
    // 1 s, 2 s, 4 s, 8 s, 16 s, each scaled by the jitter factor 0.5 + 0.5 × 0.5.
    expect(clock.delays).toEqual([750, 1500, 3000, 6000, 12_000]);
  });

  it('spreads delays between half and all of the exponential step', async () => {
    const low = fakeClock();
    const high = fakeClock();
    const first = await serve(notFound, notFound, ok);
    await getToken(ARM, undefined, {
      endpoint: first.endpoint,
      now: low.now,
      sleep: low.sleep,
      random: () => 0,
    });
    await first.close();
    const second = await serve(notFound, notFound, ok);
    await getToken(ARM, undefined, {
      endpoint: second.endpoint,
      now: high.now,
      sleep: high.sleep,
      random: () => 0.999999,
    });
    expect(low.delays).toEqual([500, 1000]);
    expect(high.delays).toEqual([1000, 2000]);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const clock = fakeClock();
    const date = new Date(T0 + 20_000 + 7000).toUTCString();
    const server = await serve(
      { status: 503, headers: { 'Retry-After': '20' } },
      { status: 429, headers: { 'Retry-After': date } },
      ok,
    );
    await getToken(ARM, undefined, {
      endpoint: server.endpoint,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
    });
    expect(clock.delays).toEqual([20_000, 7000]);
  });

  it('says the identity is still being assigned when 404 lasts until the deadline', async () => {
    const server = await serve(notFound);
    const clock = fakeClock();
    const error = await getToken(
      ARM,
      { clientId: 'c' },
      {
        endpoint: server.endpoint,
        now: clock.now,
        sleep: clock.sleep,
        random: () => 0.999999,
        deadlineMs: 10_000,
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityNotAssignedError);
    const typed = error as IdentityNotAssignedError;
    expect(typed.code).toBe('IDENTITY_NOT_ASSIGNED');
    expect(typed.retryable).toBe(true);
    expect(typed.status).toBe(404);
    expect(typed.imdsError).toBe('not_found');
    // Waits of 1, 2 and 4 s fit in 10 s; the next 8 s would not, so the client stops at attempt 4.
    expect(typed.attempts).toBe(4);
    expect(clock.delays).toEqual([1000, 2000, 4000]);
    expect(typed.message).toMatch(/not \(yet\) assigned.*deadline of 10000 ms/);
  });

  it('gives up at once when Retry-After points past the deadline', async () => {
    const server = await serve({ status: 503, headers: { 'Retry-After': '120' } });
    const clock = fakeClock();
    const error = await getToken(ARM, undefined, {
      endpoint: server.endpoint,
      now: clock.now,
      sleep: clock.sleep,
      deadlineMs: 30_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect((error as TokenRequestError).retryable).toBe(true);
    expect((error as TokenRequestError).message).toMatch(
      /retry after 120000 ms, past the deadline/,
    );
    expect(server.requests).toHaveLength(1);
    expect(clock.delays).toEqual([]);
  });

  it('stops after maxRetries', async () => {
    const server = await serve({ status: 500, body: 'boom' });
    const clock = fakeClock();
    const error = await getToken(ARM, undefined, {
      endpoint: server.endpoint,
      now: clock.now,
      sleep: clock.sleep,
      retry: { maxRetries: 2 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect((error as TokenRequestError).attempts).toBe(3);
    expect((error as TokenRequestError).status).toBe(500);
    expect((error as TokenRequestError).message).toContain(
      'gave up after 3 attempts; last answer: 500 boom',
    );
  });

  it('says the identity was refused on 403, without retrying', async () => {
    const server = await serve({
      status: 403,
      body: 'pod default/demo may not use identity c\n',
      headers: { 'Content-Type': 'text/plain' },
    });
    const error = await getToken(ARM, { clientId: 'c' }, { endpoint: server.endpoint }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IdentityRefusedError);
    expect((error as IdentityRefusedError).retryable).toBe(false);
    expect((error as IdentityRefusedError).message).toContain(
      '403 pod default/demo may not use identity c',
    );
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a 400 and keeps the IMDS error code', async () => {
    const server = await serve({
      status: 400,
      body: '{"error":"invalid_resource","error_description":"AADSTS50001"}',
    });
    const error = await getToken(ARM, undefined, { endpoint: server.endpoint }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenRequestError);
    expect((error as TokenRequestError).imdsError).toBe('invalid_resource');
    expect((error as TokenRequestError).retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('fails at once on NMI`s final 400 Identity not found, keeping its reason (not retryable)', async () => {
    const reason =
      'Identity not found: no azure identity is assigned to pod default/demo: no AzureIdentityBinding selects aadpodidbinding=demo; create one or relabel the pod';
    const server = await serve({
      status: 400,
      body: JSON.stringify({ error: 'invalid_request', error_description: reason }),
    });
    const error = await getToken(ARM, { clientId: 'c' }, { endpoint: server.endpoint }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IdentityNotAssignedError);
    const typed = error as IdentityNotAssignedError;
    expect(typed.retryable).toBe(false);
    expect(typed.status).toBe(400);
    expect(typed.imdsError).toBe('invalid_request');
    expect(typed.attempts).toBe(1);
    expect(typed.message).toContain(reason);
    expect(server.requests).toHaveLength(1);
  });

  it('keeps the last answer`s status and reason when a later attempt times out at the deadline', async () => {
    const server = await serve(notFound, { status: 0, hang: true });
    const clock = fakeClock();
    const error = await getToken(ARM, undefined, {
      endpoint: server.endpoint,
      attemptTimeoutMs: 50,
      retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1 },
      now: clock.now,
      sleep: clock.sleep,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityNotAssignedError);
    const typed = error as IdentityNotAssignedError;
    expect(typed.status).toBe(404);
    expect(typed.imdsError).toBe('not_found');
    expect(typed.message).toContain('no answer within 50 ms');
    expect(typed.message).toContain('the last answer before it: 404 no identity assigned yet');
  });

  it('fails with a protocol error on a 200 that is not a token, never echoing the body', async () => {
    const server = await serve({ status: 200, body: '{"secret":"sensitive-value"}' });
    const error = await getToken(ARM, undefined, { endpoint: server.endpoint }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImdsResponseError);
    expect((error as Error).message).not.toContain('sensitive-value');
  });

  it('retries an attempt that times out', async () => {
    const server = await serve({ status: 0, hang: true }, ok);
    const token = await getToken(ARM, undefined, {
      endpoint: server.endpoint,
      // Long enough for the second attempt to be answered on a loaded machine; the first never is.
      attemptTimeoutMs: 1_000,
      sleep: () => Promise.resolve(),
    });
    expect(token.token).toBe('tok-1');
    expect(server.requests).toHaveLength(2);
  });

  it('retries when the endpoint is unreachable and reports it', async () => {
    const server = await serve(ok);
    const endpoint = server.endpoint;
    await server.close();
    imds = undefined;
    const retries: string[] = [];
    const error = await getToken(ARM, undefined, {
      endpoint,
      sleep: () => Promise.resolve(),
      retry: { maxRetries: 2 },
      onRetry: (event) => retries.push(event.reason),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect((error as TokenRequestError).status).toBeUndefined();
    expect((error as TokenRequestError).message).toMatch(
      /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
    expect(retries).toHaveLength(2);
  });

  it('aborts a request in flight with the signal reason', async () => {
    const server = await serve({ status: 0, hang: true });
    const controller = new AbortController();
    const pending = getToken(ARM, undefined, {
      endpoint: server.endpoint,
      abortSignal: controller.signal,
    });
    await server.requestArrived(1);
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
  });

  it('aborts the wait between retries', async () => {
    const server = await serve(notFound);
    const controller = new AbortController();
    const pending = getToken(ARM, undefined, {
      endpoint: server.endpoint,
      abortSignal: controller.signal,
      retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      onRetry: () => {
        controller.abort();
      },
    });
    const error = await pending.catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(server.requests).toHaveLength(1);
  });

  it('does not send when the signal is already aborted', async () => {
    const server = await serve(ok);
    await expect(
      getToken(ARM, undefined, { endpoint: server.endpoint, abortSignal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(server.requests).toHaveLength(0);
  });

  it('sends from the given local address, which is how NMI tells pods apart', async () => {
    const server = await serve(ok);
    await getToken(ARM, undefined, { endpoint: server.endpoint, localAddress: '127.0.0.42' });
    expect(server.requests[0]?.remoteAddress).toBe('127.0.0.42');
  });
});
