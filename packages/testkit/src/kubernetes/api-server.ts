import { randomUUID } from 'node:crypto';
import {
  alreadyExistsError,
  ApiStatusError,
  badRequestError,
  conflictError,
  expiredError,
  invalidError,
  notFoundError,
  STALE_OBJECT_MESSAGE,
  type FieldError,
  type GroupResource,
} from './api-status-error.js';
import { parseFieldSelector, type FieldSelector } from './field-selector.js';
import {
  asObject,
  asString,
  cloneJson,
  deleteKey,
  isJsonObject,
  jsonEqual,
  kubeTimestamp,
  metadataOf,
  stringMap,
  type JsonObject,
} from './json.js';
import { parseLabelSelector, type LabelSelector } from './label-selector.js';
import { objectKey, type ObjectKey, type ObjectStore, type StoredEvent } from './object-store.js';
import { applyPatch, patchTypeOf } from './patch.js';
import {
  apiVersionOf,
  builtinResources,
  definitionsFromCrd,
  fieldValues,
  type ResourceDefinition,
} from './resource-definition.js';
import { finalizerWarnings, reportUnknownFields, type WriteOptions } from './field-validation.js';
import { applyStructuralSchema } from './structural-schema.js';

/** List parameters kube accepts on collection GETs (and DELETE collection). */
export interface ListParameters {
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly limit?: number | undefined;
  readonly continue?: string | undefined;
  /** With `resourceVersionMatch=Exact`, the version to list at. */
  readonly resourceVersion?: string | undefined;
  /** `Exact` lists at `resourceVersion` (410 once compacted); `NotOlderThan` serves the latest. */
  readonly resourceVersionMatch?: string | undefined;
}

/** The parts of `DeleteOptions` the emulator honours. */
export interface DeleteParameters {
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string } | undefined;
  readonly propagationPolicy?: string | undefined;
  readonly gracePeriodSeconds?: number | undefined;
}

/** Parsed selectors of a list or watch. */
export interface Selection {
  readonly labels: LabelSelector;
  readonly fields: FieldSelector;
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
// kube's NamespaceLifecycle admission refuses to delete these.
const undeletableNamespaces = ['default', 'kube-system', 'kube-public'];
const crdCleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

function gr(def: ResourceDefinition): GroupResource {
  return { group: def.group, resource: def.plural };
}

function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i += 1) {
    out += generateNameAlphabet.charAt(Math.floor(Math.random() * generateNameAlphabet.length));
  }
  return out;
}

function nameOf(obj: JsonObject): string {
  return asString(metadataOf(obj).name) ?? '';
}

function namespaceOf(obj: JsonObject): string {
  return asString(metadataOf(obj).namespace) ?? '';
}

function finalizersOf(obj: JsonObject): string[] {
  const f = metadataOf(obj).finalizers;
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

// ObjectMeta fields are `omitempty` in kube: an empty map or list is not stored or served.
function dropEmptyMetadata(meta: JsonObject): void {
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
    const value = meta[key];
    const empty =
      value === null ||
      (Array.isArray(value) && value.length === 0) ||
      (isJsonObject(value) && Object.keys(value).length === 0);
    if (empty) deleteKey(meta, key);
  }
}

const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
// Finalizers kube accepts without a domain prefix.
const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

function isQualifiedName(text: string): boolean {
  const parts = text.split('/');
  if (parts.length > 2) return false;
  const name = parts.length === 2 ? (parts[1] ?? '') : text;
  const prefix = parts.length === 2 ? parts[0] : undefined;
  if (
    prefix !== undefined &&
    (prefix.length === 0 || prefix.length > 253 || !dns1123Subdomain.test(prefix))
  ) {
    return false;
  }
  return name.length > 0 && name.length <= 63 && qualifiedNamePart.test(name);
}

// apimachinery's ValidateLabels and ValidateFinalizers, with their messages. Finalizers already on
// the object (such as the API server's own CRD cleanup finalizer) are not checked again.
function validateLabelsAndFinalizers(
  obj: JsonObject,
  existingFinalizers: readonly string[],
  coreFinalizerRules: boolean,
): FieldError[] {
  const errors: FieldError[] = [];
  const meta = metadataOf(obj);
  for (const [key, value] of Object.entries(asObject(meta.labels) ?? {})) {
    if (!isQualifiedName(key)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'metadata.labels',
        value: key,
        detail:
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      });
    }
    if (typeof value !== 'string' || value.length > 63 || !labelValuePattern.test(value)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'metadata.labels',
        value,
        detail:
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      });
    }
  }
  finalizersOf(obj).forEach((finalizer, i) => {
    const field = `metadata.finalizers[${i}]`;
    if (existingFinalizers.includes(finalizer)) return;
    if (!isQualifiedName(finalizer)) {
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value: finalizer,
        detail:
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      });
    } else if (
      coreFinalizerRules &&
      !finalizer.includes('/') &&
      !standardFinalizers.has(finalizer)
    ) {
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value: finalizer,
        detail: 'name is neither a standard finalizer name nor is it fully qualified',
      });
    }
  });
  return errors;
}

const expiredContinueMessage =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';

function podNodeName(pod: JsonObject): string {
  return asString(asObject(pod.spec)?.nodeName) ?? '';
}

// The cheapest part of kube's pod validation (ValidatePodSpec's container checks): every pod has
// containers, each with a unique DNS-label name and an image.
function validatePodSpec(pod: JsonObject): FieldError[] {
  const containers = asObject(pod.spec)?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    return [{ type: 'FieldValueRequired', field: 'spec.containers', detail: '' }];
  }
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((item, i) => {
    const container = asObject(item) ?? {};
    const field = `spec.containers[${String(i)}]`;
    const name = asString(container.name) ?? '';
    if (name === '') {
      errors.push({ type: 'FieldValueRequired', field: `${field}.name`, detail: '' });
    } else if (name.length > 63 || !dns1123Label.test(name)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: `${field}.name`,
        value: name,
        detail: `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      });
    } else if (seen.has(name)) {
      errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, value: name, detail: '' });
    }
    seen.add(name);
    if ((asString(container.image) ?? '') === '') {
      errors.push({ type: 'FieldValueRequired', field: `${field}.image`, detail: '' });
    }
  });
  return errors;
}

// What kube defaults a pod's spec.terminationGracePeriodSeconds to.
const defaultTerminationGracePeriodSeconds = 30;

// kube treats a negative grace period as 1 s on the delete path (0 would skip the kubelet).
function atLeastOneIfNegative(seconds: number): number {
  return seconds < 0 ? 1 : seconds;
}

function isTerminating(obj: JsonObject): boolean {
  return metadataOf(obj).deletionTimestamp !== undefined;
}

interface ContinueToken {
  readonly rv: number;
  readonly start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start }),
  ).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (isJsonObject(parsed) && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through to kube's error
  }
  throw badRequestError(
    `continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`,
  );
}

/**
 * kube-apiserver's REST semantics over an {@link ObjectStore}: validation, metadata system fields,
 * optimistic concurrency, status subresources, finalizers, namespaces and CRDs that start and stop
 * serving their resources. HTTP-free, so the HTTP layer stays a thin translation.
 */
export class ApiServer {
  readonly store: ObjectStore;
  readonly #resources = new Map<string, ResourceDefinition>();
  readonly #now: () => Date;
  readonly #podsByNode = new Map<string, Map<string, ObjectKey>>();

  constructor(store: ObjectStore, now: () => Date = () => new Date()) {
    this.store = store;
    this.#now = now;
    for (const def of builtinResources) this.#resources.set(this.#key(def), def);
    // Index pods by node: every NMI lists and watches `spec.nodeName=<its node>`, and a scan of all
    // pods per node would make startup quadratic in cluster size.
    store.subscribe('/pods', (event) => {
      const key: ObjectKey = {
        key: objectKey(event.namespace, event.name),
        namespace: event.namespace,
        name: event.name,
      };
      const before = event.previous === undefined ? '' : podNodeName(event.previous);
      const after = event.type === 'DELETED' ? '' : podNodeName(event.object);
      if (before === after) return;
      if (before !== '') this.#podsByNode.get(before)?.delete(key.key);
      if (after !== '') {
        let keys = this.#podsByNode.get(after);
        if (keys === undefined) {
          keys = new Map();
          this.#podsByNode.set(after, keys);
        }
        keys.set(key.key, key);
      }
    });
    const namespaces = this.#builtin('', 'namespaces');
    for (const name of systemNamespaces) this.create(namespaces, undefined, { metadata: { name } });
  }

  #key(def: Pick<ResourceDefinition, 'group' | 'version' | 'plural'>): string {
    return `${def.group}/${def.version}/${def.plural}`;
  }

  #builtin(group: string, plural: string): ResourceDefinition {
    const def = builtinResources.find((d) => d.group === group && d.plural === plural);
    if (def === undefined) throw new Error(`no built-in resource ${plural}`);
    return def;
  }

  /** The served resource for a group/version/plural, if any. */
  resolve(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.#resources.get(`${group}/${version}/${plural}`);
  }

  /** The served resource of an object's `apiVersion` and `kind`, if any. */
  resolveKind(apiVersion: string, kind: string): ResourceDefinition | undefined {
    for (const def of this.#resources.values()) {
      if (apiVersionOf(def) === apiVersion && def.kind === kind) return def;
    }
    return undefined;
  }

  /** Every served resource (all versions). */
  definitions(): ResourceDefinition[] {
    return [...this.#resources.values()];
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
    const apiVersion = apiVersionOf(def);
    return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
  }

  // ---------------------------------------------------------------- reads

  /** GET of one object. */
  get(def: ResourceDefinition, namespace: string, name: string): JsonObject {
    const obj = this.store.get(def.storageKey, def.namespaced ? namespace : '', name);
    if (obj === undefined) throw notFoundError(gr(def), name);
    return this.present(def, obj);
  }

  /**
   * LIST with selectors and `limit`/`continue`. Pages are consistent: a continuation is served as
   * of the first page's resourceVersion, rebuilt from the event history (410 once compacted).
   */
  list(def: ResourceDefinition, namespace: string | undefined, params: ListParameters): JsonObject {
    const selection = this.selection(def, params);
    const scope = def.namespaced ? namespace : undefined;
    let listRv = this.store.resourceVersion;
    let start: string | undefined;
    let keys: readonly ObjectKey[] = this.#candidateKeys(def, scope, selection);
    let lookup = (k: ObjectKey): JsonObject | undefined =>
      this.store.get(def.storageKey, k.namespace, k.name);
    const match = params.resourceVersionMatch ?? '';
    if (match !== '') {
      if (match !== 'Exact' && match !== 'NotOlderThan') {
        throw invalidError({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
          {
            type: 'FieldValueNotSupported',
            field: 'resourceVersionMatch',
            value: match,
            detail: 'supported values: "Exact", "NotOlderThan", ""',
          },
        ]);
      }
      if ((params.resourceVersion ?? '') === '') {
        throw invalidError({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
          {
            type: 'FieldValueForbidden',
            field: 'resourceVersionMatch',
            detail: 'resourceVersionMatch is forbidden unless resourceVersion is provided',
          },
        ]);
      }
      if ((params.continue ?? '') !== '') {
        throw invalidError({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
          {
            type: 'FieldValueForbidden',
            field: 'resourceVersionMatch',
            detail: 'resourceVersionMatch is forbidden when continue is provided',
          },
        ]);
      }
    }
    if (match === 'Exact') {
      const exact = Number(params.resourceVersion);
      if (!Number.isInteger(exact) || exact < 0) {
        throw badRequestError(`invalid resource version: ${params.resourceVersion ?? ''}`);
      }
      listRv = exact;
      ({ keys, lookup } = this.#snapshot(
        def,
        scope,
        exact,
        keys,
        lookup,
        'The resourceVersion for the provided list is too old.',
      ));
    } else if (params.continue !== undefined && params.continue !== '') {
      const token = decodeContinue(params.continue);
      listRv = token.rv;
      start = token.start;
      ({ keys, lookup } = this.#snapshot(
        def,
        scope,
        token.rv,
        keys,
        lookup,
        expiredContinueMessage,
      ));
    }
    // Binary search for the first key after the continuation point.
    let lo = 0;
    if (start !== undefined) {
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((keys[mid]?.key ?? '') <= start) lo = mid + 1;
        else hi = mid;
      }
    }
    const limit = params.limit !== undefined && params.limit > 0 ? params.limit : undefined;
    const items: JsonObject[] = [];
    let lastKey = '';
    let next: string | undefined;
    let remaining = 0;
    const unfiltered = selection.labels.empty && selection.fields.empty;
    for (let i = lo; i < keys.length; i += 1) {
      const k = keys[i];
      if (k === undefined) continue;
      const obj = lookup(k);
      if (obj === undefined || !this.matches(def, selection, obj)) continue;
      if (limit !== undefined && items.length === limit) {
        next = encodeContinue({ rv: listRv, start: lastKey });
        remaining = keys.length - i;
        break;
      }
      items.push(obj);
      lastKey = k.key;
    }
    const metadata: JsonObject = { resourceVersion: String(listRv) };
    if (next !== undefined) {
      metadata.continue = next;
      // kube reports remainingItemCount only when it can count without filtering.
      if (unfiltered) metadata.remainingItemCount = remaining;
    }
    return {
      kind: `${def.kind}List`,
      apiVersion: apiVersionOf(def),
      metadata,
      items: items.map((obj) => (def.custom ? this.present(def, obj) : this.#withoutTypeMeta(obj))),
    };
  }

  #candidateKeys(
    def: ResourceDefinition,
    scope: string | undefined,
    selection: Selection,
  ): readonly ObjectKey[] {
    const byNode =
      def.storageKey === '/pods'
        ? selection.fields.requirements.find(
            (r) => r.field === 'spec.nodeName' && !r.negate && r.value !== '',
          )
        : undefined;
    if (byNode === undefined) return this.store.sortedKeys(def.storageKey, scope);
    const keys = [...(this.#podsByNode.get(byNode.value)?.values() ?? [])].filter(
      (k) => scope === undefined || k.namespace === scope,
    );
    return keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // Typed lists in kube carry kind/apiVersion on the list only; unstructured (custom) items keep theirs.
  #withoutTypeMeta(obj: JsonObject): JsonObject {
    const rest = { ...obj };
    delete rest.kind;
    delete rest.apiVersion;
    return rest;
  }

  /**
   * The keys and object lookup of a resource as it was at `rv`, rebuilt by undoing the events
   * committed since (410 Expired when they have been compacted).
   */
  #snapshot(
    def: ResourceDefinition,
    namespace: string | undefined,
    rv: number,
    keys: readonly ObjectKey[],
    lookup: (k: ObjectKey) => JsonObject | undefined,
    expiredMessage: string,
  ): { keys: readonly ObjectKey[]; lookup: (k: ObjectKey) => JsonObject | undefined } {
    if (rv > this.store.resourceVersion) {
      // kube waits briefly for a future version, then gives up with 504 Timeout.
      throw new ApiStatusError(
        504,
        'Timeout',
        `Too large resource version: ${rv}, current: ${this.store.resourceVersion}`,
      );
    }
    const events = this.store.eventsAfter(def.storageKey, rv);
    if (events === 'expired') throw expiredError(expiredMessage);
    const before = new Map<string, { k: ObjectKey; obj: JsonObject | undefined }>();
    for (const event of events) {
      if (namespace !== undefined && event.namespace !== namespace) continue;
      const key = objectKey(event.namespace, event.name);
      if (!before.has(key)) {
        before.set(key, {
          k: { key, namespace: event.namespace, name: event.name },
          obj: event.type === 'ADDED' ? undefined : event.previous,
        });
      }
    }
    if (before.size === 0) return { keys, lookup };
    const present = new Set(keys.map((k) => k.key));
    const extra = [...before.values()].filter((e) => e.obj !== undefined && !present.has(e.k.key));
    const merged =
      extra.length === 0
        ? keys
        : [...keys, ...extra.map((e) => e.k)].sort((a, b) =>
            a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
          );
    return {
      keys: merged,
      lookup: (k) => {
        const changed = before.get(k.key);
        return changed === undefined ? lookup(k) : changed.obj;
      },
    };
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
    return stored;
  }

  #checkTypeMeta(def: ResourceDefinition, body: JsonObject): void {
    const apiVersion = apiVersionOf(def);
    if (body.apiVersion !== undefined && body.apiVersion !== '' && body.apiVersion !== apiVersion) {
      // Custom resources may be written at any served version of the same group.
      const other = typeof body.apiVersion === 'string' ? body.apiVersion.split('/') : [];
      const sameGroup = def.custom && other.length === 2 && other[0] === def.group;
      if (!sameGroup || this.resolve(def.group, other[1] ?? '', def.plural) === undefined) {
        throw badRequestError(
          `the API version in the data (${JSON.stringify(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
        );
      }
    }
    if (body.kind !== undefined && body.kind !== '' && body.kind !== def.kind) {
      throw badRequestError(
        `the kind in the data (${JSON.stringify(body.kind)}) does not match the expected kind (${def.kind})`,
      );
    }
  }

  #validateName(def: ResourceDefinition, obj: JsonObject): FieldError[] {
    const name = nameOf(obj);
    if (name === '') {
      return [
        {
          type: 'FieldValueRequired',
          field: 'metadata.name',
          detail: 'name or generateName is required',
        },
      ];
    }
    if (def.nameRule === 'dns1123Label' && (name.length > 63 || !dns1123Label.test(name))) {
      return [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.name',
          value: name,
          detail: `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        },
      ];
    }
    if (def.nameRule === 'pathSegment') {
      if (name === '.' || name === '..' || name.includes('/') || name.includes('%')) {
        return [
          {
            type: 'FieldValueInvalid',
            field: 'metadata.name',
            value: name,
            detail: `may not contain '/' or '%' and may not be '.' or '..'`,
          },
        ];
      }
      return [];
    }
    if (name.length > 253 || !dns1123Subdomain.test(name)) {
      return [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.name',
          value: name,
          detail: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        },
      ];
    }
    return [];
  }

  #checkNamespaceWritable(def: ResourceDefinition, namespace: string): void {
    if (!def.namespaced) return;
    const ns = this.store.get('/namespaces', '', namespace);
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

  // Resource-specific preparation (kube's PrepareForCreate plus the defaulting this project needs).
  #prepareForCreate(def: ResourceDefinition, obj: JsonObject): void {
    if (def.custom) {
      if (def.statusSubresource) delete obj.status;
      return;
    }
    const meta = metadataOf(obj);
    switch (def.plural) {
      case 'pods':
        obj.status = { phase: 'Pending' };
        break;
      case 'namespaces':
        obj.spec = { finalizers: ['kubernetes'] };
        obj.status = { phase: 'Active' };
        meta.labels = { ...stringMap(meta.labels), 'kubernetes.io/metadata.name': nameOf(obj) };
        break;
      case 'secrets':
        this.#foldStringData(obj);
        if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
        break;
      case 'customresourcedefinitions':
        obj.status = this.#crdStatus(obj);
        break;
      default:
        break;
    }
  }

  #foldStringData(obj: JsonObject): void {
    const stringData = stringMap(obj.stringData);
    if (Object.keys(stringData).length === 0) {
      delete obj.stringData;
      return;
    }
    const data = { ...(asObject(obj.data) ?? {}) };
    for (const [k, v] of Object.entries(stringData))
      data[k] = Buffer.from(v, 'utf8').toString('base64');
    obj.data = data;
    delete obj.stringData;
  }

  #crdStatus(crd: JsonObject): JsonObject {
    const spec = asObject(crd.spec) ?? {};
    const versions = Array.isArray(spec.versions)
      ? spec.versions.map((v) => asObject(v) ?? {})
      : [];
    const storage = versions.find((v) => v.storage === true);
    const now = kubeTimestamp(this.#now());
    return {
      acceptedNames: cloneJson(asObject(spec.names) ?? {}),
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          lastTransitionTime: now,
          reason: 'NoConflicts',
          message: 'no conflicts found',
        },
        {
          type: 'Established',
          status: 'True',
          lastTransitionTime: now,
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
        },
      ],
      storedVersions: storage === undefined ? [] : [storage.name],
    };
  }

  #validateCrd(crd: JsonObject): FieldError[] {
    const errors: FieldError[] = [];
    const spec = asObject(crd.spec) ?? {};
    const names = asObject(spec.names) ?? {};
    const group = asString(spec.group) ?? '';
    const plural = asString(names.plural) ?? '';
    if (group === '') errors.push({ type: 'FieldValueRequired', field: 'spec.group', detail: '' });
    else if (!group.includes('.') || !dns1123Subdomain.test(group)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.group',
        value: group,
        detail: 'should be a domain with at least one dot',
      });
    }
    if (plural === '')
      errors.push({ type: 'FieldValueRequired', field: 'spec.names.plural', detail: '' });
    if ((asString(names.kind) ?? '') === '') {
      errors.push({ type: 'FieldValueRequired', field: 'spec.names.kind', detail: '' });
    }
    if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
      errors.push({
        type: 'FieldValueNotSupported',
        field: 'spec.scope',
        value: spec.scope ?? '',
        detail: 'supported values: "Cluster", "Namespaced"',
      });
    }
    if (nameOf(crd) !== `${plural}.${group}`) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'metadata.name',
        value: nameOf(crd),
        detail: 'must be spec.names.plural+"."+spec.group',
      });
    }
    const versions = Array.isArray(spec.versions)
      ? spec.versions.map((v) => asObject(v) ?? {})
      : [];
    if (versions.length === 0) {
      errors.push({
        type: 'FieldValueRequired',
        field: 'spec.versions',
        detail: 'must have exactly one version marked as storage version',
      });
    } else if (versions.filter((v) => v.storage === true).length !== 1) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.versions',
        value: versions.map((v) => v.name),
        detail: 'must have exactly one version marked as storage version',
      });
    }
    versions.forEach((v, i) => {
      if (asObject(asObject(v.schema)?.openAPIV3Schema) === undefined) {
        errors.push({
          type: 'FieldValueRequired',
          field: `spec.versions[${i}].schema.openAPIV3Schema`,
          detail: 'schemas are required',
        });
      }
    });
    if (group !== '' && builtinResources.some((d) => d.group === group && d.plural === plural)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.group',
        value: group,
        detail: 'is a built-in group',
      });
    }
    return errors;
  }

  #validate(
    def: ResourceDefinition,
    obj: JsonObject,
    previous: JsonObject | undefined,
    write: WriteOptions & { patched?: unknown } = {},
  ): void {
    if (def.custom && def.schema !== undefined) {
      // Decoding (and so pruning, and Strict's refusal) comes before any validation in kube.
      const dropped: string[] = [];
      const schemaErrors = applyStructuralSchema(obj, def.schema, dropped);
      reportUnknownFields(dropped, write, {
        kind: def.kind,
        version: def.version,
        ...(write.patched === undefined ? {} : { patched: write.patched }),
      });
      this.#validateRest(def, obj, previous, schemaErrors);
      const before = new Set(previous === undefined ? [] : finalizersOf(previous));
      write.warnings?.push(...finalizerWarnings(finalizersOf(obj).filter((f) => !before.has(f))));
      return;
    }
    this.#validateRest(def, obj, previous, []);
  }

  #validateRest(
    def: ResourceDefinition,
    obj: JsonObject,
    previous: JsonObject | undefined,
    schemaErrors: readonly FieldError[],
  ): void {
    const errors = [
      ...this.#validateName(def, obj),
      ...validateLabelsAndFinalizers(
        obj,
        previous === undefined ? [] : finalizersOf(previous),
        // Built-in types validate with core's ObjectMeta rules, which also demand a domain-qualified
        // or standard finalizer; CRDs and custom resources only need a qualified name.
        !def.custom && def.group !== 'apiextensions.k8s.io',
      ),
    ];
    errors.push(...schemaErrors);
    if (def.plural === 'customresourcedefinitions' && def.group === 'apiextensions.k8s.io') {
      errors.push(...this.#validateCrd(obj));
    }
    if (def.plural === 'pods' && def.group === '' && !def.custom)
      errors.push(...validatePodSpec(obj));
    if (errors.length > 0) throw invalidError(def, nameOf(obj), errors);
  }

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
    this.#checkTypeMeta(def, body);
    const obj = cloneJson(body);
    const meta = { ...metadataOf(obj) };
    obj.metadata = meta;
    // Versions of a custom resource share one store without conversion, so the object is kept at
    // the version it was written through and served at whichever version is asked for.
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw new ApiStatusError(
        500,
        'InternalError',
        'resourceVersion should not be set on objects to be created',
      );
    }
    if (def.namespaced) {
      const bodyNs = asString(meta.namespace) ?? '';
      const urlNs = namespace ?? '';
      if (bodyNs !== '' && bodyNs !== urlNs) {
        throw badRequestError(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = urlNs;
    } else {
      delete meta.namespace;
    }
    const generateName = asString(meta.generateName) ?? '';
    if ((asString(meta.name) ?? '') === '' && generateName !== '')
      meta.name = generateName + randomSuffix();
    meta.uid = randomUUID();
    meta.creationTimestamp = kubeTimestamp(this.#now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    delete meta.managedFields;
    dropEmptyMetadata(meta);
    delete meta.selfLink;
    if (def.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    // Admission (NamespaceLifecycle) runs before validation in kube, so its 404/403 come first.
    const ns = def.namespaced ? (namespace ?? '') : '';
    this.#checkNamespaceWritable(def, ns);
    this.#prepareForCreate(def, obj);
    this.#validate(def, obj, undefined, write);
    if (this.store.get(def.storageKey, ns, nameOf(obj)) !== undefined) {
      throw alreadyExistsError(gr(def), nameOf(obj));
    }
    const stored = this.#commit(def, 'ADDED', obj, undefined);
    if (def.plural === 'customresourcedefinitions' && def.group === 'apiextensions.k8s.io') {
      this.#serveCrd(stored);
    }
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
    this.#checkTypeMeta(def, body);
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
    if (existing === undefined) throw notFoundError(gr(def), name);
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
    if (existing === undefined) throw notFoundError(gr(def), name);
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

  #specChanged(def: ResourceDefinition, a: JsonObject, b: JsonObject): boolean {
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

  #replace(
    def: ResourceDefinition,
    existing: JsonObject,
    incoming: JsonObject,
    subresource: 'status' | undefined,
    write: WriteOptions & { patched?: unknown } = {},
  ): JsonObject {
    const name = nameOf(existing);
    const oldMeta = metadataOf(existing);
    const inMeta = metadataOf(incoming);
    const wantedRv = asString(inMeta.resourceVersion) ?? '';
    if (wantedRv !== '' && wantedRv !== oldMeta.resourceVersion) {
      throw conflictError(gr(def), name, STALE_OBJECT_MESSAGE);
    }
    let next: JsonObject;
    if (subresource === 'status') {
      // The status endpoint changes .status (kube's status strategies copy the spec from old).
      next = cloneJson(existing);
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
      if (!def.custom) {
        // Built-in status strategies (pods, nodes, …) keep the old spec but take the new metadata,
        // except owner references; custom resources' status writes ignore metadata entirely.
        const nextMeta: JsonObject = {
          ...metadataOf(incoming),
          ownerReferences: metadataOf(existing).ownerReferences,
        };
        next.metadata = nextMeta;
      }
    } else {
      next = incoming;
      if (def.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = cloneJson(existing.status);
      }
      if (def.plural === 'secrets' && !def.custom) this.#foldStringData(next);
    }
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
    this.#validate(def, next, existing, write);
    if (def.tracksGeneration && this.#specChanged(def, existing, next)) {
      meta.generation = (typeof oldMeta.generation === 'number' ? oldMeta.generation : 0) + 1;
    }
    // kube skips no-op writes: no new resourceVersion, no watch event.
    if (jsonEqual(next, existing)) return this.present(def, existing);
    const stored = this.#commit(def, 'MODIFIED', next, existing);
    if (def.plural === 'customresourcedefinitions' && !def.custom) this.#serveCrd(stored);
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
    if (existing === undefined) throw notFoundError(gr(def), name);
    const policy = options.propagationPolicy;
    if (
      policy !== undefined &&
      policy !== 'Orphan' &&
      policy !== 'Background' &&
      policy !== 'Foreground'
    ) {
      throw invalidError({ group: '', kind: 'DeleteOptions' }, '', [
        {
          type: 'FieldValueNotSupported',
          field: 'propagationPolicy',
          value: policy,
          detail: 'supported values: "Foreground", "Background", "Orphan", "nil"',
        },
      ]);
    }
    if (def.plural === 'namespaces' && !def.custom && undeletableNamespaces.includes(name)) {
      throw new ApiStatusError(
        403,
        'Forbidden',
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        { name, kind: 'namespaces' },
      );
    }
    const meta = metadataOf(existing);
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== meta.uid) {
      throw conflictError(
        gr(def),
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta.uid)}`,
      );
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
      throw conflictError(
        gr(def),
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`,
      );
    }
    return this.#deleteExisting(def, existing, options.gracePeriodSeconds);
  }

  #deleteExisting(
    def: ResourceDefinition,
    existing: JsonObject,
    gracePeriodSeconds: number | undefined,
  ): JsonObject {
    const isNamespace = def.plural === 'namespaces' && !def.custom;
    const isCrd = def.plural === 'customresourcedefinitions' && !def.custom;
    if (def.plural === 'pods' && def.group === '' && !def.custom) {
      return this.#deletePod(def, existing, gracePeriodSeconds);
    }
    if (isTerminating(existing)) return this.present(def, existing);
    if (finalizersOf(existing).length > 0 || isNamespace || isCrd) {
      const meta: JsonObject = {
        ...metadataOf(existing),
        deletionTimestamp: kubeTimestamp(this.#now()),
        deletionGracePeriodSeconds: 0,
      };
      if (def.tracksGeneration && typeof meta.generation === 'number') meta.generation += 1;
      const marked: JsonObject = { ...existing, metadata: meta };
      if (isNamespace)
        marked.status = { ...(asObject(existing.status) ?? {}), phase: 'Terminating' };
      if (isCrd) meta.finalizers = [...finalizersOf(existing), crdCleanupFinalizer];
      let stored = this.#commit(def, 'MODIFIED', marked, existing);
      if (isNamespace) stored = this.#drainNamespace(nameOf(stored)) ?? stored;
      if (isCrd) stored = this.#drainCrd(stored) ?? stored;
      return this.present(def, stored);
    }
    const removed = this.#remove(def, existing);
    if (def.returnsDeletedObject) return this.present(def, removed);
    const meta = metadataOf(existing);
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: nameOf(existing),
        ...(def.group === '' ? {} : { group: def.group }),
        kind: def.plural,
        uid: meta.uid,
      },
    };
  }

  // kube's graceful deletion of pods (the pod strategy's CheckGracefulDelete with rest.BeforeDelete):
  // a scheduled, still running pod is only marked — deletionTimestamp = now + grace and
  // deletionGracePeriodSeconds = grace, one MODIFIED event — and stays until its kubelet deletes it
  // again with grace 0 once the containers stopped. A later delete may only shorten the grace.
  // Whenever the grace is 0 (unscheduled or finished pods, an explicit 0), kube still writes the
  // mark first and then removes the pod: watchers see MODIFIED, then DELETED.
  #deletePod(
    def: ResourceDefinition,
    existing: JsonObject,
    gracePeriodSeconds: number | undefined,
  ): JsonObject {
    const oldMeta = metadataOf(existing);
    const asked =
      gracePeriodSeconds === undefined ? undefined : atLeastOneIfNegative(gracePeriodSeconds);
    let marked: JsonObject;
    if (isTerminating(existing)) {
      const current =
        typeof oldMeta.deletionGracePeriodSeconds === 'number'
          ? oldMeta.deletionGracePeriodSeconds
          : 0;
      if (current > 0) {
        // Pending graceful deletion: nothing to do unless the caller shortens the grace.
        if (asked === undefined || asked >= current) return this.present(def, existing);
        const since = Date.parse(asString(oldMeta.deletionTimestamp) ?? '') - current * 1000;
        marked = {
          ...existing,
          metadata: {
            ...oldMeta,
            deletionTimestamp: kubeTimestamp(new Date(since + asked * 1000)),
            deletionGracePeriodSeconds: asked,
          },
        };
      } else {
        // Already at grace 0 (held by finalizers): kube deletes at once if nothing holds it.
        if (finalizersOf(existing).length > 0) return this.present(def, existing);
        return this.present(def, this.#remove(def, existing));
      }
    } else {
      const spec = asObject(existing.spec) ?? {};
      const phase = asString(asObject(existing.status)?.phase);
      let grace =
        asked ??
        atLeastOneIfNegative(
          typeof spec.terminationGracePeriodSeconds === 'number'
            ? spec.terminationGracePeriodSeconds
            : defaultTerminationGracePeriodSeconds,
        );
      // Nothing runs an unscheduled pod, and a finished pod has nothing left to stop.
      if ((asString(spec.nodeName) ?? '') === '' || phase === 'Succeeded' || phase === 'Failed') {
        grace = 0;
      }
      marked = {
        ...existing,
        metadata: {
          ...oldMeta,
          deletionTimestamp: kubeTimestamp(new Date(this.#now().getTime() + grace * 1000)),
          deletionGracePeriodSeconds: grace,
        },
      };
    }
    const stored = this.#commit(def, 'MODIFIED', marked, existing);
    if (metadataOf(stored).deletionGracePeriodSeconds !== 0 || finalizersOf(stored).length > 0) {
      return this.present(def, stored);
    }
    return this.present(def, this.#remove(def, stored));
  }

  #remove(def: ResourceDefinition, existing: JsonObject): JsonObject {
    const removed = this.#commit(def, 'DELETED', existing, existing);
    if (def.namespaced) {
      const ns = this.store.get('/namespaces', '', namespaceOf(existing));
      if (ns !== undefined && isTerminating(ns)) this.#finishNamespace(ns);
    }
    if (def.custom) {
      const crd = this.store.get(
        'apiextensions.k8s.io/customresourcedefinitions',
        '',
        `${def.plural}.${def.group}`,
      );
      if (crd !== undefined && isTerminating(crd)) this.#finishCrd(crd);
    }
    if (def.plural === 'customresourcedefinitions' && !def.custom) this.#stopServing(existing);
    return removed;
  }

  // The namespace controller's work, done at once: delete every object in the namespace.
  #drainNamespace(namespace: string): JsonObject | undefined {
    for (const def of this.#storageDefinitions()) {
      if (!def.namespaced) continue;
      for (const obj of [...this.store.list(def.storageKey, namespace)]) {
        // Grace 0: the namespace controller's graceful pod deletes are finished at once, as if by
        // the pods' kubelets (or the pod garbage collector), so the namespace goes away.
        if (!isTerminating(obj) || def.plural === 'pods') this.#deleteExisting(def, obj, 0);
      }
    }
    const ns = this.store.get('/namespaces', '', namespace);
    if (ns !== undefined) this.#finishNamespace(ns);
    return this.store.get('/namespaces', '', namespace) ?? ns;
  }

  #finishNamespace(ns: JsonObject): void {
    const name = nameOf(ns);
    for (const def of this.#storageDefinitions()) {
      if (def.namespaced && this.store.count(def.storageKey, name) > 0) return;
    }
    this.#commit(this.#builtin('', 'namespaces'), 'DELETED', ns, ns);
  }

  // The CRD cleanup finalizer's work: delete every custom resource, then the CRD itself.
  #drainCrd(crd: JsonObject): JsonObject | undefined {
    const spec = asObject(crd.spec) ?? {};
    const storageKey = `${asString(spec.group) ?? ''}/${asString(asObject(spec.names)?.plural) ?? ''}`;
    const def = this.#storageDefinitions().find((d) => d.storageKey === storageKey);
    if (def !== undefined) {
      for (const obj of [...this.store.list(storageKey)])
        if (!isTerminating(obj)) this.#deleteExisting(def, obj, undefined);
    }
    const current = this.store.get(
      'apiextensions.k8s.io/customresourcedefinitions',
      '',
      nameOf(crd),
    );
    if (current !== undefined) this.#finishCrd(current);
    return (
      this.store.get('apiextensions.k8s.io/customresourcedefinitions', '', nameOf(crd)) ?? current
    );
  }

  #finishCrd(crd: JsonObject): void {
    const spec = asObject(crd.spec) ?? {};
    const storageKey = `${asString(spec.group) ?? ''}/${asString(asObject(spec.names)?.plural) ?? ''}`;
    if (this.store.count(storageKey) > 0) return;
    const crdDef = this.#builtin('apiextensions.k8s.io', 'customresourcedefinitions');
    const finalizers = finalizersOf(crd).filter((f) => f !== crdCleanupFinalizer);
    if (finalizers.length > 0) {
      // Someone else's finalizer still holds the CRD; drop ours and wait for them.
      if (finalizers.length !== finalizersOf(crd).length) {
        this.#commit(
          crdDef,
          'MODIFIED',
          { ...crd, metadata: { ...metadataOf(crd), finalizers } },
          crd,
        );
      }
      return;
    }
    const done = this.#commit(
      crdDef,
      'MODIFIED',
      { ...crd, metadata: { ...metadataOf(crd), finalizers: [] } },
      crd,
    );
    this.#remove(crdDef, done);
  }

  /** Distinct storage (one definition per storage key) of every served resource. */
  #storageDefinitions(): ResourceDefinition[] {
    const seen = new Map<string, ResourceDefinition>();
    for (const def of this.#resources.values())
      if (!seen.has(def.storageKey)) seen.set(def.storageKey, def);
    return [...seen.values()];
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

  // ---------------------------------------------------------------- CRDs

  #serveCrd(crd: JsonObject): void {
    if (isTerminating(crd)) return;
    const defs = definitionsFromCrd(crd);
    const first = defs[0];
    if (first === undefined) return;
    for (const [key, def] of this.#resources) {
      if (def.custom && def.storageKey === first.storageKey) this.#resources.delete(key);
    }
    for (const def of defs) this.#resources.set(this.#key(def), def);
  }

  #stopServing(crd: JsonObject): void {
    const spec = asObject(crd.spec) ?? {};
    const storageKey = `${asString(spec.group) ?? ''}/${asString(asObject(spec.names)?.plural) ?? ''}`;
    for (const [key, def] of this.#resources) {
      if (def.custom && def.storageKey === storageKey) this.#resources.delete(key);
    }
    this.onResourceRemoved?.(storageKey);
  }

  /** Called when a CRD stops serving a storage key (the HTTP layer closes its watches). */
  onResourceRemoved: ((storageKey: string) => void) | undefined;
}
