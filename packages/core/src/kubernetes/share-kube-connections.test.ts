import { generateKeyPairSync } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import forge from 'node-forge';
import { afterEach, describe, expect, it } from 'vitest';
import { shareKubeConnections } from './share-kube-connections.js';

function selfSigned(commonName: string, ip?: string): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    ...(ip === undefined ? [] : [{ name: 'subjectAltName', altNames: [{ type: 7, ip }] }]),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

interface FakeApiServer {
  url: string;
  /** TCP (or TLS) connections accepted so far. */
  connections: number;
  /** What each request presented: bearer token and client certificate common name. */
  seen: { authorization: string; clientCn: string }[];
  close(): Promise<void>;
}

async function startFakeApiServer(tls?: {
  certPem: string;
  keyPem: string;
  clientCaPem: string;
}): Promise<FakeApiServer> {
  const state: FakeApiServer = {
    url: '',
    connections: 0,
    seen: [],
    close: () => Promise.resolve(),
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket as Partial<Pick<TLSSocket, 'getPeerCertificate'>>;
    const cn: unknown = socket.getPeerCertificate?.().subject.CN;
    state.seen.push({
      authorization: req.headers.authorization ?? '',
      clientCn: typeof cn === 'string' ? cn : '',
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
  };
  const server =
    tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer(
          {
            cert: tls.certPem,
            key: tls.keyPem,
            ca: tls.clientCaPem,
            requestCert: true,
            rejectUnauthorized: true,
          },
          handler,
        );
  // As the testkit emulator: a short advertised keep-alive timeout.
  server.keepAliveTimeout = 1_000;
  server.on(tls === undefined ? 'connection' : 'secureConnection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  return state;
}

function kubeConfigFor(
  server: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server, ...cluster }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kubeConfig;
}

const servers: FakeApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A fake API server that requires a client certificate, and a kubeconfig with that certificate and the server's CA. */
async function mutualTlsServer(): Promise<{ server: FakeApiServer; kubeConfig: KubeConfig }> {
  const serverCert = selfSigned('api', '127.0.0.1');
  const clientCert = selfSigned('mic-client');
  const server = await startFakeApiServer({ ...serverCert, clientCaPem: clientCert.certPem });
  servers.push(server);
  const kubeConfig = kubeConfigFor(
    server.url,
    { caData: Buffer.from(serverCert.certPem).toString('base64') },
    {
      certData: Buffer.from(clientCert.certPem).toString('base64'),
      keyData: Buffer.from(clientCert.keyPem).toString('base64'),
    },
  );
  return { server, kubeConfig };
}

async function listSequentially(kubeConfig: KubeConfig, times: number): Promise<void> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  for (let i = 0; i < times; i += 1) await api.listNamespace();
}

// Each test generates RSA keys and opens TLS connections: seconds of CPU on a loaded 2-core machine.
describe('shareKubeConnections', { timeout: 30_000 }, () => {
  it('reuses pooled TLS connections across requests and API clients, presenting the client certificate and CA trust every time', async () => {
    const { server, kubeConfig } = await mutualTlsServer();
    expect(shareKubeConnections(kubeConfig)).toBe(kubeConfig);
    await listSequentially(kubeConfig, 5);
    // A second client from the same KubeConfig (as MIC's informers, record client and ledger).
    await listSequentially(kubeConfig, 5);
    expect(server.seen).toHaveLength(10);
    expect(server.seen.every((s) => s.clientCn === 'mic-client')).toBe(true);
    // undici's pool may open a second socket when the next request starts before the previous
    // response has released the first; never one per request.
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('without it client-node opens a connection per request (what this fixes)', async () => {
    const { server, kubeConfig } = await mutualTlsServer();
    await listSequentially(kubeConfig, 3);
    expect(server.connections).toBe(3);
  });

  it('keeps sending the bearer token on a shared plain-http connection (insecure-skip-tls-verify)', async () => {
    const server = await startFakeApiServer();
    servers.push(server);
    const kubeConfig = shareKubeConnections(
      shareKubeConnections(kubeConfigFor(server.url, { skipTLSVerify: true }, { token: 'tok-1' })),
    );
    await listSequentially(kubeConfig, 8);
    expect(server.seen.map((s) => s.authorization)).toEqual(Array(8).fill('Bearer tok-1'));
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('opens a new pool when the credentials change, and the old TLS material is no longer used', async () => {
    const serverCert = selfSigned('api', '127.0.0.1');
    const first = selfSigned('client-1');
    const second = selfSigned('client-2');
    const server = await startFakeApiServer({
      ...serverCert,
      clientCaPem: `${first.certPem}${second.certPem}`,
    });
    servers.push(server);
    const kubeConfig = shareKubeConnections(
      kubeConfigFor(
        server.url,
        { caData: Buffer.from(serverCert.certPem).toString('base64') },
        {
          certData: Buffer.from(first.certPem).toString('base64'),
          keyData: Buffer.from(first.keyPem).toString('base64'),
        },
      ),
    );
    await listSequentially(kubeConfig, 4);
    // Rotated client certificate, as an exec or file-based credential would deliver.
    const user = kubeConfig.getCurrentUser() as { certData?: string; keyData?: string };
    user.certData = Buffer.from(second.certPem).toString('base64');
    user.keyData = Buffer.from(second.keyPem).toString('base64');
    await listSequentially(kubeConfig, 4);
    expect(server.seen.map((s) => s.clientCn)).toEqual([
      ...Array<string>(4).fill('client-1'),
      ...Array<string>(4).fill('client-2'),
    ]);
    expect(server.connections).toBeLessThanOrEqual(4);
  });
});

// shareKubeConnections replaces a private method of client-node's KubeConfig. These fail when an
// upgrade of client-node changes what it relies on, before a release ships with connections that
// are silently no longer shared.
describe('shareKubeConnections and the client-node it patches', () => {
  const requireHere = createRequire(import.meta.url);
  const clientNodeDir = dirname(dirname(requireHere.resolve('@kubernetes/client-node')));

  it('runs on the client-node line it is pinned to', () => {
    const installed = (
      JSON.parse(readFileSync(join(clientNodeDir, 'package.json'), 'utf8')) as { version: string }
    ).version;
    const ours = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'),
    ) as { peerDependencies: Record<string, string> };
    expect(ours.peerDependencies['@kubernetes/client-node']).toBe('~2.0.1');
    expect(installed).toMatch(/^2\.0\.\d+$/);
  });

  it('finds the hook where it replaces it: every request builds its dispatcher through createDispatcher', () => {
    const source = readFileSync(join(clientNodeDir, 'dist', 'config.js'), 'utf8');
    expect(source).toContain('const dispatcher = this.createDispatcher(cluster, agentOptions);');
    expect(source).toMatch(
      /createDispatcher\(cluster, agentOptions\) \{\s*const opts = this\.createDispatcherOptions\(cluster, agentOptions\);/,
    );
    for (const type of ['proxy', 'socks', 'agent', 'none'])
      expect(source).toContain(`case '${type}':`);
    const kubeConfig = new KubeConfig();
    expect(typeof (kubeConfig as unknown as { createDispatcher: unknown }).createDispatcher).toBe(
      'function',
    );
  });

  it('leaves a KubeConfig without the hook unpatched and says why', () => {
    const kubeConfig = new KubeConfig();
    Object.defineProperty(kubeConfig, 'createDispatcher', { value: undefined });
    const reasons: string[] = [];
    expect(shareKubeConnections(kubeConfig, (reason) => reasons.push(reason))).toBe(kubeConfig);
    expect(reasons).toEqual([expect.stringMatching(/not shared/)]);
  });
});
