import type { ApiServer, Selection } from './api-server.js';
import { badRequestError, expiredError, statusObject } from './api-status-error.js';
import { metadataOf, type JsonObject } from './json.js';
import type { StoredEvent } from './object-store.js';
import { apiVersionOf, type ResourceDefinition } from './resource-definition.js';

/** Query parameters of a watch request. */
export interface WatchParameters {
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly resourceVersion?: string | undefined;
  readonly allowWatchBookmarks?: boolean | undefined;
  readonly timeoutSeconds?: number | undefined;
}

/** Where a watch writes its newline-delimited JSON events. */
export interface WatchSink {
  write(line: string): void;
  end(): void;
}

/** A running watch. */
export interface ResourceWatch {
  /** The storage key watched (CRD removal ends these watches). */
  readonly storageKey: string;
  /** Ends the stream (the client sees a normal end of body and reconnects). */
  stop(): void;
}

/** Timing knobs of watches. */
export interface WatchTiming {
  /** How often BOOKMARK events go out to watches that asked for them. */
  readonly bookmarkIntervalMs: number;
}

// Serialising one event once per served apiVersion keeps fan-out to many watchers cheap.
const lineCache = new WeakMap<StoredEvent, Map<string, string>>();

function cachedLine(event: StoredEvent, apiVersion: string, present: () => JsonObject): string {
  let byVersion = lineCache.get(event);
  if (byVersion === undefined) {
    byVersion = new Map();
    lineCache.set(event, byVersion);
  }
  let line = byVersion.get(apiVersion);
  if (line === undefined) {
    line = JSON.stringify({ type: event.type, object: present() });
    byVersion.set(apiVersion, line);
  }
  return line;
}

/**
 * Validates a watch request and returns a starter, so that errors (bad selectors, bad
 * resourceVersion) become HTTP errors before the 200 stream begins, as with kube-apiserver.
 *
 * Semantics follow kube: without `resourceVersion` (or with `0`) the stream opens with synthetic
 * ADDED events for the current objects; with a version it replays every later change, or sends an
 * ERROR event carrying a 410 `Expired` Status when that version has been compacted. An object that
 * stops matching the selectors is sent as DELETED (its previous state at the new version), one that
 * starts matching as ADDED.
 */
export function prepareWatch(
  server: ApiServer,
  def: ResourceDefinition,
  namespace: string | undefined,
  params: WatchParameters,
  timing: WatchTiming,
): (sink: WatchSink) => ResourceWatch {
  const selection: Selection = server.selection(def, params);
  const rvText = params.resourceVersion ?? '';
  if (rvText !== '' && !/^\d+$/.test(rvText)) {
    throw badRequestError(`invalid resource version: ${rvText}`);
  }
  const scope = def.namespaced ? namespace : undefined;
  const apiVersion = apiVersionOf(def);

  return (sink) => {
    let stopped = false;
    const timers: NodeJS.Timeout[] = [];
    // Filled in once the replay is done; a no-op until then.
    const subscription = {
      cancel: (): void => {
        // replaced by the real unsubscribe once the replay is done
      },
    };
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      subscription.cancel();
      for (const t of timers) clearInterval(t);
      sink.end();
    };
    const watch: ResourceWatch = { storageKey: def.storageKey, stop };

    const send = (event: StoredEvent): void => {
      if (stopped) return;
      if (scope !== undefined && event.namespace !== scope) return;
      const now = server.matches(def, selection, event.object);
      const previous = event.previous;
      const before = previous !== undefined && server.matches(def, selection, previous);
      let line: string | undefined;
      if (event.type === 'ADDED') {
        if (now) line = cachedLine(event, apiVersion, () => server.present(def, event.object));
      } else if (event.type === 'DELETED') {
        if (now) line = cachedLine(event, apiVersion, () => server.present(def, event.object));
      } else if (now && before) {
        line = cachedLine(event, apiVersion, () => server.present(def, event.object));
      } else if (now) {
        line = JSON.stringify({ type: 'ADDED', object: server.present(def, event.object) });
      } else if (before) {
        const gone = {
          ...previous,
          metadata: { ...metadataOf(previous), resourceVersion: String(event.resourceVersion) },
        };
        line = JSON.stringify({ type: 'DELETED', object: server.present(def, gone) });
      }
      if (line !== undefined) sink.write(line);
    };

    if (rvText === '' || rvText === '0') {
      for (const obj of server.store.list(def.storageKey, scope)) {
        if (server.matches(def, selection, obj)) {
          sink.write(JSON.stringify({ type: 'ADDED', object: server.present(def, obj) }));
        }
      }
    } else {
      const from = Number(rvText);
      const events = server.store.eventsAfter(def.storageKey, from);
      if (events === 'expired') {
        const error = expiredError(
          `too old resource version: ${from} (${server.store.compactedRevision + 1})`,
        );
        sink.write(
          JSON.stringify({ type: 'ERROR', object: statusObject(410, error.reason, error.message) }),
        );
        stopped = true;
        sink.end();
        return watch;
      }
      for (const event of events) send(event);
    }
    // Replay and subscription happen in one synchronous step, so no event can fall in between.
    subscription.cancel = server.store.subscribe(def.storageKey, send);

    if (params.allowWatchBookmarks === true) {
      const bookmark = (): void => {
        if (stopped) return;
        sink.write(
          JSON.stringify({
            type: 'BOOKMARK',
            object: {
              kind: def.kind,
              apiVersion,
              metadata: { resourceVersion: String(server.store.resourceVersion) },
            },
          }),
        );
      };
      const t = setInterval(bookmark, timing.bookmarkIntervalMs);
      t.unref();
      timers.push(t);
    }
    if (params.timeoutSeconds !== undefined && params.timeoutSeconds > 0) {
      const t = setTimeout(stop, params.timeoutSeconds * 1000);
      t.unref();
      timers.push(t);
    }
    return watch;
  };
}
