// Raw bytes against NMI's token port: every malformed request is refused in IMDS's JSON error shape
// (never Node's empty 400), HTTP/1.0 and 0.9 follow HTTP/1.1's rules, and the server keeps serving.
import http from 'node:http';
import net from 'node:net';
import { createMemoryClusterState, createNmi, type Nmi } from '@pod-identity/nmi';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingTokenSource, seedBoundPod } from './nmi-test-support.js';

const state = createMemoryClusterState();
let nmi: Nmi;
const POD_IP = '127.0.0.1';
const source = countingTokenSource();

beforeAll(async () => {
  seedBoundPod(state, { name: 'app', podIPs: [POD_IP] });
  nmi = await createNmi({
    nodeName: 'n',
    state,
    listenAddress: '127.0.0.1',
    port: 0,
    tokenSourceFor: () => Promise.resolve(source),
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await nmi.close();
});

interface RawAnswer {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes bytes on a fresh connection to an NMI (default the first) and reads one response. */
function raw(bytes: string | Buffer, target?: Nmi): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect((target ?? nmi).address.port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const parse = (): RawAnswer | undefined => {
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? '0');
      const body = data.subarray(end + 4);
      if (body.length < length) return undefined;
      return {
        statusLine,
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: body.subarray(0, length).toString('utf8'),
      };
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const answer = parse();
      if (answer !== undefined) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on('end', () => {
      reject(new Error(`connection closed without a full response: ${data.toString('latin1')}`));
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const TOKEN =
  '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net';

function expectImdsJsonRefusal(answer: RawAnswer, status = 400): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error', 'error_description']);
  expect(body.error).toBe('invalid_request');
  expect(typeof body.error_description).toBe('string');
  expect(answer.body).not.toContain('access_token');
}

describe('malformed requests get IMDS-shaped JSON refusals', () => {
  it.each([
    ['an oversized request target', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    [
      'a 64 KiB header',
      `GET ${TOKEN} HTTP/1.1\r\nHost: x\r\nMetadata: true\r\nX-Big: ${'a'.repeat(65_536)}\r\n\r\n`,
    ],
    [
      'thousands of headers',
      `GET ${TOKEN} HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n${Array.from({ length: 3000 }, (_, i) => `h${String(i)}: v`).join('\r\n')}\r\n\r\n`,
    ],
    [
      'more headers than any client sends',
      `GET ${TOKEN} HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 150 }, () => 'h: v').join('\r\n')}\r\nMetadata: true\r\n\r\n`,
    ],
    ['HTTP/1.1 without Host', `GET ${TOKEN} HTTP/1.1\r\nMetadata: true\r\n\r\n`],
    ['HTTP/1.0 without Host', `GET ${TOKEN} HTTP/1.0\r\nMetadata: true\r\n\r\n`],
    ['HTTP/0.9', 'GET /metadata/instance\r\n\r\n'],
    [
      'a non-breaking space in the path',
      Buffer.concat([
        Buffer.from('GET /metadata/identity/oauth2/token'),
        Buffer.from([0xc2, 0xa0]),
        Buffer.from('?resource=r HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n'),
      ]),
    ],
    [
      'a raw byte 0xA0 in the path',
      Buffer.from('GET /metadata/instance\xa0 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'),
    ],
    ['a tab in the path', 'GET /metadata/\tinstance HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['garbage bytes', Buffer.from([0x00, 0x01, 0x02, 0xff, 0x0d, 0x0a, 0x0d, 0x0a])],
    ['a bare LF request', 'GET / HTTP/1.1\nHost: x\n\n'],
    [
      'an absolute-form target',
      'GET http://169.254.169.254/metadata/instance HTTP/1.1\r\nHost: x\r\n\r\n',
    ],
    ['the asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a NUL escaped in the path', 'GET /metadata/instance%00 HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('refuses %s', async (_what, bytes) => {
    expectImdsJsonRefusal(await raw(bytes));
  });

  it('applies the same rules to HTTP/1.0 as to HTTP/1.1', async () => {
    for (const version of ['HTTP/1.0', 'HTTP/1.1']) {
      const served = await raw(`GET ${TOKEN} ${version}\r\nHost: x\r\nMetadata: true\r\n\r\n`);
      expect(served.status, version).toBe(200);
      expect(JSON.parse(served.body)).toMatchObject({
        access_token: expect.stringMatching(/^token-\d+$/) as unknown,
      });
      const noHeader = await raw(`GET ${TOKEN} ${version}\r\nHost: x\r\n\r\n`);
      expectImdsJsonRefusal(noHeader);
      const lookalike = await raw(
        `GET /metadata./identity/oauth2/token?resource=r ${version}\r\nHost: x\r\nMetadata: true\r\n\r\n`,
      );
      expect(lookalike.status, version).toBe(400);
    }
  });

  it('keeps serving after every kind of malformed request', async () => {
    await raw(Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]));
    await raw(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const served = await raw(`GET ${TOKEN} HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n`);
    expect(served.status).toBe(200);
  });
});

describe('spellings of the identity and instance endpoints never reach IMDS past NMI’s rules', () => {
  // A stand-in for the node's IMDS that counts what reaches it.
  let imds: http.Server;
  let reached: string[];
  let blocking: Nmi;
  let open: Nmi;

  beforeAll(async () => {
    reached = [];
    imds = http.createServer((req, res) => {
      reached.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"compute":{}}');
    });
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve));
    const imdsPort = (imds.address() as net.AddressInfo).port;
    const common = {
      nodeName: 'n',
      state,
      listenAddress: '127.0.0.1',
      port: 0,
      metadataIp: '127.0.0.1',
      metadataPort: imdsPort,
      tokenSourceFor: () => Promise.resolve(source),
      logger: pino({ level: 'silent' }),
    };
    blocking = await createNmi({ ...common, blockInstanceMetadata: true });
    open = await createNmi(common);
  });

  afterAll(async () => {
    await Promise.all([blocking.close(), open.close()]);
    await new Promise((resolve) => imds.close(resolve));
  });

  const identitySpellings = [
    '/metadata./identity/oauth2/token',
    '/metadata;/identity/oauth2/token',
    '/metadata/identity/oauth2/token.',
    '/metadata/identity/oauth2/token;x',
    '/metadata/IDENTITY/oauth2/token',
    '/metadata/identity/oauth2/%74oken',
    '/metadata%2fidentity/oauth2/token',
    '/metadata/identity/oauth2/x/..;/token',
    '/metadata/instance/../identity/oauth2/token',
    '/metadata//identity/oauth2/token',
    '/metadata/identity\\oauth2\\token',
    '/metadata/identity/oauth2/token::$DATA',
    '/metadata/identity/oauth2/tokenX',
  ];
  const instanceSpellings = [
    '/metadata/instance',
    '/METADATA/INSTANCE/compute',
    '/metadata;/instance',
    '/metadata./instance',
    '/metadata/instance.',
    '/metadata/%69nstance',
    '/x/../metadata/instance',
    '/metadata//instance',
    '/metadata/instance;x',
  ];

  it.each(identitySpellings)('refuses %j and sends nothing to IMDS', async (path) => {
    for (const target of [blocking, open]) {
      const before = reached.length;
      const answer = await raw(
        `GET ${path}?api-version=2018-02-01&resource=r&client_id=other HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n`,
        target,
      );
      expect(answer.status).toBe(400);
      expect(answer.body).not.toContain('access_token');
      expect(reached.length).toBe(before);
    }
  });

  it.each(instanceSpellings)(
    'with --block-instance-metadata, refuses %j and sends nothing to IMDS',
    async (path) => {
      const before = reached.length;
      const answer = await raw(
        `GET ${path}?api-version=2021-02-01 HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n`,
        blocking,
      );
      expect([400, 403]).toContain(answer.status);
      expect(reached.length).toBe(before);
    },
  );

  it('passes the canonical instance path through when not blocked (the stand-in sees it)', async () => {
    const before = reached.length;
    const answer = await raw(
      'GET /metadata/instance?api-version=2021-02-01 HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n',
      open,
    );
    expect(answer.status).toBe(200);
    expect(reached.slice(before)).toEqual(['/metadata/instance?api-version=2021-02-01']);
  });
});
