import { systemClock, type Clock } from '../work-queue/clock.js';
import type { KubeConnection } from './kube-connection.js';
import { kubeHttpClientFor } from './kube-http-client.js';

/** What an informer's list function is asked for. */
export interface ListQuery {
  /** Kubernetes label selector, e.g. `aadpodidbinding`. */
  labelSelector?: string;
  /** Kubernetes field selector, e.g. `spec.nodeName=node-1`. */
  fieldSelector?: string;
  /** Page size (`limit`); a server may answer with more (kube-apiserver's watch cache may). */
  limit?: number;
  /** The `continue` token of the previous page; set only for pages after the first. */
  continue?: string;
  /**
   * `resourceVersion` of the first page: `'0'` (any version: served from kube-apiserver's watch
   * cache without a quorum read of etcd), a version (not older than it), or absent (the latest,
   * a consistent read). Absent on continued pages, whose token carries the version.
   */
  resourceVersion?: string;
  /**
   * `NotOlderThan` with a version other than `0`: without it, kube-apiserver serves a paged list at a
   * version as `Exact` (a legacy rule), which fails with 410 once that version is compacted.
   */
  resourceVersionMatch?: 'NotOlderThan';
  /** Aborted when the informer stops: a list in progress is cancelled. */
  abortSignal: AbortSignal;
}

/** A list response reduced to what an informer needs. */
export interface ListResult {
  /** The raw objects, as the API server sent them. */
  items: readonly unknown[];
  /** `metadata.resourceVersion` of the list: the watch resumes from here. */
  resourceVersion: string;
  /** `metadata.continue`: more pages follow. */
  continue?: string;
}

/** Lists every object of one resource (all namespaces) matching the query. */
export type ListFunction = (query: ListQuery) => Promise<ListResult>;

/** What an informer watches: the watch path and how to list. See `podSource`, `customResourceSource`. */
export interface InformerSource {
  /** Watch path, e.g. `/api/v1/pods` or `/apis/aadpodidentity.k8s.io/v1/azureidentities`. */
  path: string;
  /** Lists the same collection as {@link InformerSource.path}. */
  list: ListFunction;
}

/** Builds an informer index entry: the values an item is indexed under (none, one or several). */
export type IndexFunction<P> = (item: P) => readonly string[];

/** Options of {@link createInformer}. */
export interface InformerOptions<P, I extends string = never> extends InformerSource {
  /**
   * Connection to the API server, used for the watch (the list function brings its own): a
   * `@kubernetes/client-node` `KubeConfig`, or a lean {@link KubeConnection} (`loadKubeConnection`).
   */
  kubeConfig: KubeConnection;
  /** Only objects matching this label selector are cached. */
  labelSelector?: string;
  /** Only objects matching this field selector are cached. */
  fieldSelector?: string;
  /**
   * Keeps only the fields the caller reads (the cache holds the projection, never the raw object, so
   * 20,000 pods cost what their projections cost). Return `undefined` to leave an object out of the
   * cache (it is then treated as absent). Called with the raw wire object.
   */
  project: (raw: KubernetesWireObject) => P | undefined;
  /** Named secondary indexes, e.g. `{ byNode: (pod) => [pod.nodeName] }`. */
  indexes?: Record<I, IndexFunction<P>>;
  /** Told of list and watch failures and of handler exceptions. The informer keeps going. */
  onError?: (error: unknown) => void;
  /** Server-side watch timeout in seconds before a quiet re-watch. Default 240. */
  watchTimeoutSeconds?: number;
  /** Objects per list page. Default 500, as client-go's reflector. */
  pageSize?: number;
  /** Delay before retry `attempt` (1-based) after a failed list or watch. Default 250 ms doubling to 30 s. */
  retryDelayMs?: (attempt: number) => number;
  /** Time source for retry delays. Default the system clock. */
  clock?: Clock;
}

/** The least every Kubernetes object on the wire has. */
export interface KubernetesWireObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A cache change: `old` is set on updates and deletes. */
export type InformerEventHandler<P> = (item: P, old: P | undefined) => void;

/** The kinds of cache change an informer reports. */
export type InformerEventType = 'add' | 'update' | 'delete';

/**
 * A cache of one resource kept in step with the API server by list + watch. Keys are
 * `namespace/name` (or `name` for cluster-scoped objects).
 */
export interface Informer<P, I extends string = never> {
  /**
   * Starts listing and watching; resolves once the first list is in the cache (retrying failed
   * lists meanwhile), rejects if `abortSignal` aborts first.
   */
  start(abortSignal?: AbortSignal): Promise<void>;
  /** Stops watching; the cache keeps its last contents. Idempotent. */
  stop(): Promise<void>;
  /** Whether the first list has completed. */
  hasSynced(): boolean;
  /** The cached projection under a key (`namespace/name` or `name`). */
  get(key: string): P | undefined;
  /** Every cached projection. */
  list(): P[];
  /** Number of cached objects. */
  size(): number;
  /** Cached projections whose index `index` contains `value`. */
  byIndex(index: I, value: string): P[];
  /** The distinct values of an index that have at least one item. */
  indexValues(index: I): string[];
  /** Subscribes to cache changes; returns the unsubscribe function. */
  on(type: InformerEventType, handler: InformerEventHandler<P>): () => void;
  /** Subscribes to the end of every (re)list, after its add/update/delete events. */
  onSync(handler: () => void): () => void;
  /** The resourceVersion the watch will resume from. */
  resourceVersion(): string;
}

interface Entry<P> {
  item: P;
  resourceVersion: string;
  indexed: Map<string, readonly string[]>;
}

/** Key of a raw object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(raw: KubernetesWireObject): string | undefined {
  const name = raw.metadata?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const namespace = raw.metadata?.namespace;
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${name}` : name;
}

const defaultRetryDelayMs = (attempt: number): number =>
  Math.min(30_000, 250 * 2 ** Math.min(attempt - 1, 10));

/**
 * Creates a list + watch informer over one resource. The watch resumes from the last seen
 * resourceVersion (bookmarks included); a `410 Gone` (expired resourceVersion, either as an HTTP
 * status or as an `ERROR` watch event) triggers a full relist whose differences are reported as
 * add/update/delete events, like client-go's reflector.
 *
 * @param options - source, selectors, projection and indexes
 * @returns an informer; call `start()` to fill it
 */
export function createInformer<P, I extends string = never>(
  options: InformerOptions<P, I>,
): Informer<P, I> {
  const clock = options.clock ?? systemClock;
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  const indexFns = (options.indexes ?? {}) as Record<string, IndexFunction<P>>;
  const indexNames = Object.keys(indexFns);
  const cache = new Map<string, Entry<P>>();
  const indexes = new Map<string, Map<string, Set<string>>>(
    indexNames.map((name) => [name, new Map()]),
  );
  const handlers: Record<InformerEventType, Set<InformerEventHandler<P>>> = {
    add: new Set(),
    update: new Set(),
    delete: new Set(),
  };
  const syncHandlers = new Set<() => void>();
  const client = kubeHttpClientFor(options.kubeConfig);
  const pageSize = options.pageSize ?? 500;
  const stopController = new AbortController();
  let running: Promise<void> | undefined;
  let synced = false;
  let resourceVersion = '';
  let resolveSynced: (() => void) | undefined;
  const syncedPromise = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });

  const reportError = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // an error reporter that throws must not stop the informer
    }
  };

  const emit = (type: InformerEventType, item: P, old: P | undefined): void => {
    for (const handler of handlers[type]) {
      try {
        handler(item, old);
      } catch (error) {
        reportError(error);
      }
    }
  };

  const unindex = (key: string, entry: Entry<P>): void => {
    for (const [name, values] of entry.indexed) {
      const index = indexes.get(name);
      if (index === undefined) continue;
      for (const value of values) {
        const keys = index.get(value);
        if (keys === undefined) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(value);
      }
    }
  };

  const makeEntry = (key: string, item: P, rv: string): Entry<P> => {
    const indexed = new Map<string, readonly string[]>();
    for (const name of indexNames) {
      const fn = indexFns[name];
      if (fn === undefined) continue;
      const values = fn(item);
      indexed.set(name, values);
      const index = indexes.get(name);
      if (index === undefined) continue;
      for (const value of values) {
        let keys = index.get(value);
        if (keys === undefined) {
          keys = new Set();
          index.set(value, keys);
        }
        keys.add(key);
      }
    }
    return { item, resourceVersion: rv, indexed };
  };

  const upsert = (raw: KubernetesWireObject): void => {
    const key = objectKey(raw);
    if (key === undefined) {
      reportError(new TypeError(`informer ${options.path}: object without metadata.name`));
      return;
    }
    const rv = raw.metadata?.resourceVersion ?? '';
    const previous = cache.get(key);
    if (previous !== undefined && rv !== '' && previous.resourceVersion === rv) return;
    let item: P | undefined;
    try {
      item = options.project(raw);
    } catch (error) {
      reportError(error);
      item = undefined;
    }
    if (item === undefined) {
      if (previous !== undefined) remove(key);
      return;
    }
    if (previous !== undefined) unindex(key, previous);
    cache.set(key, makeEntry(key, item, rv));
    if (previous === undefined) emit('add', item, undefined);
    else emit('update', item, previous.item);
  };

  const remove = (key: string): void => {
    const previous = cache.get(key);
    if (previous === undefined) return;
    unindex(key, previous);
    cache.delete(key);
    emit('delete', previous.item, previous.item);
  };

  /**
   * Lists in pages as client-go's reflector does: the first list at resourceVersion `0` (from the
   * API server's watch cache, no quorum read), later ones not older than the last version seen. A
   * version or continue token the server no longer has (410) falls back to one consistent list of
   * everything.
   */
  const listAll = async (): Promise<ListResult> => {
    const selectors = {
      ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
      ...(options.fieldSelector === undefined ? {} : { fieldSelector: options.fieldSelector }),
    };
    let version: string | undefined = synced ? resourceVersion || undefined : '0';
    let paged = true;
    for (;;) {
      const items: unknown[] = [];
      let token: string | undefined;
      let listVersion: string;
      try {
        do {
          const page = await options.list({
            ...selectors,
            ...(paged ? { limit: pageSize } : {}),
            ...(token === undefined
              ? version === undefined
                ? {}
                : version === '0'
                  ? { resourceVersion: version }
                  : { resourceVersion: version, resourceVersionMatch: 'NotOlderThan' as const }
              : { continue: token }),
            abortSignal: stopController.signal,
          });
          for (const item of page.items) items.push(item);
          listVersion = page.resourceVersion;
          token = page.continue === undefined || page.continue === '' ? undefined : page.continue;
        } while (token !== undefined && !stopController.signal.aborted);
        return { items, resourceVersion: listVersion };
      } catch (error) {
        if (!isGone(error) || (version === undefined && !paged)) throw error;
        version = undefined;
        paged = false;
      }
    }
  };

  const relist = async (): Promise<void> => {
    const result = await listAll();
    if (stopController.signal.aborted) return;
    const seen = new Set<string>();
    for (const raw of result.items) {
      if (typeof raw !== 'object' || raw === null) continue;
      const key = objectKey(raw as KubernetesWireObject);
      if (key !== undefined) seen.add(key);
      upsert(raw as KubernetesWireObject);
    }
    for (const key of [...cache.keys()]) {
      if (!seen.has(key)) remove(key);
    }
    resourceVersion = result.resourceVersion;
    if (!synced) {
      synced = true;
      resolveSynced?.();
    }
    for (const handler of syncHandlers) {
      try {
        handler();
      } catch (error) {
        reportError(error);
      }
    }
  };

  /** One watch connection; resolves `'relist'` when the resourceVersion expired. */
  const watchOnce = async (): Promise<'again' | 'relist'> => {
    let outcome: 'again' | 'relist' | Error = 'again';
    const controller = new AbortController();
    const onStop = (): void => {
      controller.abort();
    };
    stopController.signal.addEventListener('abort', onStop, { once: true });
    try {
      await client.watch(
        options.path,
        {
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: options.watchTimeoutSeconds ?? 240,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
        },
        (phase, object) => {
          if (stopController.signal.aborted || controller.signal.aborted) return;
          const raw = object as KubernetesWireObject;
          switch (phase) {
            case 'ADDED':
            case 'MODIFIED':
              upsert(raw);
              break;
            case 'DELETED': {
              const key = objectKey(raw);
              if (key !== undefined) remove(key);
              break;
            }
            case 'BOOKMARK':
              break;
            case 'ERROR': {
              const code = (object as { code?: unknown } | null)?.code;
              outcome =
                code === 410
                  ? 'relist'
                  : new Error(`watch ${options.path}: ${JSON.stringify(object)}`);
              // Ends the watch once the stream has finished handing out this chunk: aborting from
              // inside its data event tears the socket down under the reader.
              setImmediate(() => {
                controller.abort();
              });
              return;
            }
            default:
              return;
          }
          const rv = raw.metadata?.resourceVersion;
          if (typeof rv === 'string' && rv !== '') resourceVersion = rv;
        },
        controller.signal,
      );
    } catch (error) {
      if (stopController.signal.aborted) return 'again';
      if (isGone(error)) return 'relist';
      throw error;
    } finally {
      stopController.signal.removeEventListener('abort', onStop);
    }
    if (stopController.signal.aborted) return 'again';
    // Set by the event callback; the compiler cannot see that across the await.
    const ended = outcome as 'again' | 'relist' | Error;
    if (ended instanceof Error) throw ended;
    return ended;
  };

  // A function, not an inline read, so the compiler does not narrow the flag across awaits.
  const isStopped = (): boolean => stopController.signal.aborted;

  const run = async (): Promise<void> => {
    let needList = true;
    let attempt = 0;
    while (!stopController.signal.aborted) {
      try {
        if (needList) {
          await relist();
          needList = false;
        }
        const outcome = await watchOnce();
        if (outcome === 'relist') needList = true;
        attempt = 0;
      } catch (error) {
        if (isStopped()) break;
        if (isGone(error)) {
          needList = true;
          continue;
        }
        reportError(error);
        attempt += 1;
        try {
          await clock.sleep(retryDelayMs(attempt), stopController.signal);
        } catch {
          break;
        }
      }
    }
  };

  const itemsOf = (keys: Iterable<string>): P[] => {
    const out: P[] = [];
    for (const key of keys) {
      const entry = cache.get(key);
      if (entry !== undefined) out.push(entry.item);
    }
    return out;
  };

  return {
    async start(abortSignal) {
      running ??= run();
      if (synced) return;
      if (abortSignal === undefined) {
        await syncedPromise;
        return;
      }
      abortSignal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          reject(abortSignal.reason as Error);
        };
        abortSignal.addEventListener('abort', onAbort, { once: true });
        void syncedPromise.then(() => {
          abortSignal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    },
    async stop() {
      stopController.abort();
      await running;
    },
    hasSynced: () => synced,
    get: (key) => cache.get(key)?.item,
    list: () => Array.from(cache.values(), (entry) => entry.item),
    size: () => cache.size,
    byIndex: (index, value) => itemsOf(indexes.get(index)?.get(value) ?? []),
    indexValues: (index) => [...(indexes.get(index)?.keys() ?? [])],
    on(type, handler) {
      handlers[type].add(handler);
      return () => handlers[type].delete(handler);
    },
    onSync(handler) {
      syncHandlers.add(handler);
      return () => syncHandlers.delete(handler);
    },
    resourceVersion: () => resourceVersion,
  };
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { statusCode?: unknown; code?: unknown };
  if (typeof record.statusCode === 'number') return record.statusCode;
  if (typeof record.code === 'number') return record.code;
  return undefined;
}

function isGone(error: unknown): boolean {
  return statusCodeOf(error) === 410;
}
