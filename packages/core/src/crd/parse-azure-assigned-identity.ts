import { ValidationError } from '../errors/validation-error.js';
import { isRfc1123Label, validatePodIdentityName } from '../validation/is-rfc1123-subdomain.js';
import { AssignedIdentityState, CrdKinds, GROUP_VERSION } from './constants.js';
import { readAzureIdentity } from './parse-azure-identity.js';
import { readAzureIdentityBinding } from './parse-azure-identity-binding.js';
import { checkTypeMeta, parseObjectMeta } from './parse-object-meta.js';
import { toParseResult, type ParseResult } from './parse-result.js';
import type {
  AzureAssignedIdentity,
  AzureAssignedIdentitySpec,
  AzureAssignedIdentityStatus,
} from './types.js';
import {
  childPath,
  expectObject,
  optionalInteger,
  optionalObject,
  optionalString,
  own,
  rejectUnknownKeys,
  requiredObject,
  requiredString,
  withoutUndefined,
  type WireObject,
} from './wire-reader.js';

const ROOT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = [
  'azureIdentityRef',
  'azureBindingRef',
  'pod',
  'podNamespace',
  'nodename',
  'replicas',
  'metadata',
];
const STATUS_FIELDS = ['status', 'availableReplicas', 'metadata'];
const STATES: readonly string[] = ['', ...Object.values(AssignedIdentityState)];

function readSpec(object: WireObject, path: string): AzureAssignedIdentitySpec {
  const spec = requiredObject(object, 'spec', path);
  const at = childPath(path, 'spec');
  rejectUnknownKeys(spec, at, SPEC_FIELDS);
  optionalObject(spec, 'metadata', at);
  if (own(spec, 'azureIdentityRef') === undefined && own(spec, 'podNamespace') === undefined) {
    throw new ValidationError(
      childPath(at, 'azureIdentityRef'),
      'is required (a record written by the Go MIC 1.5.x or earlier, whose azureidentityref, azurebindingref and podnamespace the API server drops: MIC overwrites it if its pod still needs it, else delete it)',
    );
  }
  const identityPath = childPath(at, 'azureIdentityRef');
  const bindingPath = childPath(at, 'azureBindingRef');
  const azureIdentityRef = readAzureIdentity(
    requiredObject(spec, 'azureIdentityRef', at),
    identityPath,
    true,
  );
  const azureBindingRef = readAzureIdentityBinding(
    requiredObject(spec, 'azureBindingRef', at),
    bindingPath,
    true,
  );
  const pod = requiredString(spec, 'pod', at);
  validatePodIdentityName(pod, childPath(at, 'pod'));
  const podNamespace = requiredString(spec, 'podNamespace', at);
  if (!isRfc1123Label(podNamespace)) {
    throw new ValidationError(
      childPath(at, 'podNamespace'),
      `${JSON.stringify(podNamespace)} is not a namespace name (an RFC 1123 label)`,
    );
  }
  const nodename = requiredString(spec, 'nodename', at);
  validatePodIdentityName(nodename, childPath(at, 'nodename'));
  return withoutUndefined<AzureAssignedIdentitySpec>({
    azureIdentityRef,
    azureBindingRef,
    pod,
    podNamespace,
    nodename,
    replicas: own(spec, 'replicas') === null ? null : optionalInteger(spec, 'replicas', at),
  });
}

function readStatus(object: WireObject, path: string): AzureAssignedIdentityStatus | undefined {
  const status = optionalObject(object, 'status', path);
  if (status === undefined) return undefined;
  const at = childPath(path, 'status');
  rejectUnknownKeys(status, at, STATUS_FIELDS);
  optionalObject(status, 'metadata', at);
  const state = optionalString(status, 'status', at);
  if (state !== undefined && !STATES.includes(state)) {
    throw new ValidationError(
      childPath(at, 'status'),
      `must be "Created", "Assigned", "Unassigned" or "" (a legacy record), got ${JSON.stringify(state)}`,
    );
  }
  return withoutUndefined<AzureAssignedIdentityStatus>({
    status: state as AssignedIdentityState | undefined,
    availableReplicas: optionalInteger(status, 'availableReplicas', at),
  });
}

/**
 * Parses an AzureAssignedIdentity (MIC's record of one pod and identity) from what the API server
 * or a YAML file gives.
 *
 * The embedded `spec.azureIdentityRef` and `spec.azureBindingRef` are read as a whole AzureIdentity
 * and AzureIdentityBinding with their wire names and types (errors name e.g.
 * `spec.azureIdentityRef.spec.clientID`), and a missing `apiVersion` or `kind` in them is filled in.
 * Unlike `parseAzureIdentity`, the refs' values are not checked further (client ID a GUID,
 * a well-formed resource ID, …): they are snapshots the original may have written under looser
 * rules, and a record that cannot be read cannot be cleaned up. Check a ref's values where they are
 * used. `pod` and `nodename` must be object names, `podNamespace` a namespace name, and
 * `status.status` one of the assigned-identity states.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the assigned identity, without undefined fields
 * @throws ValidationError naming the first offending field
 */
export function parseAzureAssignedIdentity(input: unknown): AzureAssignedIdentity {
  const object = expectObject(input, '');
  rejectUnknownKeys(object, '', ROOT_FIELDS);
  checkTypeMeta(object, '', CrdKinds.AzureAssignedIdentity.kind, GROUP_VERSION, false);
  return withoutUndefined<AzureAssignedIdentity>({
    apiVersion: GROUP_VERSION,
    kind: 'AzureAssignedIdentity',
    metadata: parseObjectMeta(object, ''),
    spec: readSpec(object, ''),
    status: readStatus(object, ''),
  });
}

/**
 * {@link parseAzureAssignedIdentity} that returns the error instead of throwing it.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the assigned identity, or the ValidationError naming the offending field
 */
export function safeParseAzureAssignedIdentity(input: unknown): ParseResult<AzureAssignedIdentity> {
  return toParseResult(parseAzureAssignedIdentity, input);
}
