import { ArmOperation } from './arm-faults.js';
import { ArmHttpError } from './arm-identity.js';
import type { ArmResult } from './arm-http.js';
import { resourceNotFound } from './arm-http.js';
import { MANAGED_IDENTITY, userAssignedIdentityId } from './arm-resource-id.js';
import type { ArmRequestContext, ArmResourceFamily, ArmRoute } from './arm-route.js';
import { matchResourceGroupProvider, methodNotAllowed } from './arm-route.js';
import type {
  StoredFederatedCredential,
  StoredIdentity,
  UserAssignedIdentityStore,
} from './user-assigned-identity-store.js';

/** The documented limit of federated identity credentials on one user-assigned identity. */
export const DEFAULT_FEDERATED_CREDENTIAL_LIMIT = 20;

/** The name pattern of the 2024-11-30 specification's `federatedIdentityCredentialResourceName`. */
const CREDENTIAL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$/;

/** The documented character limit of `issuer`, `subject` and each audience. */
const MAX_FIELD_LENGTH = 600;

const FIC_TYPE = `${MANAGED_IDENTITY}/userAssignedIdentities/federatedIdentityCredentials`;

/** A federated identity credential as `ArmEmulator.listFederatedIdentityCredentials` returns it. */
export interface FederatedIdentityCredentialInfo {
  /** `…/userAssignedIdentities/<identity>/federatedIdentityCredentials/<name>` */
  readonly id: string;
  readonly name: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: readonly string[];
}

/** The public view of a stored credential of an identity. */
export const federatedCredentialInfo = (
  identity: StoredIdentity,
  credential: StoredFederatedCredential,
): FederatedIdentityCredentialInfo => ({
  id: `${identity.id}/federatedIdentityCredentials/${credential.name}`,
  name: credential.name,
  issuer: credential.issuer,
  subject: credential.subject,
  audiences: [...credential.audiences],
});

const credentialJson = (
  identity: StoredIdentity,
  credential: StoredFederatedCredential,
): Record<string, unknown> => ({
  id: `${identity.id}/federatedIdentityCredentials/${credential.name}`,
  name: credential.name,
  type: FIC_TYPE,
  properties: {
    issuer: credential.issuer,
    subject: credential.subject,
    audiences: [...credential.audiences],
  },
});

interface CredentialAddress {
  readonly identityId: string;
  readonly identityName: string;
  readonly resourceGroup: string;
  /** Absent for the list. */
  readonly name: string | undefined;
}

/**
 * `Microsoft.ManagedIdentity/userAssignedIdentities/{name}/federatedIdentityCredentials[/{fic}]`:
 * PUT (create 201, replace 200), GET, list (`$top`, `$skiptoken`, `nextLink`), DELETE (200, or 204
 * when absent). Refuses, as the platform documents: more than `limit` credentials on one identity,
 * a second credential with the same issuer and subject, a name outside the specification's pattern,
 * a body without `issuer`, `subject` and `audiences`.
 */
export function federatedIdentityCredentialRoutes(
  store: UserAssignedIdentityStore,
  limit: number,
): ArmResourceFamily {
  const identityOf = (address: CredentialAddress): StoredIdentity => {
    const identity = store.get(address.identityId);
    if (!identity)
      throw resourceNotFound(
        `${MANAGED_IDENTITY}/userAssignedIdentities/${address.identityName}`,
        address.resourceGroup,
      );
    return identity;
  };

  const get = (address: CredentialAddress, name: string): ArmResult => {
    const identity = identityOf(address);
    const credential = identity.federatedCredentials.get(name.toLowerCase());
    if (!credential)
      throw resourceNotFound(
        `${MANAGED_IDENTITY}/userAssignedIdentities/${address.identityName}/federatedIdentityCredentials/${name}`,
        address.resourceGroup,
      );
    return { status: 200, body: credentialJson(identity, credential) };
  };

  const put = (address: CredentialAddress, name: string, context: ArmRequestContext): ArmResult => {
    if (!CREDENTIAL_NAME.test(name))
      throw new ArmHttpError(
        400,
        'BadRequest',
        `The federated identity credential name '${name}' is invalid. It must start with a letter or digit and have 3 to 120 letters, digits, '-' or '_'.`,
      );
    const identity = identityOf(address);
    const fields = parseCredential(context.body);
    const key = name.toLowerCase();
    const existing = identity.federatedCredentials.get(key);
    const clash = [...identity.federatedCredentials.entries()].find(
      ([other, credential]) =>
        other !== key &&
        credential.issuer === fields.issuer &&
        credential.subject === fields.subject,
    );
    if (clash)
      throw new ArmHttpError(
        400,
        'BadRequest',
        `The federated identity credential '${clash[1].name}' of identity '${identity.name}' already has issuer '${fields.issuer}' and subject '${fields.subject}'; the combination must be unique.`,
      );
    if (existing) {
      Object.assign(existing, fields);
      return { status: 200, body: credentialJson(identity, existing) };
    }
    if (identity.federatedCredentials.size >= limit)
      throw new ArmHttpError(
        400,
        'BadRequest',
        `The identity '${identity.name}' already has ${identity.federatedCredentials.size} federated identity credentials; at most ${limit} are allowed.`,
      );
    const created: StoredFederatedCredential = { name, ...fields };
    identity.federatedCredentials.set(key, created);
    return { status: 201, body: credentialJson(identity, created) };
  };

  const list = (address: CredentialAddress, context: ArmRequestContext): ArmResult => {
    const identity = identityOf(address);
    const all = [...identity.federatedCredentials.values()];
    const query = new URL(context.request.url ?? '/', context.baseUrl).searchParams;
    const top = parsePositive(query.get('$top'), '$top') ?? all.length;
    const skip = parsePositive(query.get('$skiptoken'), '$skiptoken', true) ?? 0;
    const page = all.slice(skip, skip + top);
    const next = skip + page.length;
    const nextLink =
      next < all.length
        ? `${context.baseUrl}${identity.id}/federatedIdentityCredentials?api-version=${encodeURIComponent(context.apiVersion)}&$top=${top}&$skiptoken=${next}`
        : undefined;
    return {
      status: 200,
      body: {
        value: page.map((credential) => credentialJson(identity, credential)),
        ...(nextLink ? { nextLink } : {}),
      },
    };
  };

  const remove = (address: CredentialAddress, name: string): ArmResult => {
    const identity = identityOf(address);
    return { status: identity.federatedCredentials.delete(name.toLowerCase()) ? 200 : 204 };
  };

  const credentialRoute = (address: CredentialAddress, method: string): ArmRoute => {
    const name = address.name;
    const target = address.identityId.toLowerCase();
    if (name === undefined) {
      if (method !== 'GET') return methodNotAllowed(target);
      return {
        operation: ArmOperation.FederatedCredentialList,
        target,
        serve: (context) => list(address, context),
      };
    }
    switch (method) {
      case 'GET':
        return {
          operation: ArmOperation.FederatedCredentialGet,
          target,
          serve: () => get(address, name),
        };
      case 'PUT':
        return {
          operation: ArmOperation.FederatedCredentialCreate,
          target,
          serve: (context) => put(address, name, context),
        };
      case 'DELETE':
        return {
          operation: ArmOperation.FederatedCredentialDelete,
          target,
          serve: () => remove(address, name),
        };
      default:
        return methodNotAllowed(target);
    }
  };

  return {
    route(path, method) {
      const match = matchResourceGroupProvider(path, MANAGED_IDENTITY);
      if (match?.lower[0] !== 'userassignedidentities') return undefined;
      if (match.lower[2] !== 'federatedidentitycredentials' || match.lower.length > 4)
        return undefined;
      const identityName = match.raw[1];
      if (identityName === undefined) return undefined;
      return credentialRoute(
        {
          identityId: userAssignedIdentityId(
            match.subscriptionId,
            match.resourceGroup,
            identityName,
          ),
          identityName,
          resourceGroup: match.resourceGroup,
          name: match.raw[3],
        },
        method,
      );
    },
  };
}

/** The writable fields of a PUT body, refused as the platform refuses an incomplete credential. */
function parseCredential(body: unknown): Omit<StoredFederatedCredential, 'name'> {
  const properties = (body as { properties?: unknown } | null)?.properties;
  const { issuer, subject, audiences } = (
    properties !== null && typeof properties === 'object' ? properties : {}
  ) as Record<string, unknown>;
  if (
    typeof issuer !== 'string' ||
    typeof subject !== 'string' ||
    !Array.isArray(audiences) ||
    issuer === '' ||
    subject === '' ||
    audiences.length === 0 ||
    !audiences.every((audience): audience is string => typeof audience === 'string')
  ) {
    throw new ArmHttpError(
      400,
      'BadRequest',
      "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.",
    );
  }
  if (!isHttpsUrl(issuer) || issuer !== issuer.trim())
    throw new ArmHttpError(
      400,
      'BadRequest',
      `The issuer '${issuer}' is not a valid https URL without surrounding whitespace.`,
    );
  for (const [field, value] of [
    ['issuer', issuer],
    ['subject', subject],
    ...audiences.map((audience) => ['audiences', audience] as const),
  ] as const) {
    if (value.length > MAX_FIELD_LENGTH)
      throw new ArmHttpError(
        400,
        'BadRequest',
        `The ${field} value has ${value.length} characters; at most ${MAX_FIELD_LENGTH} are allowed.`,
      );
  }
  return { issuer, subject, audiences: [...audiences] };
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** A positive integer query parameter (or >= 0 when `zeroAllowed`), absent as `undefined`, else 400. */
function parsePositive(
  value: string | null,
  name: string,
  zeroAllowed = false,
): number | undefined {
  if (value === null) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < (zeroAllowed ? 0 : 1))
    throw new ArmHttpError(
      400,
      'InvalidParameter',
      `The value '${value}' of query parameter '${name}' is invalid.`,
    );
  return parsed;
}
