// CustomResourceDefinitions as apiextensions-apiserver runs them: a created CRD is established at
// once (its status conditions and stored versions), and a deleted one is held by the cleanup
// finalizer until every custom resource it defines is deleted.
import { asObject, cloneJson, kubeTimestamp, metadataOf, type JsonObject } from './json.js';
import { crdStorageKey, finalizersOf, isTerminating, nameOf } from './object-meta.js';
import type { ObjectWriter } from './object-writer.js';

/** The finalizer apiextensions puts on a deleted CRD while it deletes the custom resources. */
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const CRDS = 'apiextensions.k8s.io/customresourcedefinitions';

/** The status of a newly created CRD: names accepted, established, its storage version stored. */
export function establishedCrdStatus(crd: JsonObject, now: Date): JsonObject {
  const spec = asObject(crd.spec) ?? {};
  const versions = Array.isArray(spec.versions) ? spec.versions.map((v) => asObject(v) ?? {}) : [];
  const storage = versions.find((v) => v.storage === true);
  const at = kubeTimestamp(now);
  return {
    acceptedNames: cloneJson(asObject(spec.names) ?? {}),
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        lastTransitionTime: at,
        reason: 'NoConflicts',
        message: 'no conflicts found',
      },
      {
        type: 'Established',
        status: 'True',
        lastTransitionTime: at,
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
      },
    ],
    storedVersions: storage === undefined ? [] : [storage.name],
  };
}

/** The deletion mark's extra for a CRD: the cleanup finalizer. */
export function markCrdForCleanup(existing: JsonObject, marked: JsonObject): void {
  metadataOf(marked).finalizers = [...finalizersOf(existing), CRD_CLEANUP_FINALIZER];
}

/**
 * Deletes the CRD once none of its custom resources is left: drops the cleanup finalizer, and
 * removes the CRD unless someone else's finalizer still holds it.
 */
export function finishCrdIfEmpty(w: ObjectWriter, crd: JsonObject): void {
  if (w.store.count(crdStorageKey(crd)) > 0) return;
  const crdDef = w.resources.builtin('apiextensions.k8s.io', 'customresourcedefinitions');
  const finalizers = finalizersOf(crd).filter((f) => f !== CRD_CLEANUP_FINALIZER);
  if (finalizers.length > 0) {
    // Someone else's finalizer still holds the CRD; drop ours and wait for them.
    if (finalizers.length !== finalizersOf(crd).length) {
      w.commit(crdDef, 'MODIFIED', { ...crd, metadata: { ...metadataOf(crd), finalizers } }, crd);
    }
    return;
  }
  const done = w.commit(
    crdDef,
    'MODIFIED',
    { ...crd, metadata: { ...metadataOf(crd), finalizers: [] } },
    crd,
  );
  w.remove(crdDef, done);
}

/**
 * The cleanup finalizer's work: deletes every custom resource of the CRD, then the CRD itself.
 * @returns the CRD as stored afterwards (its last state if it is gone)
 */
export function drainCrd(w: ObjectWriter, crd: JsonObject): JsonObject | undefined {
  const storageKey = crdStorageKey(crd);
  const def = w.resources.storageDefinitions().find((d) => d.storageKey === storageKey);
  if (def !== undefined) {
    for (const obj of [...w.store.list(storageKey)])
      if (!isTerminating(obj)) w.deleteExisting(def, obj, undefined);
  }
  const current = w.store.get(CRDS, '', nameOf(crd));
  if (current !== undefined) finishCrdIfEmpty(w, current);
  return w.store.get(CRDS, '', nameOf(crd)) ?? current;
}

/** The CRD of a custom resource when that CRD is being deleted (the resource may be its last). */
export function terminatingCrdOf(
  w: ObjectWriter,
  def: { readonly custom: boolean; readonly plural: string; readonly group: string },
): JsonObject | undefined {
  if (!def.custom) return undefined;
  const crd = w.store.get(CRDS, '', `${def.plural}.${def.group}`);
  return crd !== undefined && isTerminating(crd) ? crd : undefined;
}
