import type * as AzureIdentityModule from '@azure/identity';
import type { ClientSecretCredentialOptions, TokenCredential } from '@azure/identity';
import type Forge from 'node-forge';
import { readJwtClaims, type AcquiredToken } from '../broker/acquired-token.js';
import { TokenAcquisitionError } from '../broker/token-acquisition-error.js';
import { redactClientId } from '../validation/redact-client-id.js';
import { resourceToScope, type GetTokensOptions, type TokenSource } from './token-source.js';

type IdentityModule = typeof AzureIdentityModule;

let identityModule: Promise<IdentityModule> | undefined;
function loadIdentityModule(): Promise<IdentityModule> {
  identityModule ??= import('@azure/identity');
  return identityModule;
}

/** The authority host of the public cloud, used when an AzureIdentity has no `adEndpoint`. */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com/';

/** What both service-principal sources take. */
export interface ServicePrincipalTokenSourceOptions {
  /** The service principal's tenant. */
  tenantId: string;
  /** Its client (application) ID. */
  clientId: string;
  /** Entra authority host (`AzureIdentity.spec.adEndpoint`). Default {@link DEFAULT_AUTHORITY_HOST}. */
  authorityHost?: string;
  /** Tenants to get one more token each for, after the primary (`spec.auxiliaryTenantIDs`). */
  auxiliaryTenantIds?: readonly string[];
  /**
   * Extra options for the `@azure/identity` credentials (e.g. `tlsOptions` to trust a private CA, or
   * `additionallyAllowedTenants`). `authorityHost` and `disableInstanceDiscovery` are set by the source.
   */
  credentialOptions?: ClientSecretCredentialOptions;
  /** Identifies the credential material (e.g. the secret's namespace/name) in the source key. */
  credentialRef?: string;
}

/** Options of {@link createClientSecretTokenSource}. */
export interface ClientSecretTokenSourceOptions extends ServicePrincipalTokenSourceOptions {
  /** The client secret. */
  clientSecret: string;
}

/** Options of {@link createClientCertificateTokenSource}. */
export interface ClientCertificateTokenSourceOptions extends ServicePrincipalTokenSourceOptions {
  /** PEM text holding the private key and the certificate (see `pkcs12ToPem` for PKCS#12). */
  certificatePem: string;
}

/**
 * A token source for a service principal with a client secret (AzureIdentity type 1), through
 * `@azure/identity`'s `ClientSecretCredential`. With auxiliary tenants it returns the primary tenant's
 * token and then one per auxiliary tenant, as the original's multi-tenant token did.
 *
 * @param options - tenant, client ID, secret, authority
 * @returns the source
 */
export function createClientSecretTokenSource(
  options: ClientSecretTokenSourceOptions,
): TokenSource {
  if (options.clientSecret === '') throw new TypeError('clientSecret must not be empty');
  return createServicePrincipalSource(
    options,
    'secret',
    (identity, tenantId, credentialOptions) =>
      new identity.ClientSecretCredential(
        tenantId,
        options.clientId,
        options.clientSecret,
        credentialOptions,
      ),
  );
}

/**
 * A token source for a service principal with a certificate (AzureIdentity type 2), through
 * `@azure/identity`'s `ClientCertificateCredential` (a signed client assertion with the `x5t` header).
 *
 * @param options - tenant, client ID, PEM key and certificate, authority
 * @returns the source
 */
export function createClientCertificateTokenSource(
  options: ClientCertificateTokenSourceOptions,
): TokenSource {
  if (!options.certificatePem.includes('PRIVATE KEY-----')) {
    throw new TypeError('certificatePem must hold a private key and a certificate');
  }
  return createServicePrincipalSource(
    options,
    'certificate',
    (identity, tenantId, credentialOptions) =>
      new identity.ClientCertificateCredential(
        tenantId,
        options.clientId,
        { certificate: options.certificatePem },
        credentialOptions,
      ),
  );
}

/**
 * The source behind the service-principal factories (and the federated one): a credential per tenant,
 * the pipeline settings a broker wants, and Entra's refusals mapped to `TokenAcquisitionError`.
 * @internal
 */
export function createServicePrincipalSource(
  options: ServicePrincipalTokenSourceOptions,
  kind: 'secret' | 'certificate' | 'federated',
  makeCredential: (
    identity: IdentityModule,
    tenantId: string,
    options: ClientSecretCredentialOptions,
  ) => TokenCredential,
): TokenSource {
  const authorityHost =
    options.authorityHost === undefined || options.authorityHost === ''
      ? DEFAULT_AUTHORITY_HOST
      : options.authorityHost;
  const credentialOptions: ClientSecretCredentialOptions = {
    ...options.credentialOptions,
    // A broker answers a waiting pod: a few quick retries, not the SDK's default of minutes.
    retryOptions: {
      maxRetries: 2,
      retryDelayInMs: 200,
      maxRetryDelayInMs: 2000,
      ...options.credentialOptions?.retryOptions,
    },
    authorityHost,
    // Instance discovery asks the public cloud about the authority; a sovereign or private authority
    // (the original's `adEndpoint`) is used as given.
    disableInstanceDiscovery: true,
  };
  const tenants = [options.tenantId, ...(options.auxiliaryTenantIds ?? [])];
  // `@azure/identity` (with MSAL) costs a node about 25 MB and a second of start-up: it is loaded when
  // a service principal first asks for a token, not when NMI starts.
  let loaded: Promise<{ identity: IdentityModule; credentials: TokenCredential[] }> | undefined;
  const load = () =>
    (loaded ??= loadIdentityModule().then((identity) => ({
      identity,
      credentials: tenants.map((tenant) => makeCredential(identity, tenant, credentialOptions)),
    })));
  const describe = `${kind === 'federated' ? 'federated identity' : 'service principal'} ${redactClientId(options.clientId)}`;

  const getTokens = async (
    resource: string,
    callOptions: GetTokensOptions = {},
  ): Promise<readonly AcquiredToken[]> => {
    const scope = resourceToScope(resource);
    const { identity, credentials } = await load();
    const tokens = await Promise.all(
      credentials.map(async (credential, i) => {
        try {
          const token = await credential.getToken(scope, {
            ...(callOptions.abortSignal === undefined
              ? {}
              : { abortSignal: callOptions.abortSignal }),
          });
          // getToken's type allows null; a credential that returns no token has failed.
          if (token === null)
            throw new TokenAcquisitionError('unavailable', `no token for ${describe}`);
          const claims = readJwtClaims(token.token);
          const acquired: AcquiredToken = {
            accessToken: token.token,
            expiresOnTimestamp: token.expiresOnTimestamp,
            notBeforeTimestamp: typeof claims?.nbf === 'number' ? claims.nbf * 1000 : Date.now(),
            resource,
            tokenType: token.tokenType ?? 'Bearer',
            clientId: options.clientId,
            ...(typeof claims?.oid === 'string' ? { objectId: claims.oid } : {}),
          };
          return acquired;
        } catch (error) {
          throw toAcquisitionError(
            identity,
            error,
            `${describe} in tenant ${i === 0 ? 'primary' : `auxiliary ${String(i)}`}`,
          );
        }
      }),
    );
    return tokens;
  };

  const key = [
    `sp-${kind}`,
    authorityHost.toLowerCase(),
    options.tenantId.toLowerCase(),
    options.clientId.toLowerCase(),
    options.credentialRef ?? '',
    ...(options.auxiliaryTenantIds ?? []).map((t) => t.toLowerCase()),
  ].join('/');
  return { key, getTokens };
}

const REFUSED_OAUTH_CODES: ReadonlySet<string> = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_grant',
  'invalid_request',
  'invalid_resource',
  'invalid_scope',
  'access_denied',
]);

function oauthErrorCode(error: unknown): string | undefined {
  for (
    let e: unknown = error, depth = 0;
    e instanceof Error && depth < 4;
    e = e.cause, depth += 1
  ) {
    const named = (e as { errorCode?: unknown }).errorCode;
    if (typeof named === 'string' && REFUSED_OAUTH_CODES.has(named)) return named;
    const match = /^([a-z_]+):/.exec(e.message);
    if (match?.[1] !== undefined && REFUSED_OAUTH_CODES.has(match[1])) return match[1];
  }
  return undefined;
}

// Entra's `AADSTS<code>: <sentence>` says why (a federated credential's subject, audience or issuer
// that does not match, an expired assertion); it names no secret, so the caller may see it.
function aadstsReason(error: unknown): string {
  for (
    let e: unknown = error, depth = 0;
    e instanceof Error && depth < 4;
    e = e.cause, depth += 1
  ) {
    const match = /AADSTS\d+: [^\r\n]*?(?:\.(?=\s|$)|$)/m.exec(e.message);
    if (match !== null) return ` (${match[0].slice(0, 300)})`;
  }
  return '';
}

function toAcquisitionError(
  identity: IdentityModule,
  error: unknown,
  describe: string,
): TokenAcquisitionError {
  if (TokenAcquisitionError.is(error)) return error;
  if (error instanceof identity.AuthenticationError) {
    const status = error.statusCode;
    const refused = status >= 400 && status < 500 && status !== 408 && status !== 429;
    // errorResponse.error is an OAuth code such as invalid_client: safe to show, no secret in it.
    return new TokenAcquisitionError(
      refused ? 'refused' : 'unavailable',
      `Entra ${refused ? 'refused' : 'could not issue'} a token for ${describe}: ${String(status)} ${error.errorResponse.error}${aadstsReason(error)}`,
      { status, cause: error },
    );
  }
  // MSAL errors surface through @azure/identity as other error classes whose message (or cause)
  // starts with the OAuth error code; these codes mean Entra answered and refused the credential.
  const code = oauthErrorCode(error);
  if (code !== undefined && REFUSED_OAUTH_CODES.has(code)) {
    return new TokenAcquisitionError(
      'refused',
      `Entra refused a token for ${describe}: ${code}${aadstsReason(error)}`,
      { cause: error },
    );
  }
  return new TokenAcquisitionError('unavailable', `token request for ${describe} failed`, {
    cause: error,
  });
}

// PKCS#12 bag types (RFC 7292 §4.2).
const KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const CERT_BAG = '1.2.840.113549.1.12.10.1.3';

function bags(p12: Forge.pkcs12.Pkcs12Pfx, bagType: string): Forge.pkcs12.Bag[] {
  return p12.getBags({ bagType })[bagType] ?? [];
}

/**
 * Converts a PKCS#12 (PFX) archive, as the original read from the secret key `certificate`, into the
 * PEM (private key, then certificates) that `@azure/identity` takes. Uses `node-forge` (an optional peer
 * dependency), loaded only when a certificate identity is used.
 *
 * @param pfx - the archive bytes
 * @param password - its password (`''` when none)
 * @returns PEM text
 * @throws TokenAcquisitionError (`unavailable`) when the archive cannot be read
 */
export async function pkcs12ToPem(pfx: Uint8Array, password: string): Promise<string> {
  let forge: typeof Forge;
  try {
    forge = (await import('node-forge')).default;
  } catch (error) {
    throw new TokenAcquisitionError(
      'unavailable',
      'reading a PKCS#12 certificate needs the node-forge package',
      { cause: error },
    );
  }
  try {
    const der = forge.util.createBuffer(Buffer.from(pfx).toString('binary'));
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), password);
    const keys = [...bags(p12, SHROUDED_KEY_BAG), ...bags(p12, KEY_BAG)];
    const certs = bags(p12, CERT_BAG);
    const key = keys.find((bag) => bag.key !== undefined)?.key;
    if (key === undefined || certs.length === 0)
      throw new Error('archive lacks a private key or a certificate');
    const pem = [forge.pki.privateKeyToPem(key)];
    for (const bag of certs)
      if (bag.cert !== undefined) pem.push(forge.pki.certificateToPem(bag.cert));
    return pem.join('');
  } catch (error) {
    throw new TokenAcquisitionError('unavailable', 'the PKCS#12 certificate could not be read', {
      cause: error,
    });
  }
}
