import type { AzureIdentity, SecretReference } from '../crd/types.js';
import { IdentityType } from '../crd/constants.js';
import { TokenAcquisitionError } from '../broker/token-acquisition-error.js';
import type { ClientSecretCredentialOptions } from '@azure/identity';
import type { TokenSource } from './token-source.js';
import { createImdsTokenSource, type ImdsTokenSourceOptions } from './token-source-imds.js';
import {
  DEFAULT_AUTHORITY_HOST,
  createClientCertificateTokenSource,
  createClientSecretTokenSource,
  pkcs12ToPem,
} from './token-source-service-principal.js';

/** Reads a Kubernetes Secret's `data` (values decoded from base64). */
export type SecretReader = (
  reference: { namespace: string; name: string },
  abortSignal?: AbortSignal,
) => Promise<Readonly<Record<string, Uint8Array>>>;

/** Options of {@link createTokenSourceForIdentity}. */
export interface TokenSourceForIdentityOptions {
  /** Settings of the node IMDS source for user-assigned identities (all but `selector`). */
  imds?: Omit<ImdsTokenSourceOptions, 'selector'>;
  /** Reads the secret a service principal's `clientPassword` names. Required for types 1 and 2. */
  readSecret?: SecretReader;
  /** Extra `@azure/identity` options for service principals (e.g. `tlsOptions`). */
  credentialOptions?: ClientSecretCredentialOptions;
  /** Aborts reading the secret. */
  abortSignal?: AbortSignal;
}

/**
 * The key of an identity's tokens, computable without reading any secret (so a cache hit never
 * touches the API server). A user-assigned identity's tokens come from the node's IMDS by client ID,
 * so identities sharing a client ID share tokens, as IMDS itself would. A service principal's key
 * names the AzureIdentity and its secret, so an identity that merely copies another's client ID with
 * a different secret never receives the other's cached tokens.
 *
 * @param identity - the AzureIdentity
 * @returns the identity part of a `TokenCache` key
 */
export function identityTokenKey(identity: AzureIdentity): string {
  const spec = identity.spec;
  if (spec.type === IdentityType.UserAssignedMSI) {
    return `imds/client_id=${(spec.clientID ?? '').toLowerCase()}`;
  }
  const authority = (
    spec.adEndpoint === undefined || spec.adEndpoint === ''
      ? DEFAULT_AUTHORITY_HOST
      : spec.adEndpoint
  ).toLowerCase();
  const secret = secretRef(identity);
  return [
    `sp-${spec.type === IdentityType.ServicePrincipal ? 'secret' : 'certificate'}`,
    authority,
    (spec.tenantID ?? '').toLowerCase(),
    (spec.clientID ?? '').toLowerCase(),
    `${identity.metadata.namespace ?? ''}/${identity.metadata.name}/${identity.metadata.uid ?? ''}@${secret.namespace}/${secret.name}`,
    ...(spec.type === IdentityType.ServicePrincipal
      ? (spec.auxiliaryTenantIDs ?? []).map((t) => t.toLowerCase())
      : []),
  ].join('/');
}

/**
 * Builds the token source for an AzureIdentity, by type: 0 the node's IMDS with the identity's
 * `clientID` (not the one the pod sent, as in the original); 1 `ClientSecretCredential` with the
 * secret's `clientSecret` key (or its only key); 2 `ClientCertificateCredential` from the secret's
 * `certificate` (PKCS#12, or PEM) and `password` keys. The source's `key` equals {@link identityTokenKey}.
 *
 * @param identity - the AzureIdentity
 * @param options - IMDS settings, secret reader, credential options
 * @returns the source
 * @throws TokenAcquisitionError when the identity or its secret is unusable
 */
export async function createTokenSourceForIdentity(
  identity: AzureIdentity,
  options: TokenSourceForIdentityOptions = {},
): Promise<TokenSource> {
  const spec = identity.spec;
  const key = identityTokenKey(identity);
  const clientId = spec.clientID ?? '';
  if (clientId === '')
    throw new TokenAcquisitionError('refused', `AzureIdentity ${name(identity)} has no clientID`);
  if (spec.type === IdentityType.UserAssignedMSI) {
    const source = createImdsTokenSource({
      ...options.imds,
      selector: { kind: 'clientId', clientId },
    });
    return { key, getTokens: source.getTokens };
  }
  const tenantId = spec.tenantID ?? '';
  if (tenantId === '')
    throw new TokenAcquisitionError('refused', `AzureIdentity ${name(identity)} has no tenantID`);
  const readSecret = options.readSecret;
  if (readSecret === undefined) {
    throw new TokenAcquisitionError(
      'unavailable',
      'no secret reader configured for service principal identities',
    );
  }
  const ref = secretRef(identity);
  if (ref.name === '')
    throw new TokenAcquisitionError(
      'refused',
      `AzureIdentity ${name(identity)} has no clientPassword`,
    );
  let data: Readonly<Record<string, Uint8Array>>;
  try {
    data = await readSecret(ref, options.abortSignal);
  } catch (error) {
    throw new TokenAcquisitionError(
      'unavailable',
      `secret ${ref.namespace}/${ref.name} could not be read`,
      { cause: error },
    );
  }
  const common = {
    tenantId,
    clientId,
    ...(spec.adEndpoint === undefined || spec.adEndpoint === ''
      ? {}
      : { authorityHost: spec.adEndpoint }),
    ...(options.credentialOptions === undefined
      ? {}
      : { credentialOptions: options.credentialOptions }),
  };
  if (spec.type === IdentityType.ServicePrincipal) {
    const secret = pickClientSecret(data, ref);
    const source = createClientSecretTokenSource({
      ...common,
      clientSecret: secret,
      auxiliaryTenantIds: spec.auxiliaryTenantIDs ?? [],
    });
    return { key, getTokens: source.getTokens };
  }
  const certificate = data.certificate;
  if (certificate === undefined || certificate.length === 0) {
    throw new TokenAcquisitionError(
      'refused',
      `secret ${ref.namespace}/${ref.name} has no certificate key`,
    );
  }
  const password = new TextDecoder().decode(data.password ?? new Uint8Array());
  const text = new TextDecoder().decode(certificate);
  const pem = text.includes('-----BEGIN') ? text : await pkcs12ToPem(certificate, password);
  const source = createClientCertificateTokenSource({ ...common, certificatePem: pem });
  return { key, getTokens: source.getTokens };
}

function secretRef(identity: AzureIdentity): { namespace: string; name: string } {
  const ref: SecretReference = identity.spec.clientPassword ?? {};
  return {
    namespace: ref.namespace ?? identity.metadata.namespace ?? 'default',
    name: ref.name ?? '',
  };
}

// The original took the first value of the secret's map, which Go's map order made arbitrary when
// there were several keys; this takes `clientSecret` (the documented key) or the only key.
function pickClientSecret(
  data: Readonly<Record<string, Uint8Array>>,
  ref: { namespace: string; name: string },
): string {
  const chosen =
    data.clientSecret ?? (Object.keys(data).length === 1 ? Object.values(data)[0] : undefined);
  if (chosen === undefined || chosen.length === 0) {
    throw new TokenAcquisitionError(
      'refused',
      `secret ${ref.namespace}/${ref.name} has no clientSecret key (and not exactly one key)`,
    );
  }
  return new TextDecoder().decode(chosen).trim();
}

function name(identity: AzureIdentity): string {
  return `${identity.metadata.namespace ?? ''}/${identity.metadata.name}`;
}
