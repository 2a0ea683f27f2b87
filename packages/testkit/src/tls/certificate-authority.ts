import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  boolean,
  explicit,
  implicitPrimitive,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

/**
 * A certificate with its private key, as PEM, plus the thumbprints Entra ID and MSAL use.
 */
export interface IssuedCertificate {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  readonly certificatePem: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly privateKeyPem: string;
  /** Certificate and key concatenated: the form `ClientCertificateCredential` takes as `{ certificate }`. */
  readonly pem: string;
  /** SHA-1 of the DER certificate, lower-case hex: what a JWT `x5t` header encodes (base64url). */
  readonly thumbprintSha1Hex: string;
  /** SHA-256 of the DER certificate, lower-case hex: what a JWT `x5t#S256` header encodes (base64url). */
  readonly thumbprintSha256Hex: string;
}

/** Options of {@link CertificateAuthority.issueServerCertificate}. */
export interface IssueServerCertificateOptions {
  /** Host names and IP addresses the certificate is valid for. Default: `127.0.0.1`, `localhost`, `::1`. */
  readonly hosts?: readonly string[];
}

/**
 * A throw-away certificate authority for the emulators' https endpoints. Clients trust it by passing
 * {@link CertificateAuthority.certificatePem} as `ca` (Azure SDK: `tlsOptions: { ca }`), never through
 * process-wide settings such as `NODE_EXTRA_CA_CERTS` or `NODE_TLS_REJECT_UNAUTHORIZED`.
 */
export interface CertificateAuthority {
  /** The CA certificate, PEM: the only thing a client needs to trust the emulators. */
  readonly certificatePem: string;
  /** Issues a TLS server certificate (ECDSA P-256, `serverAuth`) for the given hosts, signed by this CA. */
  issueServerCertificate(options?: IssueServerCertificateOptions): IssuedCertificate;
}

/** Options of {@link createSelfSignedCertificate}. */
export interface CreateSelfSignedCertificateOptions {
  /** The subject common name, e.g. the service principal's display name. */
  readonly commonName: string;
  /** Validity in days from now. Default 365. */
  readonly validityDays?: number;
}

const DEFAULT_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const;

const OID = {
  commonName: '2.5.4.3',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

interface CertificateSpec {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectKeys: KeyPair;
  readonly signingKey: KeyObject;
  readonly issuerKeyId: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: readonly Buffer[];
}

const name = (commonName: string): Buffer =>
  sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING; any stable value works, this is the usual one. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
}

function signatureAlgorithm(key: KeyObject): Buffer {
  return key.asymmetricKeyType === 'ec'
    ? sequence(oid(OID.ecdsaWithSha256))
    : sequence(oid(OID.sha256WithRsa), nullValue());
}

function subjectAltNames(hosts: readonly string[]): Buffer {
  return sequence(
    ...hosts.map((host) => {
      const family = isIP(host);
      if (family === 0) return implicitPrimitive(2, Buffer.from(host, 'ascii')); // dNSName
      return implicitPrimitive(7, ipBytes(host, family)); // iPAddress
    }),
  );
}

function ipBytes(address: string, family: number): Buffer {
  if (family === 4) return Buffer.from(address.split('.').map(Number));
  // Expand "::" so that the address has eight 16-bit groups.
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [
    ...headGroups,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailGroups,
  ];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2));
  return bytes;
}

function buildCertificate(spec: CertificateSpec): X509Certificate {
  // A positive 16-byte serial: RFC 5280 allows up to 20 octets and requires uniqueness per issuer.
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const algorithm = signatureAlgorithm(spec.signingKey);
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    algorithm,
    name(spec.issuer),
    sequence(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.subjectKeys.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      sequence(
        ...spec.extensions,
        extension(
          OID.subjectKeyIdentifier,
          false,
          octetString(keyIdentifier(spec.subjectKeys.publicKey)),
        ),
        extension(
          OID.authorityKeyIdentifier,
          false,
          sequence(implicitPrimitive(0, spec.issuerKeyId)),
        ),
      ),
    ),
  );
  // node:crypto produces the DER ECDSA-Sig-Value / PKCS#1 v1.5 signature that X.509 expects.
  const signature = sign('sha256', tbs, spec.signingKey);
  return new X509Certificate(sequence(tbs, algorithm, bitString(signature)));
}

function toIssued(certificate: X509Certificate, privateKey: KeyObject): IssuedCertificate {
  const certificatePem = certificate.toString();
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    certificatePem,
    privateKeyPem,
    pem: `${certificatePem.trimEnd()}\n${privateKeyPem}`,
    thumbprintSha1Hex: createHash('sha1').update(certificate.raw).digest('hex'),
    thumbprintSha256Hex: createHash('sha256').update(certificate.raw).digest('hex'),
  };
}

const ecKeys = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/**
 * Creates a new certificate authority in-process with node:crypto (ECDSA P-256 keys take about a
 * millisecond, so no cache is needed; {@link getSharedCertificateAuthority} still shares one per process).
 *
 * Why not `@peculiar/x509`: version 2 needs a global `reflect-metadata` polyfill (through tsyringe),
 * a process-wide side effect a test kit should not impose; X.509 needs only a small DER encoder.
 */
export function createCertificateAuthority(): CertificateAuthority {
  const keys = ecKeys();
  const caName = `pod-identity testkit CA ${randomBytes(4).toString('hex')}`;
  const now = Date.now();
  const notBefore = new Date(now - 5 * 60_000); // tolerate small clock differences between processes
  const caKeyId = keyIdentifier(keys.publicKey);
  const caCertificate = buildCertificate({
    subject: caName,
    issuer: caName,
    subjectKeys: keys,
    signingKey: keys.privateKey,
    issuerKeyId: caKeyId,
    notBefore,
    notAfter: new Date(now + 30 * 86_400_000),
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
      // keyCertSign (bit 5) | cRLSign (bit 6): 0b0000_0110, one unused trailing bit.
      extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)),
    ],
  });
  const certificatePem = caCertificate.toString();
  const issued = new Map<string, IssuedCertificate>();

  return {
    certificatePem,
    issueServerCertificate(options = {}) {
      const hosts = options.hosts ?? DEFAULT_HOSTS;
      if (hosts.length === 0)
        throw new RangeError('issueServerCertificate: at least one host is required');
      for (const host of hosts) {
        if (typeof host !== 'string' || host.length === 0 || /[\s/]/.test(host)) {
          throw new TypeError(`issueServerCertificate: invalid host ${JSON.stringify(host)}`);
        }
      }
      const cacheKey = hosts.join(',');
      const cached = issued.get(cacheKey);
      if (cached) return cached;
      const serverKeys = ecKeys();
      const certificate = buildCertificate({
        subject: hosts[0] ?? 'localhost',
        issuer: caName,
        subjectKeys: serverKeys,
        signingKey: keys.privateKey,
        issuerKeyId: caKeyId,
        notBefore,
        notAfter: new Date(now + 30 * 86_400_000),
        extensions: [
          extension(OID.basicConstraints, true, sequence()),
          // digitalSignature (bit 0): 0b1000_0000, seven unused trailing bits.
          extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)),
          extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
          extension(OID.subjectAltName, false, subjectAltNames(hosts)),
        ],
      });
      const result = toIssued(certificate, serverKeys.privateKey);
      issued.set(cacheKey, result);
      return result;
    },
  };
}

let shared: CertificateAuthority | undefined;

/** One {@link CertificateAuthority} per process, created on first use; sandboxes share it. */
export function getSharedCertificateAuthority(): CertificateAuthority {
  shared ??= createCertificateAuthority();
  return shared;
}

/**
 * Creates a self-signed RSA-2048 certificate, as `az ad sp create-for-rbac --create-cert` does, for
 * registering a service principal with the Entra emulator and for `ClientCertificateCredential`
 * (MSAL signs the client assertion with RS256 or PS256, so the key must be RSA).
 */
export function createSelfSignedCertificate(
  options: CreateSelfSignedCertificateOptions,
): IssuedCertificate {
  const { commonName, validityDays = 365 } = options;
  if (typeof commonName !== 'string' || commonName.length === 0) {
    throw new TypeError('createSelfSignedCertificate: commonName must be a non-empty string');
  }
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw new RangeError(
      `createSelfSignedCertificate: validityDays must be positive, got ${validityDays}`,
    );
  }
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = Date.now();
  const certificate = buildCertificate({
    subject: commonName,
    issuer: commonName,
    subjectKeys: keys,
    signingKey: keys.privateKey,
    issuerKeyId: keyIdentifier(keys.publicKey),
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + validityDays * 86_400_000),
    extensions: [
      // digitalSignature (bit 0) | keyEncipherment (bit 2): 0b1010_0000, five unused trailing bits.
      extension(OID.keyUsage, true, bitString(Buffer.from([0xa0]), 5)),
      extension(OID.extKeyUsage, false, sequence(oid(OID.clientAuth))),
    ],
  });
  return toIssued(certificate, keys.privateKey);
}

/** The public key of a PEM certificate, for verifying signatures made with its private key. */
export function publicKeyOfCertificate(certificatePem: string): KeyObject {
  return createPublicKey(
    new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'pem' }),
  );
}
