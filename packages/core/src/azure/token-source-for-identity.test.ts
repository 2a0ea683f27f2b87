import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import type { AzureIdentity } from '../crd/types.js';
import { TokenAcquisitionError } from '../broker/token-acquisition-error.js';
import {
  createTokenSourceForIdentity,
  identityTokenKey,
  type SecretReader,
} from './token-source-for-identity.js';
import { pkcs12ToPem } from './token-source-service-principal.js';

const sp = (
  name: string,
  secret: string,
  extra: Partial<AzureIdentity['spec']> = {},
): AzureIdentity => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { namespace: 'ns', name, uid: `uid-${name}` },
  spec: {
    type: 1,
    clientID: 'C1',
    tenantID: 'T1',
    clientPassword: { name: secret, namespace: 'ns' },
    ...extra,
  },
});
const uami = (name: string, clientID: string): AzureIdentity => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { namespace: 'ns', name },
  spec: {
    type: 0,
    clientID,
    resourceID:
      '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x',
  },
});
const secrets =
  (data: Record<string, string>): SecretReader =>
  () =>
    Promise.resolve(
      Object.fromEntries(Object.entries(data).map(([k, v]) => [k, new TextEncoder().encode(v)])),
    );

describe('identityTokenKey', () => {
  it('shares user-assigned tokens by client ID (IMDS would serve the same), case-insensitively', () => {
    expect(identityTokenKey(uami('a', 'ABC'))).toBe(identityTokenKey(uami('b', 'abc')));
  });

  it('never lets a service principal copy with another secret share the original’s tokens', () => {
    expect(identityTokenKey(sp('real', 's1'))).not.toBe(identityTokenKey(sp('copy', 's2')));
    expect(identityTokenKey(sp('real', 's1'))).not.toBe(identityTokenKey(sp('real', 's2')));
    expect(identityTokenKey(sp('real', 's1'))).not.toBe(
      identityTokenKey(sp('real', 's1', { auxiliaryTenantIDs: ['t2'] })),
    );
    expect(identityTokenKey(sp('real', 's1'))).not.toBe(
      identityTokenKey(sp('real', 's1', { adEndpoint: 'https://login.example/' })),
    );
  });
});

describe('createTokenSourceForIdentity', () => {
  it('keys the source like identityTokenKey', async () => {
    const identity = sp('a', 's');
    const source = await createTokenSourceForIdentity(identity, {
      readSecret: secrets({ clientSecret: 'x' }),
    });
    expect(source.key).toBe(identityTokenKey(identity));
  });

  it('takes the clientSecret key, or the only key, and refuses an ambiguous secret', async () => {
    await expect(
      createTokenSourceForIdentity(sp('a', 's'), { readSecret: secrets({ other: 'x' }) }),
    ).resolves.toBeDefined();
    const error = await createTokenSourceForIdentity(sp('a', 's'), {
      readSecret: secrets({ a: 'x', b: 'y' }),
    }).catch((e: unknown) => e);
    expect(TokenAcquisitionError.is(error) && error.failure).toBe('refused');
  });

  it('refuses identities missing what their type needs, without calling anything', async () => {
    for (const identity of [uami('a', ''), sp('b', 's', { tenantID: '' }), sp('c', '', {})]) {
      await expect(
        createTokenSourceForIdentity(identity, { readSecret: secrets({ clientSecret: 'x' }) }),
      ).rejects.toBeInstanceOf(TokenAcquisitionError);
    }
    await expect(createTokenSourceForIdentity(sp('d', 's'))).rejects.toBeInstanceOf(
      TokenAcquisitionError,
    );
    const unreadable: SecretReader = () => Promise.reject(new Error('forbidden'));
    const error = await createTokenSourceForIdentity(sp('e', 's'), {
      readSecret: unreadable,
    }).catch((e: unknown) => e);
    expect(TokenAcquisitionError.is(error) && error.failure).toBe('unavailable');
  });
});

describe('pkcs12ToPem', () => {
  it('turns a password-protected PKCS#12 archive into the PEM key and certificate', async () => {
    const keys = forge.pki.rsa.generateKeyPair(1024);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject([{ name: 'commonName', value: 'sp' }]);
    cert.setIssuer([{ name: 'commonName', value: 'sp' }]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    const asn1 = forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], 'pw', { algorithm: '3des' });
    const pfx = Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
    const pem = await pkcs12ToPem(pfx, 'pw');
    expect(pem).toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect(pem).toContain(forge.pki.certificateToPem(cert).trim());
    await expect(pkcs12ToPem(pfx, 'wrong')).rejects.toBeInstanceOf(TokenAcquisitionError);
    await expect(pkcs12ToPem(new Uint8Array([1, 2, 3]), '')).rejects.toBeInstanceOf(
      TokenAcquisitionError,
    );
  });
});
