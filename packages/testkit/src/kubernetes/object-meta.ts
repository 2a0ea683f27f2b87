// Reading and tidying the ObjectMeta of stored objects, as every part of the API server does.
import type { GroupResource } from './api-status-error.js';
import {
  asObject,
  asString,
  deleteKey,
  isJsonObject,
  metadataOf,
  type JsonObject,
} from './json.js';
import type { ResourceDefinition } from './resource-definition.js';

/** The group and resource of a definition, as `Status` errors name them. */
export function groupResourceOf(def: ResourceDefinition): GroupResource {
  return { group: def.group, resource: def.plural };
}

/** `metadata.name`, or `''`. */
export function nameOf(obj: JsonObject): string {
  return asString(metadataOf(obj).name) ?? '';
}

/** `metadata.namespace`, or `''` (cluster-scoped objects). */
export function namespaceOf(obj: JsonObject): string {
  return asString(metadataOf(obj).namespace) ?? '';
}

/** `metadata.finalizers`, the strings among them. */
export function finalizersOf(obj: JsonObject): string[] {
  const f = metadataOf(obj).finalizers;
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

/** Whether a deletion has started (`metadata.deletionTimestamp` is set). */
export function isTerminating(obj: JsonObject): boolean {
  return metadataOf(obj).deletionTimestamp !== undefined;
}

/** The storage key of the custom resources a CRD defines (`<group>/<plural>`). */
export function crdStorageKey(crd: JsonObject): string {
  const spec = asObject(crd.spec) ?? {};
  return `${asString(spec.group) ?? ''}/${asString(asObject(spec.names)?.plural) ?? ''}`;
}

/** ObjectMeta fields are `omitempty` in kube: an empty map or list is not stored or served. */
export function dropEmptyMetadata(meta: JsonObject): void {
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
    const value = meta[key];
    const empty =
      value === null ||
      (Array.isArray(value) && value.length === 0) ||
      (isJsonObject(value) && Object.keys(value).length === 0);
    if (empty) deleteKey(meta, key);
  }
}

/** Typed lists in kube carry kind/apiVersion on the list only; unstructured (custom) items keep theirs. */
export function withoutTypeMeta(obj: JsonObject): JsonObject {
  const rest = { ...obj };
  delete rest.kind;
  delete rest.apiVersion;
  return rest;
}
