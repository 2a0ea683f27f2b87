import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  createSelfSignedCertificate,
} from './certificate-authority.js';
import { startLoopbackServer } from './start-loopback-server.js';

const get = (url: string, ca: string): Promise<{ status: number | undefined; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', reject);
    req.end();
  });

describe('createCertificateAuthority', () => {
  it('issues a server certificate for the loopback names, signed by a CA certificate', () => {
    const ca = createCertificateAuthority();
    const server = new X509Certificate(ca.issueServerCertificate().certificatePem);
    const root = new X509Certificate(ca.certificatePem);
    expect(root.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(root.publicKey)).toBe(true);
    expect(server.checkIssued(root)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBe('::1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('10.0.0.1')).toBeUndefined();
  });

  it('is trusted through `ca` alone by a TLS client over IPv4 and IPv6, and refused without it', async () => {
    const ca = createCertificateAuthority();
    const certificate = ca.issueServerCertificate();
    for (const host of ['127.0.0.1', '::1']) {
      const server = await startLoopbackServer({
        host,
        certificate,
        handler: (_request, response) => {
          response.end('ok');
        },
      });
      try {
        await expect(get(server.url, ca.certificatePem)).resolves.toEqual({
          status: 200,
          body: 'ok',
        });
        const stranger = createCertificateAuthority();
        await expect(get(server.url, stranger.certificatePem)).rejects.toThrow(
          /self[- ]signed|unable to verify|unable to get/i,
        );
      } finally {
        await server.close();
      }
    }
  });

  it('refuses hosts that cannot be names', () => {
    const ca = createCertificateAuthority();
    expect(() => ca.issueServerCertificate({ hosts: [] })).toThrow(RangeError);
    expect(() => ca.issueServerCertificate({ hosts: ['a b'] })).toThrow(TypeError);
  });
});

describe('createSelfSignedCertificate', () => {
  it('creates an RSA certificate whose thumbprints are those of its DER encoding', () => {
    const issued = createSelfSignedCertificate({ commonName: 'sp' });
    const certificate = new X509Certificate(issued.certificatePem);
    expect(certificate.publicKey.asymmetricKeyType).toBe('rsa');
    expect(certificate.subject).toBe('CN=sp');
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.fingerprint.replace(/:/g, '').toLowerCase()).toBe(issued.thumbprintSha1Hex);
    expect(certificate.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(
      issued.thumbprintSha256Hex,
    );
    expect(issued.pem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(() => createSelfSignedCertificate({ commonName: '' })).toThrow(TypeError);
  });
});
