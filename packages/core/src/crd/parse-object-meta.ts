import { ValidationError } from '../errors/validation-error.js';
import { isLabelKey } from '../validation/is-label-key.js';
import { isLabelValue } from '../validation/is-label-value.js';
import { isRfc1123Label, validatePodIdentityName } from '../validation/is-rfc1123-subdomain.js';
import type { ObjectMeta } from './types.js';
import {
  childPath,
  describeType,
  optionalInteger,
  optionalString,
  optionalStringArray,
  optionalStringMap,
  own,
  requiredObject,
  withoutUndefined,
} from './wire-reader.js';

/** The ObjectMeta fields pod-identity keeps, in the order they are written. */
const KEPT = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'labels',
  'annotations',
  'finalizers',
] as const;

function checkLabel(key: string, value: string, path: string): void {
  if (!isLabelKey(key)) {
    throw new ValidationError(path, `${JSON.stringify(key)} is not a valid label key`);
  }
  if (!isLabelValue(value)) {
    throw new ValidationError(
      path,
      'is not a valid label value: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
    );
  }
}

function checkAnnotationKey(key: string, _value: string, path: string): void {
  if (!isLabelKey(key)) {
    throw new ValidationError(path, `${JSON.stringify(key)} is not a valid annotation key`);
  }
}

/**
 * Reads `<path>.metadata` of a pod-identity object. Only the fields of {@link ObjectMeta} are kept;
 * the others the API server sends (`managedFields`, `ownerReferences`, …) are dropped. A
 * differently-cased spelling of a kept field (`Name`) is an error rather than a silent drop.
 *
 * @param parent - the object holding `metadata`
 * @param path - the JSON path of `parent` (`''` at the top level)
 * @returns the metadata, without undefined fields
 * @throws ValidationError naming the offending field
 */
export function parseObjectMeta(parent: Record<string, unknown>, path: string): ObjectMeta {
  const metadata = requiredObject(parent, 'metadata', path);
  const at = childPath(path, 'metadata');
  for (const key of Object.keys(metadata)) {
    const kept = KEPT.find((name) => name.toLowerCase() === key.toLowerCase());
    if (kept !== undefined && kept !== key) {
      throw new ValidationError(
        childPath(at, key),
        `unknown field ${JSON.stringify(key)}; field names are case-sensitive: did you mean ${JSON.stringify(kept)}?`,
      );
    }
  }
  const name = own(metadata, 'name');
  if (name === undefined || name === null) {
    throw new ValidationError(childPath(at, 'name'), 'is required');
  }
  if (typeof name !== 'string') {
    throw new ValidationError(childPath(at, 'name'), `must be a string, got ${describeType(name)}`);
  }
  validatePodIdentityName(name, childPath(at, 'name'));
  const namespace = optionalString(metadata, 'namespace', at);
  if (namespace !== undefined && !isRfc1123Label(namespace)) {
    throw new ValidationError(
      childPath(at, 'namespace'),
      `${JSON.stringify(namespace)} is not a namespace name (an RFC 1123 label of at most 63 characters)`,
    );
  }
  const finalizers = optionalStringArray(metadata, 'finalizers', at, (item, itemPath) => {
    if (item === '') throw new ValidationError(itemPath, 'must not be empty');
  });
  return withoutUndefined<ObjectMeta>({
    name,
    namespace,
    uid: optionalString(metadata, 'uid', at),
    resourceVersion: optionalString(metadata, 'resourceVersion', at),
    generation: optionalInteger(metadata, 'generation', at, true),
    creationTimestamp: optionalString(metadata, 'creationTimestamp', at),
    deletionTimestamp: optionalString(metadata, 'deletionTimestamp', at),
    labels: optionalStringMap(metadata, 'labels', at, checkLabel),
    annotations: optionalStringMap(metadata, 'annotations', at, checkAnnotationKey),
    finalizers: finalizers ?? undefined,
  });
}

/** Reads an `apiVersion`/`kind` pair and checks it; `embedded` refs may omit both. */
export function checkTypeMeta(
  object: Record<string, unknown>,
  path: string,
  expectedKind: string,
  expectedApiVersion: string,
  embedded: boolean,
): void {
  const apiVersion = optionalString(object, 'apiVersion', path);
  const kind = optionalString(object, 'kind', path);
  if (kind === undefined) {
    if (!embedded)
      throw new ValidationError(childPath(path, 'kind'), `is required (${expectedKind})`);
  } else if (kind !== expectedKind) {
    throw new ValidationError(
      childPath(path, 'kind'),
      `must be ${JSON.stringify(expectedKind)}, got ${JSON.stringify(kind)}`,
    );
  }
  if (apiVersion === undefined) {
    if (!embedded) {
      throw new ValidationError(
        childPath(path, 'apiVersion'),
        `is required (${expectedApiVersion})`,
      );
    }
  } else if (apiVersion !== expectedApiVersion) {
    throw new ValidationError(
      childPath(path, 'apiVersion'),
      `must be ${JSON.stringify(expectedApiVersion)}, got ${JSON.stringify(apiVersion)}`,
    );
  }
}
