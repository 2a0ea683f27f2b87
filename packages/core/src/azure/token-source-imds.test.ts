import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenAcquisitionError } from '../broker/token-acquisition-error.js';
import type { Clock } from '../work-queue/clock.js';
import { createImdsTokenSource, parseImdsToken } from './token-source-imds.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function fakeImds(
  handlers: Handler[],
): Promise<{ url: string; requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    const handler = handlers[Math.min(requests.length - 1, handlers.length - 1)];
    handler?.(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, requests };
}

const jwt = (claims: Record<string, unknown>): string =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const ok =
  (body: Record<string, unknown>): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
const fail =
  (status: number, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res
      .writeHead(status, { 'content-type': 'application/json', ...headers })
      .end(JSON.stringify({ error: 'invalid_request', error_description: 'Identity not found' }));
  };
const instantClock = (sleeps: number[]): Clock => ({
  now: () => 1_700_000_000_000,
  sleep: (ms) => {
    sleeps.push(ms);
    return Promise.resolve();
  },
});

describe('createImdsTokenSource', () => {
  it('asks IMDS as the original did: sorted query with the client ID, Metadata: true', async () => {
    const imds = await fakeImds([
      ok({
        access_token: jwt({ oid: 'object-1', nbf: 1_699_999_000 }),
        expires_on: '1700003600',
        resource: 'https://vault.azure.net',
        token_type: 'Bearer',
        client_id: 'client-1',
      }),
    ]);
    const source = createImdsTokenSource({
      endpoint: imds.url,
      selector: { kind: 'clientId', clientId: 'client-1' },
      userAgent: 'ua/1',
    });
    const [token] = await source.getTokens('https://vault.azure.net');
    expect(imds.requests[0]?.url).toBe(
      '/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=client-1&resource=https%3A%2F%2Fvault.azure.net',
    );
    expect(imds.requests[0]?.headers.metadata).toBe('true');
    expect(imds.requests[0]?.headers['user-agent']).toBe('ua/1');
    expect(token).toMatchObject({
      expiresOnTimestamp: 1_700_003_600_000,
      notBeforeTimestamp: 1_699_999_000_000,
      clientId: 'client-1',
      objectId: 'object-1',
      resource: 'https://vault.azure.net',
    });
    expect(source.key).toBe('imds/client_id=client-1');
  });

  it('sends no selector for the system-assigned identity, and object_id or msi_res_id when given', async () => {
    const body = { access_token: 'a.b.c', expires_in: '3600' };
    const imds = await fakeImds([ok(body)]);
    await createImdsTokenSource({ endpoint: imds.url, selector: { kind: 'none' } }).getTokens('r');
    await createImdsTokenSource({
      endpoint: imds.url,
      selector: { kind: 'objectId', objectId: 'o' },
    }).getTokens('r');
    await createImdsTokenSource({
      endpoint: imds.url,
      selector: { kind: 'resourceId', resourceId: '/s/x' },
    }).getTokens('r');
    expect(imds.requests.map((r) => r.url)).toEqual([
      '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r',
      '/metadata/identity/oauth2/token?api-version=2018-02-01&object_id=o&resource=r',
      '/metadata/identity/oauth2/token?api-version=2018-02-01&msi_res_id=%2Fs%2Fx&resource=r',
    ]);
  });

  it('retries what IMDS documents as transient, honouring Retry-After', async () => {
    const imds = await fakeImds([
      fail(503, { 'retry-after': '2' }),
      fail(429),
      fail(410),
      ok({ access_token: 'a.b.c', expires_in: 60 }),
    ]);
    const sleeps: number[] = [];
    const source = createImdsTokenSource({
      endpoint: imds.url,
      selector: { kind: 'clientId', clientId: 'c' },
      maxAttempts: 4,
      clock: instantClock(sleeps),
    });
    const [token] = await source.getTokens('r');
    expect(token?.expiresOnTimestamp).toBe(1_700_000_060_000);
    expect(sleeps).toEqual([2000, 2000, 4000]);
  });

  it('reports a refusal (400 Identity not found) at once, and exhausted retries as unavailable', async () => {
    const refused = await fakeImds([fail(400)]);
    const error = await createImdsTokenSource({
      endpoint: refused.url,
      selector: { kind: 'clientId', clientId: 'c' },
    })
      .getTokens('r')
      .catch((e: unknown) => e);
    expect(TokenAcquisitionError.is(error) && error.failure).toBe('refused');
    expect(TokenAcquisitionError.is(error) && error.status).toBe(400);
    expect(refused.requests).toHaveLength(1);

    const down = await fakeImds([fail(500)]);
    const unavailable = await createImdsTokenSource({
      endpoint: down.url,
      selector: { kind: 'clientId', clientId: 'c' },
      maxAttempts: 2,
      clock: instantClock([]),
    })
      .getTokens('r')
      .catch((e: unknown) => e);
    expect(TokenAcquisitionError.is(unavailable) && unavailable.failure).toBe('unavailable');
    expect(down.requests).toHaveLength(2);
  });

  it('reports a connection failure as unavailable', async () => {
    const imds = await fakeImds([ok({})]);
    await new Promise((r) => servers.pop()?.close(r));
    const error = await createImdsTokenSource({
      endpoint: imds.url,
      selector: { kind: 'none' },
      maxAttempts: 1,
    })
      .getTokens('r')
      .catch((e: unknown) => e);
    expect(TokenAcquisitionError.is(error) && error.failure).toBe('unavailable');
  });

  it('refuses a non-http endpoint', () => {
    expect(() =>
      createImdsTokenSource({ endpoint: 'https://x', selector: { kind: 'none' } }),
    ).toThrow(TypeError);
  });
});

describe('parseImdsToken', () => {
  it('reads expires_on as epoch seconds, numeric string or date, and falls back to expires_in', () => {
    expect(
      parseImdsToken('{"access_token":"x","expires_on":1700000000}', 'r', 0).expiresOnTimestamp,
    ).toBe(1_700_000_000_000);
    expect(
      parseImdsToken('{"access_token":"x","expires_on":"11/28/2026 18:00:00 +00:00"}', 'r', 0)
        .expiresOnTimestamp,
    ).toBe(Date.parse('11/28/2026 18:00:00 +00:00'));
    expect(
      parseImdsToken('{"access_token":"x","expires_in":"10"}', 'r', 5000).expiresOnTimestamp,
    ).toBe(15_000);
  });

  it('rejects bodies without a token or an expiry', () => {
    for (const body of ['nope', '[]', '{}', '{"access_token":"x"}']) {
      expect(() => parseImdsToken(body, 'r', 0)).toThrow(TokenAcquisitionError);
    }
  });
});
