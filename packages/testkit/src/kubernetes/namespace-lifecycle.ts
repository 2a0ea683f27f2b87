// Namespaces as kube runs them: the system namespaces exist from the start, three of them may not be
// deleted (NamespaceLifecycle admission), nothing new goes into a terminating namespace, and the
// namespace controller deletes everything in a deleted namespace before the namespace itself.
import { ApiStatusError, notFoundError } from './api-status-error.js';
import { asObject, type JsonObject } from './json.js';
import { isTerminating, nameOf } from './object-meta.js';
import type { ObjectWriter } from './object-writer.js';
import type { ResourceDefinition } from './resource-definition.js';

/** The namespaces every cluster starts with. */
export const SYSTEM_NAMESPACES: readonly string[] = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
];

// kube's NamespaceLifecycle admission refuses to delete these.
const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

const isNamespaces = (def: ResourceDefinition): boolean =>
  def.plural === 'namespaces' && !def.custom;

/** Refuses (403) the deletion of a namespace kube keeps. */
export function checkNamespaceDeletable(def: ResourceDefinition, name: string): void {
  if (isNamespaces(def) && UNDELETABLE_NAMESPACES.has(name)) {
    throw new ApiStatusError(
      403,
      'Forbidden',
      `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      { name, kind: 'namespaces' },
    );
  }
}

/**
 * Admission before a create: a namespaced object needs its namespace (404), and a terminating one
 * takes no new content (403). Runs before validation, as in kube.
 */
export function checkNamespaceWritable(
  w: ObjectWriter,
  def: ResourceDefinition,
  namespace: string,
): void {
  if (!def.namespaced) return;
  const ns = w.store.get('/namespaces', '', namespace);
  if (ns === undefined) throw notFoundError({ group: '', resource: 'namespaces' }, namespace);
  if (isTerminating(ns)) {
    throw new ApiStatusError(
      403,
      'Forbidden',
      `${def.plural} "${nameOf(ns)}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      { name: namespace, kind: 'namespaces' },
    );
  }
}

/** The deletion mark's extra for a namespace: phase `Terminating`. */
export function markNamespaceTerminating(existing: JsonObject, marked: JsonObject): void {
  marked.status = { ...(asObject(existing.status) ?? {}), phase: 'Terminating' };
}

/** Deletes the namespace once nothing is left in it. */
export function finishNamespaceIfEmpty(w: ObjectWriter, ns: JsonObject): void {
  const name = nameOf(ns);
  for (const def of w.resources.storageDefinitions()) {
    if (def.namespaced && w.store.count(def.storageKey, name) > 0) return;
  }
  w.commit(w.resources.builtin('', 'namespaces'), 'DELETED', ns, ns);
}

/**
 * The namespace controller's work, done at once: deletes every object in the namespace, then the
 * namespace if that emptied it.
 * @returns the namespace as stored afterwards (its last state if it is gone)
 */
export function drainNamespace(w: ObjectWriter, namespace: string): JsonObject | undefined {
  for (const def of w.resources.storageDefinitions()) {
    if (!def.namespaced) continue;
    for (const obj of [...w.store.list(def.storageKey, namespace)]) {
      // Grace 0: the namespace controller's graceful pod deletes are finished at once, as if by
      // the pods' kubelets (or the pod garbage collector), so the namespace goes away.
      if (!isTerminating(obj) || def.plural === 'pods') w.deleteExisting(def, obj, 0);
    }
  }
  const ns = w.store.get('/namespaces', '', namespace);
  if (ns !== undefined) finishNamespaceIfEmpty(w, ns);
  return w.store.get('/namespaces', '', namespace) ?? ns;
}
