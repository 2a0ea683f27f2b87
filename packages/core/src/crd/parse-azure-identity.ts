import { ValidationError } from '../errors/validation-error.js';
import { isAzureClientId } from '../validation/is-azure-client-id.js';
import { isRfc1123Label, isRfc1123Subdomain } from '../validation/is-rfc1123-subdomain.js';
import { parseUserAssignedIdentityId } from '../validation/parse-user-assigned-identity-id.js';
import { CrdKinds, GROUP_VERSION, IdentityType } from './constants.js';
import { checkTypeMeta, parseObjectMeta } from './parse-object-meta.js';
import { toParseResult, type ParseResult } from './parse-result.js';
import type {
  AzureIdentity,
  AzureIdentitySpec,
  AzureIdentityStatus,
  SecretReference,
} from './types.js';
import {
  childPath,
  describeType,
  expectObject,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringArray,
  own,
  prunedLegacyHint,
  rejectUnknownKeys,
  requiredObject,
  withoutUndefined,
  type WireObject,
} from './wire-reader.js';

const ROOT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
// `metadata` inside spec and status is the original's unused embedded ObjectMeta (always
// `{"creationTimestamp":null}` from Go, pruned to `{}` by the API server); it is accepted and dropped.
const SPEC_FIELDS = [
  'type',
  'resourceID',
  'clientID',
  'clientPassword',
  'tenantID',
  'auxiliaryTenantIDs',
  'adResourceID',
  'adEndpoint',
  'replicas',
  'metadata',
];
const SPEC_LEGACY = {
  ClientID: 'clientID',
  ClientPassword: 'clientPassword',
  ResourceID: 'resourceID',
  TenantID: 'tenantID',
};
const SECRET_REF_FIELDS = ['name', 'namespace'];
const SECRET_REF_LEGACY = { Name: 'name', Namespace: 'namespace' };
const STATUS_FIELDS = ['availableReplicas', 'metadata'];

const TYPE_NAMES: Record<IdentityType, string> = {
  0: 'UserAssignedMSI',
  1: 'ServicePrincipal',
  2: 'ServicePrincipalCertificate',
};

// A tenant is named by its GUID or by one of its verified domains (contoso.onmicrosoft.com); either
// is put into the authority URL, so nothing else may get through.
const TENANT_DOMAIN =
  /^[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?)+$/;

function checkTenant(tenant: string, path: string): void {
  if (!isAzureClientId(tenant) && !TENANT_DOMAIN.test(tenant)) {
    throw new ValidationError(
      path,
      `${JSON.stringify(tenant)} is not a tenant ID (a GUID) or a tenant domain name`,
    );
  }
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

// The client secret or certificate is sent to this authority, so it must be an https URL; plain
// http is allowed only to a loopback address (a local emulator), never across a network.
function checkAuthority(endpoint: string, path: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ValidationError(path, `${JSON.stringify(endpoint)} is not an absolute URL`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  throw new ValidationError(
    path,
    `${JSON.stringify(endpoint)} must be an https URL (http is allowed only to a loopback address)`,
  );
}

function readIdentityType(spec: WireObject, path: string): IdentityType {
  const value = own(spec, 'type');
  // The original's Go decoding leaves a missing type at its zero value, UserAssignedMSI; existing
  // objects written without it keep working.
  if (value === undefined || value === null) return IdentityType.UserAssignedMSI;
  if (value === 0 || value === 1 || value === 2) return value;
  throw new ValidationError(
    childPath(path, 'type'),
    `must be 0 (UserAssignedMSI), 1 (ServicePrincipal) or 2 (ServicePrincipalCertificate), got ${
      typeof value === 'number' ? String(value) : describeType(value)
    }`,
  );
}

function readSecretReference(
  spec: WireObject,
  path: string,
  strict: boolean,
): SecretReference | undefined {
  const ref = optionalObject(spec, 'clientPassword', path);
  if (ref === undefined) return undefined;
  const at = childPath(path, 'clientPassword');
  rejectUnknownKeys(ref, at, SECRET_REF_FIELDS, SECRET_REF_LEGACY);
  const name = optionalString(ref, 'name', at);
  const namespace = optionalString(ref, 'namespace', at);
  if (strict && name !== undefined && name !== '' && !isRfc1123Subdomain(name)) {
    throw new ValidationError(
      childPath(at, 'name'),
      `${JSON.stringify(name)} is not a Secret name (an RFC 1123 subdomain)`,
    );
  }
  if (strict && namespace !== undefined && namespace !== '' && !isRfc1123Label(namespace)) {
    throw new ValidationError(
      childPath(at, 'namespace'),
      `${JSON.stringify(namespace)} is not a namespace name (an RFC 1123 label)`,
    );
  }
  return withoutUndefined<SecretReference>({ name, namespace });
}

function readSpec(object: WireObject, path: string, strict: boolean): AzureIdentitySpec {
  const spec = requiredObject(object, 'spec', path);
  const at = childPath(path, 'spec');
  rejectUnknownKeys(spec, at, SPEC_FIELDS, SPEC_LEGACY);
  optionalObject(spec, 'metadata', at);
  const type = readIdentityType(spec, at);
  const typeName = `type ${type} (${TYPE_NAMES[type]})`;
  const required = (key: string, value: string | undefined): string => {
    if (value === undefined || value === '') {
      throw new ValidationError(childPath(at, key), `is required for ${typeName}`);
    }
    return value;
  };

  const resourceID = optionalString(spec, 'resourceID', at);
  const clientID = optionalString(spec, 'clientID', at);
  const tenantID = optionalString(spec, 'tenantID', at);
  const clientPassword = readSecretReference(spec, at, strict);
  const auxiliaryTenantIDs = optionalStringArray(
    spec,
    'auxiliaryTenantIDs',
    at,
    strict ? checkTenant : undefined,
  );
  const adEndpoint = optionalString(spec, 'adEndpoint', at);
  const checked = withoutUndefined<AzureIdentitySpec>({
    type,
    resourceID,
    clientID,
    clientPassword,
    tenantID,
    auxiliaryTenantIDs,
    adResourceID: optionalString(spec, 'adResourceID', at),
    adEndpoint,
    replicas: own(spec, 'replicas') === null ? null : optionalInteger(spec, 'replicas', at),
  });
  if (!strict) return checked;

  if (clientID === undefined && resourceID === undefined && tenantID === undefined) {
    throw new ValidationError(
      childPath(at, 'clientID'),
      `is required for ${typeName}${prunedLegacyHint('ClientID, ResourceID and TenantID')}`,
    );
  }
  // Every type authenticates as a client ID; an empty one would make IMDS answer with the node's
  // own identity, so it is refused rather than defaulted.
  if (!isAzureClientId(required('clientID', clientID))) {
    throw new ValidationError(
      childPath(at, 'clientID'),
      `${JSON.stringify(clientID)} is not a client ID (a GUID such as 00000000-0000-0000-0000-000000000000)`,
    );
  }
  if (type === IdentityType.UserAssignedMSI) {
    parseUserAssignedIdentityId(required('resourceID', resourceID), childPath(at, 'resourceID'));
  } else {
    checkTenant(required('tenantID', tenantID), childPath(at, 'tenantID'));
    const passwordPath = childPath(at, 'clientPassword');
    if (clientPassword === undefined) {
      throw new ValidationError(
        passwordPath,
        `is required for ${typeName}: the Secret holding the credential`,
      );
    }
    if (clientPassword.name === undefined || clientPassword.name === '') {
      throw new ValidationError(childPath(passwordPath, 'name'), `is required for ${typeName}`);
    }
    if (clientPassword.namespace === undefined || clientPassword.namespace === '') {
      throw new ValidationError(
        childPath(passwordPath, 'namespace'),
        `is required for ${typeName}`,
      );
    }
    if (adEndpoint !== undefined && adEndpoint !== '') {
      checkAuthority(adEndpoint, childPath(at, 'adEndpoint'));
    }
  }

  return checked;
}

function readStatus(object: WireObject, path: string): AzureIdentityStatus | undefined {
  const status = optionalObject(object, 'status', path);
  if (status === undefined) return undefined;
  const at = childPath(path, 'status');
  rejectUnknownKeys(status, at, STATUS_FIELDS);
  optionalObject(status, 'metadata', at);
  return withoutUndefined<AzureIdentityStatus>({
    availableReplicas: optionalInteger(status, 'availableReplicas', at),
  });
}

/**
 * Reads an AzureIdentity at `path` (`''` for a top-level object, `spec.azureIdentityRef` inside an
 * assigned identity). An `embedded` ref may lack `apiVersion` and `kind`, and only its wire types
 * are checked: it is a snapshot the original may have written under looser rules, and an assigned
 * identity must stay readable so that it can be cleaned up.
 *
 * @internal
 */
export function readAzureIdentity(value: unknown, path: string, embedded: boolean): AzureIdentity {
  const object = expectObject(value, path);
  rejectUnknownKeys(object, path, ROOT_FIELDS);
  checkTypeMeta(object, path, CrdKinds.AzureIdentity.kind, GROUP_VERSION, embedded);
  return withoutUndefined<AzureIdentity>({
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentity',
    metadata: parseObjectMeta(object, path),
    spec: readSpec(object, path, !embedded),
    status: readStatus(object, path),
  });
}

/**
 * Parses an AzureIdentity from what the API server or a YAML file gives, with the exact wire names
 * of `aadpodidentity.k8s.io/v1`.
 *
 * Beyond the types, it checks what the original relied on: `clientID` is a GUID for every type;
 * type 0 has a user-assigned identity `resourceID`; types 1 and 2 have a `tenantID` and a
 * `clientPassword` Secret reference with name and namespace, and an https `adEndpoint` when one is
 * given. A missing `type` is 0, as Go decoded it. Pre-1.6 field names (`ClientID`, `ResourceID`,
 * `TenantID`, `ClientPassword`, and `Name`/`Namespace` inside it) are reported as such.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the identity, without undefined fields and without the unused embedded `spec.metadata`
 * @throws ValidationError naming the first offending field
 */
export function parseAzureIdentity(input: unknown): AzureIdentity {
  return readAzureIdentity(input, '', false);
}

/**
 * {@link parseAzureIdentity} that returns the error instead of throwing it.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the identity, or the ValidationError naming the offending field
 */
export function safeParseAzureIdentity(input: unknown): ParseResult<AzureIdentity> {
  return toParseResult(parseAzureIdentity, input);
}
