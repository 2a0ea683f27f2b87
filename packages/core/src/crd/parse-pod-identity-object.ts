import { ValidationError } from '../errors/validation-error.js';
import { CrdKinds, type CrdKind } from './constants.js';
import { parseAzureAssignedIdentity } from './parse-azure-assigned-identity.js';
import { parseAzureIdentity } from './parse-azure-identity.js';
import { parseAzureIdentityBinding } from './parse-azure-identity-binding.js';
import { parseAzurePodIdentityException } from './parse-azure-pod-identity-exception.js';
import { toParseResult, type ParseResult } from './parse-result.js';
import type { PodIdentityObject } from './types.js';
import { describeType, expectObject, own } from './wire-reader.js';

const PARSERS: Readonly<Record<CrdKind, (input: unknown) => PodIdentityObject>> = {
  AzureIdentity: parseAzureIdentity,
  AzureIdentityBinding: parseAzureIdentityBinding,
  AzureAssignedIdentity: parseAzureAssignedIdentity,
  AzurePodIdentityException: parseAzurePodIdentityException,
};

function isCrdKind(kind: string): kind is CrdKind {
  return Object.hasOwn(CrdKinds, kind);
}

/**
 * Parses any of the four pod-identity objects, choosing the parser by `kind`; for reading a YAML
 * file or a watch of mixed objects.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the typed object; narrow it with `kind`
 * @throws ValidationError naming `kind` when it is missing or not one of the four kinds, or naming
 *   the first offending field of the object
 */
export function parsePodIdentityObject(input: unknown): PodIdentityObject {
  const object = expectObject(input, '');
  const kind = own(object, 'kind');
  if (kind === undefined || kind === null) {
    throw new ValidationError('kind', `is required (one of ${Object.keys(CrdKinds).join(', ')})`);
  }
  if (typeof kind !== 'string') {
    throw new ValidationError('kind', `must be a string, got ${describeType(kind)}`);
  }
  if (!isCrdKind(kind)) {
    throw new ValidationError(
      'kind',
      `${JSON.stringify(kind)} is not a pod-identity kind (one of ${Object.keys(CrdKinds).join(', ')})`,
    );
  }
  return PARSERS[kind](object);
}

/**
 * {@link parsePodIdentityObject} that returns the error instead of throwing it.
 *
 * @param input - the decoded JSON or YAML object
 * @returns the typed object, or the ValidationError naming the offending field
 */
export function safeParsePodIdentityObject(input: unknown): ParseResult<PodIdentityObject> {
  return toParseResult(parsePodIdentityObject, input);
}
