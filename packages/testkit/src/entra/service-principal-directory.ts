import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** A service principal to register: exactly one of `clientSecret` or `certificatePem`, or both. */
export interface ServicePrincipalSpec {
  readonly tenantId: string;
  /** Default a random GUID. */
  readonly clientId?: string;
  /** Default a random GUID. */
  readonly objectId?: string;
  readonly clientSecret?: string;
  /** The public certificate (PEM) whose key signs client assertions. A PEM with a private key is accepted too. */
  readonly certificatePem?: string;
}

/** A registered service principal. */
export interface ServicePrincipalInfo {
  readonly tenantId: string;
  readonly clientId: string;
  readonly objectId: string;
}

/** A registered certificate: its public key and the thumbprints client assertions name it by. */
export interface PrincipalCertificate {
  readonly publicKey: KeyObject;
  /** `x5t`: base64url SHA-1 of the DER certificate. */
  readonly sha1: string;
  /** `x5t#S256`: base64url SHA-256 of the DER certificate. */
  readonly sha256: string;
}

/** A service principal with the credentials it signs in with. */
export interface StoredPrincipal extends ServicePrincipalInfo {
  readonly secret: string | undefined;
  readonly certificate: PrincipalCertificate | undefined;
}

/** The Entra emulator's service principals and the tenants they make known. */
export interface ServicePrincipalDirectory {
  register(spec: ServicePrincipalSpec): ServicePrincipalInfo;
  remove(tenantId: string, clientId: string): boolean;
  get(tenantId: string, clientId: string): StoredPrincipal | undefined;
  /** Whether a principal was ever registered in the tenant (a removed one keeps its tenant known). */
  hasTenant(tenantId: string): boolean;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseCertificate(certificatePem: string): PrincipalCertificate {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(certificatePem);
  if (!match) throw new TypeError('certificatePem must contain a PEM certificate');
  const x509 = new X509Certificate(match[0]);
  if (x509.publicKey.asymmetricKeyType !== 'rsa')
    throw new TypeError('the certificate key must be RSA (client assertions are RS256/PS256)');
  return {
    publicKey: x509.publicKey,
    sha1: createHash('sha1').update(x509.raw).digest('base64url'),
    sha256: createHash('sha256').update(x509.raw).digest('base64url'),
  };
}

/** Service principals keyed by tenant and client id, both compared case-insensitively as Entra does. */
export function createServicePrincipalDirectory(): ServicePrincipalDirectory {
  const principals = new Map<string, StoredPrincipal>();
  const tenants = new Set<string>();
  const key = (tenantId: string, clientId: string): string =>
    `${tenantId.toLowerCase()}/${clientId.toLowerCase()}`;
  return {
    register(spec) {
      if (!GUID.test(spec.tenantId))
        throw new TypeError(`tenantId must be a GUID, got ${JSON.stringify(spec.tenantId)}`);
      const clientId = spec.clientId ?? randomUUID();
      if (!GUID.test(clientId))
        throw new TypeError(`clientId must be a GUID, got ${JSON.stringify(clientId)}`);
      if (spec.clientSecret === undefined && spec.certificatePem === undefined) {
        throw new TypeError(
          'registerServicePrincipal: give a clientSecret, a certificatePem, or both',
        );
      }
      if (spec.clientSecret?.length === 0) throw new TypeError('clientSecret must not be empty');
      const stored: StoredPrincipal = {
        tenantId: spec.tenantId,
        clientId,
        objectId: spec.objectId ?? randomUUID(),
        secret: spec.clientSecret,
        certificate:
          spec.certificatePem === undefined ? undefined : parseCertificate(spec.certificatePem),
      };
      tenants.add(spec.tenantId.toLowerCase());
      principals.set(key(spec.tenantId, clientId), stored);
      return { tenantId: stored.tenantId, clientId: stored.clientId, objectId: stored.objectId };
    },
    remove: (tenantId, clientId) => principals.delete(key(tenantId, clientId)),
    get: (tenantId, clientId) => principals.get(key(tenantId, clientId)),
    hasTenant: (tenantId) => tenants.has(tenantId.toLowerCase()),
  };
}
