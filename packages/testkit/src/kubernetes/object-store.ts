import type { JsonObject } from './json.js';

/** Watch event types kube-apiserver streams for object changes. */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change, kept in the history so watches can resume from a resourceVersion. */
export interface StoredEvent {
  readonly resourceVersion: number;
  readonly type: ChangeType;
  readonly storageKey: string;
  readonly namespace: string;
  readonly name: string;
  /** The object after the change (for DELETED: its last state, carrying the deletion's version). */
  readonly object: JsonObject;
  /** The object before the change, for MODIFIED and DELETED. */
  readonly previous: JsonObject | undefined;
}

/** An object's place in key order: `namespace/name` (or `name` when cluster-scoped). */
export interface ObjectKey {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
}

/** The key kube sorts lists by (etcd key order): `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

/** A callback for committed events of one storage key. */
export type EventListener = (event: StoredEvent) => void;

/** Options of {@link ObjectStore}. */
export interface ObjectStoreOptions {
  /**
   * Events kept for watch resumption. Older ones are compacted automatically, like the bounded
   * watch cache of kube-apiserver; a watch from before the window gets 410 Gone.
   */
  readonly historyLimit?: number;
}

/**
 * The emulator's etcd: objects indexed by storage key, namespace and name, one cluster-wide
 * increasing resourceVersion, an event history with compaction, and per-resource listeners.
 * Stored objects are never mutated; every write stores a new object.
 */
export class ObjectStore {
  #resourceVersion = 0;
  #compactedRevision = 0;
  readonly #objects = new Map<string, Map<string, Map<string, JsonObject>>>();
  readonly #counts = new Map<string, number>();
  #history: StoredEvent[] = [];
  readonly #historyLimit: number;
  readonly #listeners = new Map<string, Set<EventListener>>();
  // Sorted keys per storage key and namespace scope ('' + '\0*' for all), rebuilt lazily after a
  // create or delete; updates keep the order, so pages of big lists cost a binary search.
  readonly #sortedKeys = new Map<string, Map<string, ObjectKey[]>>();

  constructor(options: ObjectStoreOptions = {}) {
    const limit = options.historyLimit ?? 50_000;
    if (!Number.isInteger(limit) || limit < 10) {
      throw new RangeError(`historyLimit must be an integer of at least 10, got ${limit}`);
    }
    this.#historyLimit = limit;
  }

  /** The latest committed resourceVersion. */
  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  /** Events at or below this revision are gone; watching from an older version is 410. */
  get compactedRevision(): number {
    return this.#compactedRevision;
  }

  /** Reserves the next resourceVersion for a write about to be committed. */
  nextResourceVersion(): number {
    this.#resourceVersion += 1;
    return this.#resourceVersion;
  }

  /** The stored object, or `undefined`. */
  get(storageKey: string, namespace: string, name: string): JsonObject | undefined {
    return this.#objects.get(storageKey)?.get(namespace)?.get(name);
  }

  /** Objects of a resource, in one namespace or (when `namespace` is undefined) in all of them. */
  *list(storageKey: string, namespace?: string): Generator<JsonObject> {
    const byNamespace = this.#objects.get(storageKey);
    if (byNamespace === undefined) return;
    if (namespace !== undefined) {
      const objects = byNamespace.get(namespace);
      if (objects !== undefined) yield* objects.values();
      return;
    }
    for (const objects of byNamespace.values()) yield* objects.values();
  }

  /** How many objects of a resource exist (in one namespace when given). */
  count(storageKey: string, namespace?: string): number {
    if (namespace === undefined) return this.#counts.get(storageKey) ?? 0;
    return this.#objects.get(storageKey)?.get(namespace)?.size ?? 0;
  }

  /** Keys of a resource's objects in list order (in one namespace, or all when undefined). */
  sortedKeys(storageKey: string, namespace?: string): readonly ObjectKey[] {
    let byScope = this.#sortedKeys.get(storageKey);
    if (byScope === undefined) {
      byScope = new Map();
      this.#sortedKeys.set(storageKey, byScope);
    }
    const scope = namespace ?? '\0*';
    let keys = byScope.get(scope);
    if (keys === undefined) {
      keys = [];
      const byNamespace = this.#objects.get(storageKey);
      if (byNamespace !== undefined) {
        const namespaces = namespace === undefined ? [...byNamespace.keys()] : [namespace];
        for (const ns of namespaces) {
          for (const name of byNamespace.get(ns)?.keys() ?? []) {
            keys.push({ key: objectKey(ns, name), namespace: ns, name });
          }
        }
      }
      keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      byScope.set(scope, keys);
    }
    return keys;
  }

  /** Storage keys that currently hold objects. */
  storageKeys(): IterableIterator<string> {
    return this.#objects.keys();
  }

  /**
   * Commits a change whose object already carries `resourceVersion` (from
   * {@link nextResourceVersion}), records it in the history and notifies listeners.
   */
  commit(event: StoredEvent): void {
    let byNamespace = this.#objects.get(event.storageKey);
    if (byNamespace === undefined) {
      byNamespace = new Map();
      this.#objects.set(event.storageKey, byNamespace);
    }
    let objects = byNamespace.get(event.namespace);
    if (objects === undefined) {
      objects = new Map();
      byNamespace.set(event.namespace, objects);
    }
    const had = objects.has(event.name);
    if (event.type === 'DELETED' || !had) this.#sortedKeys.delete(event.storageKey);
    if (event.type === 'DELETED') {
      objects.delete(event.name);
      if (objects.size === 0) byNamespace.delete(event.namespace);
      if (had) this.#counts.set(event.storageKey, (this.#counts.get(event.storageKey) ?? 1) - 1);
    } else {
      objects.set(event.name, event.object);
      if (!had) this.#counts.set(event.storageKey, (this.#counts.get(event.storageKey) ?? 0) + 1);
    }
    this.#history.push(event);
    if (this.#history.length > this.#historyLimit) {
      // Drop the oldest tenth at once so trimming stays amortised O(1) per write.
      const drop = Math.ceil(this.#historyLimit / 10);
      const last = this.#history[drop - 1];
      if (last !== undefined) this.#compactedRevision = last.resourceVersion;
      this.#history = this.#history.slice(drop);
    }
    const listeners = this.#listeners.get(event.storageKey);
    if (listeners !== undefined) for (const listener of [...listeners]) listener(event);
  }

  /**
   * Events of one resource after `resourceVersion`, or `'expired'` when part of that range has been
   * compacted away.
   */
  eventsAfter(storageKey: string, resourceVersion: number): StoredEvent[] | 'expired' {
    if (resourceVersion < this.#compactedRevision) return 'expired';
    const history = this.#history;
    // Binary search for the first event newer than resourceVersion (history is ordered by version).
    let lo = 0;
    let hi = history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((history[mid]?.resourceVersion ?? 0) <= resourceVersion) lo = mid + 1;
      else hi = mid;
    }
    const out: StoredEvent[] = [];
    for (let i = lo; i < history.length; i += 1) {
      const event = history[i];
      if (event?.storageKey === storageKey) out.push(event);
    }
    return out;
  }

  /** Forgets all history up to the current version (etcd compaction). */
  compact(): void {
    this.#compactedRevision = this.#resourceVersion;
    this.#history = [];
  }

  /** Subscribes to committed events of one storage key; returns the unsubscribe function. */
  subscribe(storageKey: string, listener: EventListener): () => void {
    let set = this.#listeners.get(storageKey);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(storageKey, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }
}
