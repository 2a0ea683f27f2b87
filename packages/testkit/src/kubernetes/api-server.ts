import {
  alreadyExistsError,
  ApiStatusError,
  badRequestError,
  conflictError,
  invalidError,
  notFoundError,
} from './api-status-error.js';
import {
  drainCrd,
  finishCrdIfEmpty,
  markCrdForCleanup,
  terminatingCrdOf,
} from './crd-lifecycle.js';
import { parseFieldSelector } from './field-selector.js';
import type { WriteOptions } from './field-validation.js';
import {
  asObject,
  cloneJson,
  isJsonObject,
  jsonEqual,
  kubeTimestamp,
  metadataOf,
  type JsonObject,
} from './json.js';
import { parseLabelSelector } from './label-selector.js';
import { listPage, type ListParameters, type Selection } from './list-pages.js';
import {
  checkNamespaceDeletable,
  checkNamespaceWritable,
  drainNamespace,
  finishNamespaceIfEmpty,
  markNamespaceTerminating,
  SYSTEM_NAMESPACES,
} from './namespace-lifecycle.js';
import {
  finalizersOf,
  groupResourceOf,
  isTerminating,
  nameOf,
  namespaceOf,
  withoutTypeMeta,
} from './object-meta.js';
import type { ObjectStore, StoredEvent } from './object-store.js';
import { checkTypeMeta, validateObject } from './object-validation.js';
import type { ObjectWriter } from './object-writer.js';
import { applyPatch, patchTypeOf } from './patch.js';
import { podDeletion } from './pod-deletion.js';
import { PodsByNode } from './pods-by-node.js';
import { prepareForCreate, stampCreateMetadata } from './prepare-for-create.js';
import { replacementFor, specChanged } from './replacement.js';
import { apiVersionOf, fieldValues, type ResourceDefinition } from './resource-definition.js';
import { ResourceRegistry } from './resource-registry.js';
import { applyStructuralSchema } from './structural-schema.js';

export type { ListParameters, Selection } from './list-pages.js';

/** The parts of `DeleteOptions` the emulator honours. */
export interface DeleteParameters {
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string } | undefined;
  readonly propagationPolicy?: string | undefined;
  readonly gracePeriodSeconds?: number | undefined;
}

const PROPAGATION_POLICIES = new Set(['Orphan', 'Background', 'Foreground']);

const isBuiltin = (def: ResourceDefinition, group: string, plural: string): boolean =>
  !def.custom && def.group === group && def.plural === plural;
const isCrds = (def: ResourceDefinition): boolean =>
  isBuiltin(def, 'apiextensions.k8s.io', 'customresourcedefinitions');
const isNamespaces = (def: ResourceDefinition): boolean => isBuiltin(def, '', 'namespaces');
const isPods = (def: ResourceDefinition): boolean => isBuiltin(def, '', 'pods');

/** kube's 409s for DeleteOptions preconditions that do not hold. */
function checkPreconditions(
  def: ResourceDefinition,
  existing: JsonObject,
  pre: DeleteParameters['preconditions'],
): void {
  const meta = metadataOf(existing);
  const name = nameOf(existing);
  if (pre?.uid !== undefined && pre.uid !== meta.uid) {
    throw conflictError(
      groupResourceOf(def),
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta.uid)}`,
    );
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
    throw conflictError(
      groupResourceOf(def),
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`,
    );
  }
}

/**
 * kube-apiserver's REST semantics over an {@link ObjectStore}: the verbs, optimistic concurrency,
 * status subresources, finalizers and deletion. Each concern lives in its own module, which this
 * class only calls: validation (`object-validation`), defaults on create (`prepare-for-create`),
 * update strategies (`replacement`), paging (`list-pages`), served resources and CRDs
 * (`resource-registry`, `crd-lifecycle`), namespaces (`namespace-lifecycle`), graceful pod deletion
 * (`pod-deletion`). HTTP-free, so the HTTP layer stays a thin translation.
 */
export class ApiServer {
  readonly store: ObjectStore;
  /** The resources served: built-in ones and those of established CRDs. */
  readonly resources = new ResourceRegistry();
  readonly #now: () => Date;
  readonly #podsByNode: PodsByNode;
  readonly #writer: ObjectWriter;
  // The schema each stored custom resource was written under, and the decoded views of those stored
  // under another (see #decoded). Keyed by the stored object, so they go with it.
  readonly #writtenUnder = new WeakMap<JsonObject, JsonObject | undefined>();
  readonly #decodedViews = new WeakMap<JsonObject, { schema: JsonObject; view: JsonObject }>();

  /** Called when a CRD stops serving a storage key (the HTTP layer closes its watches). */
  onResourceRemoved: ((storageKey: string) => void) | undefined;

  constructor(store: ObjectStore, now: () => Date = () => new Date()) {
    this.store = store;
    this.#now = now;
    this.#podsByNode = new PodsByNode(store);
    this.#writer = {
      store,
      resources: this.resources,
      commit: (def, type, obj, previous) => this.#commit(def, type, obj, previous),
      remove: (def, existing) => this.#remove(def, existing),
      deleteExisting: (def, existing, grace) => this.#deleteExisting(def, existing, grace),
    };
    const namespaces = this.resources.builtin('', 'namespaces');
    for (const name of SYSTEM_NAMESPACES)
      this.create(namespaces, undefined, { metadata: { name } });
  }

  /** Parses selectors for a resource, throwing kube's 400s. */
  selection(def: ResourceDefinition, params: ListParameters): Selection {
    return {
      labels: parseLabelSelector(params.labelSelector),
      fields: parseFieldSelector(params.fieldSelector, def.fieldSelectors, def.custom),
    };
  }

  /** Whether an object is selected. */
  matches(def: ResourceDefinition, selection: Selection, obj: JsonObject): boolean {
    if (
      !selection.labels.empty &&
      !selection.labels.matches(asObject(metadataOf(obj).labels) ?? {})
    ) {
      return false;
    }
    return selection.fields.empty || selection.fields.matches(fieldValues(def, obj));
  }

  /** The object as served at `def`'s version (custom resources may be stored at another one). */
  present(def: ResourceDefinition, obj: JsonObject): JsonObject {
    const view = this.#decoded(def, obj);
    const apiVersion = apiVersionOf(def);
    return view.apiVersion === apiVersion ? view : { ...view, apiVersion };
  }

  /**
   * A stored custom resource as kube decodes it on read: with the CRD's current schema, which prunes
   * (and defaults) an object stored before the CRD gained a pruning schema. Objects written under the
   * current schema are served as stored; the others' views are kept until the schema changes again.
   */
  #decoded(def: ResourceDefinition, obj: JsonObject): JsonObject {
    if (!def.custom || def.schema === undefined || this.#writtenUnder.get(obj) === def.schema) {
      return obj;
    }
    const cached = this.#decodedViews.get(obj);
    if (cached?.schema === def.schema) return cached.view;
    const view = cloneJson(obj);
    applyStructuralSchema(view, def.schema);
    this.#decodedViews.set(obj, { schema: def.schema, view });
    return view;
  }

  // ---------------------------------------------------------------- reads

  /** GET of one object. */
  get(def: ResourceDefinition, namespace: string, name: string): JsonObject {
    const obj = this.store.get(def.storageKey, def.namespaced ? namespace : '', name);
    if (obj === undefined) throw notFoundError(groupResourceOf(def), name);
    return this.present(def, obj);
  }

  /** LIST with selectors and `limit`/`continue` (see `listPage`). */
  list(def: ResourceDefinition, namespace: string | undefined, params: ListParameters): JsonObject {
    const selection = this.selection(def, params);
    const scope = def.namespaced ? namespace : undefined;
    return listPage(
      {
        store: this.store,
        def,
        scope,
        keys:
          this.#podsByNode.candidateKeys(def, scope, selection) ??
          this.store.sortedKeys(def.storageKey, scope),
        filtered: !(selection.labels.empty && selection.fields.empty),
        matches: (obj) => this.matches(def, selection, obj),
        present: (obj) => (def.custom ? this.present(def, obj) : withoutTypeMeta(obj)),
      },
      params,
    );
  }

  // ---------------------------------------------------------------- writes

  #commit(
    def: ResourceDefinition,
    type: StoredEvent['type'],
    obj: JsonObject,
    previous: JsonObject | undefined,
  ): JsonObject {
    const rv = this.store.nextResourceVersion();
    const stored: JsonObject = {
      ...obj,
      metadata: { ...metadataOf(obj), resourceVersion: String(rv) },
    };
    this.store.commit({
      resourceVersion: rv,
      type,
      storageKey: def.storageKey,
      namespace: namespaceOf(stored),
      name: nameOf(stored),
      object: stored,
      previous,
    });
    if (def.custom) this.#writtenUnder.set(stored, def.schema);
    return stored;
  }

  #isServed = (group: string, version: string, plural: string): boolean =>
    this.resources.resolve(group, version, plural) !== undefined;

  /**
   * POST: creates an object, as kube-apiserver does (201 with the stored object). `write` carries the
   * `fieldValidation` directive and collects the warnings for the response's `Warning` headers.
   */
  create(
    def: ResourceDefinition,
    namespace: string | undefined,
    body: unknown,
    write: WriteOptions = {},
  ): JsonObject {
    if (!isJsonObject(body)) throw badRequestError('the body of the request must be a JSON object');
    checkTypeMeta(def, body, this.#isServed);
    const obj = cloneJson(body);
    // Versions of a custom resource share one store without conversion, so the object is kept at
    // the version it was written through and served at whichever version is asked for.
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    stampCreateMetadata(def, obj, namespace, this.#now());
    // Admission (NamespaceLifecycle) runs before validation in kube, so its 404/403 come first.
    const ns = def.namespaced ? (namespace ?? '') : '';
    checkNamespaceWritable(this.#writer, def, ns);
    prepareForCreate(def, obj, this.#now());
    validateObject(def, obj, undefined, write);
    if (this.store.get(def.storageKey, ns, nameOf(obj)) !== undefined) {
      throw alreadyExistsError(groupResourceOf(def), nameOf(obj));
    }
    const stored = this.#commit(def, 'ADDED', obj, undefined);
    if (isCrds(def) && !isTerminating(stored)) this.resources.serve(stored);
    return this.present(def, stored);
  }

  /** PUT of the main resource or its `status` subresource (`write` as for {@link ApiServer.create}). */
  update(
    def: ResourceDefinition,
    namespace: string,
    name: string,
    body: unknown,
    subresource?: 'status',
    write: WriteOptions = {},
  ): JsonObject {
    if (!isJsonObject(body)) throw badRequestError('the body of the request must be a JSON object');
    checkTypeMeta(def, body, this.#isServed);
    const ns = def.namespaced ? namespace : '';
    const existing = this.store.get(def.storageKey, ns, name);
    const bodyName = nameOf(body);
    if (bodyName !== name) {
      throw badRequestError(
        `the name of the object (${bodyName}) does not match the name on the URL (${name})`,
      );
    }
    const bodyNs = namespaceOf(body);
    if (def.namespaced && bodyNs !== '' && bodyNs !== ns) {
      throw badRequestError(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (existing === undefined) throw notFoundError(groupResourceOf(def), name);
    return this.#replace(def, existing, cloneJson(body), subresource, write);
  }

  /** PATCH of the main resource or its `status` subresource (`write` as for {@link ApiServer.create}). */
  patch(
    def: ResourceDefinition,
    namespace: string,
    name: string,
    contentType: string | undefined,
    patch: unknown,
    subresource?: 'status',
    write: WriteOptions = {},
  ): JsonObject {
    const type = patchTypeOf(contentType, !def.custom);
    const existing = this.store.get(def.storageKey, def.namespaced ? namespace : '', name);
    if (existing === undefined) throw notFoundError(groupResourceOf(def), name);
    let patched = applyPatch(type, this.present(def, existing), patch);
    // Patches share untouched subtrees with the stored object; schema pruning and defaulting of
    // custom resources mutate in place, so they get a private copy.
    if (def.custom) patched = cloneJson(patched);
    if (!isJsonObject(patched)) {
      throw new ApiStatusError(422, 'Invalid', 'the patched object is not a JSON object');
    }
    if (nameOf(patched) !== name) {
      throw badRequestError(
        `the name of the object (${nameOf(patched)}) does not match the name on the URL (${name})`,
      );
    }
    // Strict's refusal of a patch quotes the patched object as it was before pruning.
    return this.#replace(def, existing, patched, subresource, {
      ...write,
      patched: def.custom ? cloneJson(patched) : patched,
    });
  }

  #replace(
    def: ResourceDefinition,
    existing: JsonObject,
    incoming: JsonObject,
    subresource: 'status' | undefined,
    write: WriteOptions & { patched?: unknown },
  ): JsonObject {
    const next = replacementFor(def, existing, incoming, subresource);
    validateObject(def, next, existing, write);
    const oldGeneration = metadataOf(existing).generation;
    if (def.tracksGeneration && specChanged(def, existing, next)) {
      metadataOf(next).generation = (typeof oldGeneration === 'number' ? oldGeneration : 0) + 1;
    }
    // kube skips no-op writes: no new resourceVersion, no watch event.
    if (jsonEqual(next, existing)) return this.present(def, existing);
    const stored = this.#commit(def, 'MODIFIED', next, existing);
    if (isCrds(def) && !isTerminating(stored)) this.resources.serve(stored);
    // An update that drops the last finalizer completes a deletion, but not a pod's pending graceful
    // one (grace > 0): that waits for the kubelet's grace-0 delete.
    if (
      isTerminating(stored) &&
      finalizersOf(stored).length === 0 &&
      !(Number(metadataOf(stored).deletionGracePeriodSeconds) > 0)
    ) {
      this.#remove(def, stored);
    }
    return this.present(def, stored);
  }

  // ---------------------------------------------------------------- deletes

  /** DELETE of one object; answers the object (or a success Status) like kube. */
  delete(
    def: ResourceDefinition,
    namespace: string,
    name: string,
    options: DeleteParameters,
  ): JsonObject {
    const existing = this.store.get(def.storageKey, def.namespaced ? namespace : '', name);
    if (existing === undefined) throw notFoundError(groupResourceOf(def), name);
    const policy = options.propagationPolicy;
    if (policy !== undefined && !PROPAGATION_POLICIES.has(policy)) {
      throw invalidError({ group: '', kind: 'DeleteOptions' }, '', [
        {
          type: 'FieldValueNotSupported',
          field: 'propagationPolicy',
          value: policy,
          detail: 'supported values: "Foreground", "Background", "Orphan", "nil"',
        },
      ]);
    }
    checkNamespaceDeletable(def, name);
    checkPreconditions(def, existing, options.preconditions);
    return this.#deleteExisting(def, existing, options.gracePeriodSeconds);
  }

  #deleteExisting(
    def: ResourceDefinition,
    existing: JsonObject,
    gracePeriodSeconds: number | undefined,
  ): JsonObject {
    if (isPods(def)) return this.#deletePod(def, existing, gracePeriodSeconds);
    if (isTerminating(existing)) return this.present(def, existing);
    if (finalizersOf(existing).length > 0 || isNamespaces(def) || isCrds(def)) {
      return this.present(def, this.#markForDeletion(def, existing));
    }
    const removed = this.#remove(def, existing);
    if (def.returnsDeletedObject) return this.present(def, removed);
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: nameOf(existing),
        ...(def.group === '' ? {} : { group: def.group }),
        kind: def.plural,
        uid: metadataOf(existing).uid,
      },
    };
  }

  /** Marks an object whose deletion waits (finalizers, a namespace or CRD to drain) and drains it. */
  #markForDeletion(def: ResourceDefinition, existing: JsonObject): JsonObject {
    const meta: JsonObject = {
      ...metadataOf(existing),
      deletionTimestamp: kubeTimestamp(this.#now()),
      deletionGracePeriodSeconds: 0,
    };
    if (def.tracksGeneration && typeof meta.generation === 'number') meta.generation += 1;
    const marked: JsonObject = { ...existing, metadata: meta };
    if (isNamespaces(def)) markNamespaceTerminating(existing, marked);
    if (isCrds(def)) markCrdForCleanup(existing, marked);
    const stored = this.#commit(def, 'MODIFIED', marked, existing);
    if (isNamespaces(def)) return drainNamespace(this.#writer, nameOf(stored)) ?? stored;
    if (isCrds(def)) return drainCrd(this.#writer, stored) ?? stored;
    return stored;
  }

  #deletePod(
    def: ResourceDefinition,
    existing: JsonObject,
    gracePeriodSeconds: number | undefined,
  ): JsonObject {
    const deletion = podDeletion(existing, gracePeriodSeconds, this.#now());
    if (deletion.kind === 'unchanged') return this.present(def, existing);
    if (deletion.kind === 'remove') return this.present(def, this.#remove(def, existing));
    const stored = this.#commit(def, 'MODIFIED', deletion.marked, existing);
    if (metadataOf(stored).deletionGracePeriodSeconds !== 0 || finalizersOf(stored).length > 0) {
      return this.present(def, stored);
    }
    return this.present(def, this.#remove(def, stored));
  }

  #remove(def: ResourceDefinition, existing: JsonObject): JsonObject {
    const removed = this.#commit(def, 'DELETED', existing, existing);
    if (def.namespaced) {
      const ns = this.store.get('/namespaces', '', namespaceOf(existing));
      if (ns !== undefined && isTerminating(ns)) finishNamespaceIfEmpty(this.#writer, ns);
    }
    const crd = terminatingCrdOf(this.#writer, def);
    if (crd !== undefined) finishCrdIfEmpty(this.#writer, crd);
    if (isCrds(def)) this.onResourceRemoved?.(this.resources.stopServing(existing));
    return removed;
  }

  /** DELETE on a collection: deletes every selected object, answering the list of them. */
  deleteCollection(
    def: ResourceDefinition,
    namespace: string | undefined,
    params: ListParameters,
    options: DeleteParameters,
  ): JsonObject {
    const list = this.list(def, namespace, { ...params, limit: undefined, continue: undefined });
    const items = Array.isArray(list.items) ? list.items : [];
    const out: JsonObject[] = [];
    for (const item of items) {
      const obj = asObject(item);
      if (obj === undefined) continue;
      try {
        const result = this.delete(def, namespaceOf(obj), nameOf(obj), options);
        out.push(result.kind === 'Status' ? obj : result);
      } catch (error) {
        // Objects deleted meanwhile (e.g. by a namespace drain) are simply skipped, like kube.
        if (!(error instanceof ApiStatusError) || error.code !== 404) throw error;
      }
    }
    return { ...list, items: out };
  }
}
