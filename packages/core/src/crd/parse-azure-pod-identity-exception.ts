import { ValidationError } from '../errors/validation-error.js';
import { isLabelKey } from '../validation/is-label-key.js';
import { isLabelValue } from '../validation/is-label-value.js';
import { CrdKinds, GROUP_VERSION } from './constants.js';
import { checkTypeMeta, parseObjectMeta } from './parse-object-meta.js';
import { toParseResult, type ParseResult } from './parse-result.js';
import type {
  AzurePodIdentityException,
  AzurePodIdentityExceptionSpec,
  AzurePodIdentityExceptionStatus,
} from './types.js';
import {
  childPath,
  expectObject,
  optionalObject,
  optionalString,
  optionalStringMap,
  own,
  prunedLegacyHint,
  rejectUnknownKeys,
  requiredObject,
  withoutUndefined,
  type WireObject,
} from './wire-reader.js';

const ROOT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = ['podLabels', 'metadata'];
const SPEC_LEGACY = { PodLabels: 'podLabels' };
const STATUS_FIELDS = ['status', 'metadata'];

function checkPodLabel(key: string, value: string, path: string): void {
  if (!isLabelKey(key)) {
    throw new ValidationError(
      path,
      `${JSON.stringify(key)} is not a valid label key, so no pod can carry it`,
    );
  }
  if (!isLabelValue(value)) {
    throw new ValidationError(path, 'is not a valid label value, so no pod can carry it');
  }
}

function readSpec(object: WireObject, path: string): AzurePodIdentityExceptionSpec {
  const spec = requiredObject(object, 'spec', path);
  const at = childPath(path, 'spec');
  rejectUnknownKeys(spec, at, SPEC_FIELDS, SPEC_LEGACY);
  optionalObject(spec, 'metadata', at);
  if (own(spec, 'podLabels') === undefined) {
    throw new ValidationError(
      childPath(at, 'podLabels'),
      `is required: the labels that exempt a pod${prunedLegacyHint('PodLabels')}`,
    );
  }
  // Go writes a nil map as null; it exempts no pod, like an empty map.
  return { podLabels: optionalStringMap(spec, 'podLabels', at, checkPodLabel) ?? {} };
}

function readStatus(object: WireObject, path: string): AzurePodIdentityExceptionStatus | undefined {
  const status = optionalObject(object, 'status', path);
  if (status === undefined) return undefined;
  const at = childPath(path, 'status');
  rejectUnknownKeys(status, at, STATUS_FIELDS);
  optionalObject(status, 'metadata', at);
  return withoutUndefined<AzurePodIdentityExceptionStatus>({
    status: optionalString(status, 'status', at),
  });
}

/**
 * Parses an AzurePodIdentityException from what the API server or a YAML file gives.
 *
 * `spec.podLabels` is required (Go's `null` reads as no labels) and every entry must be a valid label
 * key and value, since it is matched against pod labels. The pre-1.6 name `PodLabels` is reported
 * as such.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the exception, without undefined fields
 * @throws ValidationError naming the first offending field
 */
export function parseAzurePodIdentityException(input: unknown): AzurePodIdentityException {
  const object = expectObject(input, '');
  rejectUnknownKeys(object, '', ROOT_FIELDS);
  checkTypeMeta(object, '', CrdKinds.AzurePodIdentityException.kind, GROUP_VERSION, false);
  return withoutUndefined<AzurePodIdentityException>({
    apiVersion: GROUP_VERSION,
    kind: 'AzurePodIdentityException',
    metadata: parseObjectMeta(object, ''),
    spec: readSpec(object, ''),
    status: readStatus(object, ''),
  });
}

/**
 * {@link parseAzurePodIdentityException} that returns the error instead of throwing it.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the exception, or the ValidationError naming the offending field
 */
export function safeParseAzurePodIdentityException(
  input: unknown,
): ParseResult<AzurePodIdentityException> {
  return toParseResult(parseAzurePodIdentityException, input);
}
