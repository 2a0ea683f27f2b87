// What an update (PUT or PATCH, of an object or its status subresource) stores in place of an
// existing object: kube's update strategies — which parts the endpoint may change, and the system
// metadata the client cannot.
import { conflictError, invalidError, STALE_OBJECT_MESSAGE } from './api-status-error.js';
import { asString, cloneJson, jsonEqual, metadataOf, type JsonObject } from './json.js';
import { dropEmptyMetadata, finalizersOf, groupResourceOf, nameOf } from './object-meta.js';
import { foldStringData } from './prepare-for-create.js';
import type { ResourceDefinition } from './resource-definition.js';

/** The endpoint's part of the incoming object over the existing one. */
function mergeForEndpoint(
  def: ResourceDefinition,
  existing: JsonObject,
  incoming: JsonObject,
  subresource: 'status' | undefined,
): JsonObject {
  if (subresource === 'status') {
    // The status endpoint changes .status (kube's status strategies copy the spec from old).
    const next = cloneJson(existing);
    if (incoming.status === undefined) delete next.status;
    else next.status = incoming.status;
    if (!def.custom) {
      // Built-in status strategies (pods, nodes, …) keep the old spec but take the new metadata,
      // except owner references; custom resources' status writes ignore metadata entirely.
      next.metadata = {
        ...metadataOf(incoming),
        ownerReferences: metadataOf(existing).ownerReferences,
      };
    }
    return next;
  }
  const next = incoming;
  if (def.statusSubresource) {
    if (existing.status === undefined) delete next.status;
    else next.status = cloneJson(existing.status);
  }
  if (def.plural === 'secrets' && !def.custom) foldStringData(next);
  return next;
}

/** Keeps what the server owns: uid (422 if changed), creation time, namespace, deletion state. */
function keepSystemMetadata(def: ResourceDefinition, existing: JsonObject, next: JsonObject): void {
  const name = nameOf(existing);
  const oldMeta = metadataOf(existing);
  const meta = { ...metadataOf(next) };
  next.metadata = meta;
  next.apiVersion = existing.apiVersion;
  next.kind = def.kind;
  const inUid = asString(meta.uid) ?? '';
  if (inUid !== '' && inUid !== oldMeta.uid) {
    throw invalidError(def, name, [
      {
        type: 'FieldValueInvalid',
        field: 'metadata.uid',
        value: inUid,
        detail: 'field is immutable',
      },
    ]);
  }
  meta.uid = oldMeta.uid;
  meta.creationTimestamp = oldMeta.creationTimestamp;
  if (def.namespaced) meta.namespace = oldMeta.namespace;
  else delete meta.namespace;
  meta.resourceVersion = oldMeta.resourceVersion;
  delete meta.managedFields;
  dropEmptyMetadata(meta);
  if (oldMeta.deletionTimestamp === undefined) {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  } else {
    meta.deletionTimestamp = oldMeta.deletionTimestamp;
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
    const added = finalizersOf(next).filter((f) => !finalizersOf(existing).includes(f));
    if (added.length > 0) {
      throw invalidError(def, name, [
        {
          type: 'FieldValueForbidden',
          field: 'metadata.finalizers',
          detail: 'no new finalizers can be added if the object is being deleted',
        },
      ]);
    }
  }
  if (def.tracksGeneration) meta.generation = oldMeta.generation;
  else delete meta.generation;
}

/**
 * The object an update stores in place of `existing`, before validation: 409 Conflict when the
 * incoming resourceVersion is stale, the endpoint's part of `incoming` merged, the system metadata
 * kept.
 *
 * @param def - the resource
 * @param existing - the stored object
 * @param incoming - the PUT body or the patched object (may be reused)
 * @param subresource - `status` for the status endpoint
 */
export function replacementFor(
  def: ResourceDefinition,
  existing: JsonObject,
  incoming: JsonObject,
  subresource: 'status' | undefined,
): JsonObject {
  const wantedRv = asString(metadataOf(incoming).resourceVersion) ?? '';
  if (wantedRv !== '' && wantedRv !== metadataOf(existing).resourceVersion) {
    throw conflictError(groupResourceOf(def), nameOf(existing), STALE_OBJECT_MESSAGE);
  }
  const next = mergeForEndpoint(def, existing, incoming, subresource);
  keepSystemMetadata(def, existing, next);
  return next;
}

/** Whether an update changes what `metadata.generation` counts: the spec (all but metadata and status for custom resources). */
export function specChanged(def: ResourceDefinition, a: JsonObject, b: JsonObject): boolean {
  if (def.custom) {
    const strip = (o: JsonObject): JsonObject => {
      const rest = { ...o };
      delete rest.metadata;
      if (def.statusSubresource) delete rest.status;
      return rest;
    };
    return !jsonEqual(strip(a), strip(b));
  }
  return !jsonEqual(a.spec, b.spec);
}
