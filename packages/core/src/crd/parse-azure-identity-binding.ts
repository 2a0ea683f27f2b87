import { ValidationError } from '../errors/validation-error.js';
import { isLabelValue } from '../validation/is-label-value.js';
import { validatePodIdentityName } from '../validation/is-rfc1123-subdomain.js';
import { CrdKinds, GROUP_VERSION, POD_LABEL_KEY } from './constants.js';
import { checkTypeMeta, parseObjectMeta } from './parse-object-meta.js';
import { toParseResult, type ParseResult } from './parse-result.js';
import type {
  AzureIdentityBinding,
  AzureIdentityBindingSpec,
  AzureIdentityBindingStatus,
} from './types.js';
import {
  childPath,
  expectObject,
  optionalInteger,
  optionalObject,
  optionalString,
  own,
  prunedLegacyHint,
  rejectUnknownKeys,
  requiredObject,
  requiredString,
  withoutUndefined,
  type WireObject,
} from './wire-reader.js';

const ROOT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = ['azureIdentity', 'selector', 'weight', 'metadata'];
const SPEC_LEGACY = { AzureIdentity: 'azureIdentity', Selector: 'selector' };
const STATUS_FIELDS = ['availableReplicas', 'metadata'];

function readSpec(object: WireObject, path: string, strict: boolean): AzureIdentityBindingSpec {
  const spec = requiredObject(object, 'spec', path);
  const at = childPath(path, 'spec');
  rejectUnknownKeys(spec, at, SPEC_FIELDS, SPEC_LEGACY);
  optionalObject(spec, 'metadata', at);
  const weight = optionalInteger(spec, 'weight', at, true);
  if (!strict) {
    const presentString = (key: string): string => {
      const value = optionalString(spec, key, at);
      if (value === undefined) throw new ValidationError(childPath(at, key), 'is required');
      return value;
    };
    return withoutUndefined<AzureIdentityBindingSpec>({
      azureIdentity: presentString('azureIdentity'),
      selector: presentString('selector'),
      weight,
    });
  }
  if (own(spec, 'azureIdentity') === undefined && own(spec, 'selector') === undefined) {
    throw new ValidationError(
      childPath(at, 'azureIdentity'),
      `is required${prunedLegacyHint('AzureIdentity and Selector')}`,
    );
  }
  const azureIdentity = requiredString(spec, 'azureIdentity', at);
  validatePodIdentityName(azureIdentity, childPath(at, 'azureIdentity'));
  const selector = requiredString(spec, 'selector', at);
  // The selector is compared with the pod label `aadpodidbinding`; a value no label can hold would
  // make a binding that silently never matches.
  if (!isLabelValue(selector)) {
    throw new ValidationError(
      childPath(at, 'selector'),
      `${JSON.stringify(selector)} can never match: the ${POD_LABEL_KEY} label value must be at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
    );
  }
  return withoutUndefined<AzureIdentityBindingSpec>({ azureIdentity, selector, weight });
}

function readStatus(object: WireObject, path: string): AzureIdentityBindingStatus | undefined {
  const status = optionalObject(object, 'status', path);
  if (status === undefined) return undefined;
  const at = childPath(path, 'status');
  rejectUnknownKeys(status, at, STATUS_FIELDS);
  optionalObject(status, 'metadata', at);
  return withoutUndefined<AzureIdentityBindingStatus>({
    availableReplicas: optionalInteger(status, 'availableReplicas', at),
  });
}

/**
 * Reads an AzureIdentityBinding at `path` (`''` for a top-level object, `spec.azureBindingRef`
 * inside an assigned identity). An `embedded` ref may lack `apiVersion` and `kind`, and only its
 * wire types are checked (see `readAzureIdentity`).
 *
 * @internal
 */
export function readAzureIdentityBinding(
  value: unknown,
  path: string,
  embedded: boolean,
): AzureIdentityBinding {
  const object = expectObject(value, path);
  rejectUnknownKeys(object, path, ROOT_FIELDS);
  checkTypeMeta(object, path, CrdKinds.AzureIdentityBinding.kind, GROUP_VERSION, embedded);
  return withoutUndefined<AzureIdentityBinding>({
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentityBinding',
    metadata: parseObjectMeta(object, path),
    spec: readSpec(object, path, !embedded),
    status: readStatus(object, path),
  });
}

/**
 * Parses an AzureIdentityBinding from what the API server or a YAML file gives.
 *
 * `spec.azureIdentity` must be an object name (an RFC 1123 subdomain) and `spec.selector` a non-empty
 * label value, since it is matched against the pods' `aadpodidbinding` label. The pre-1.6 names
 * `AzureIdentity` and `Selector` are reported as such.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the binding, without undefined fields
 * @throws ValidationError naming the first offending field
 */
export function parseAzureIdentityBinding(input: unknown): AzureIdentityBinding {
  return readAzureIdentityBinding(input, '', false);
}

/**
 * {@link parseAzureIdentityBinding} that returns the error instead of throwing it.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the binding, or the ValidationError naming the offending field
 */
export function safeParseAzureIdentityBinding(input: unknown): ParseResult<AzureIdentityBinding> {
  return toParseResult(parseAzureIdentityBinding, input);
}
