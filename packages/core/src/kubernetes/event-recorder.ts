import { systemClock, type Clock } from '../work-queue/clock.js';
import { ValidationError } from '../errors/validation-error.js';
import { toKubernetesApiError } from './kubernetes-api-error.js';
import type { RateLimiter } from './rate-limiter.js';
import type { KubeConnection } from './kube-connection.js';
import { kubeHttpClientFor } from './kube-http-client.js';

/** The object an event is about. */
export interface EventObjectReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

/** `Normal` or `Warning`, as Kubernetes events are typed. */
export type EventType = 'Normal' | 'Warning';

/** Records Kubernetes events. Never throws and never blocks the caller: failures go to `onError`. */
export interface EventRecorder {
  /**
   * Records an event. Repeats of the same (object, type, reason, message) within the aggregation
   * window bump the existing event's `count` instead of creating a new one, like client-go.
   */
  event(object: EventObjectReference, type: EventType, reason: string, message: string): void;
  /** Resolves when every event recorded so far has been written (or failed). */
  flush(): Promise<void>;
}

/** Options of {@link createEventRecorder}. */
export interface EventRecorderOptions {
  /** API server connection: a client-node `KubeConfig` or a lean `KubeConnection`. */
  kubeConfig: KubeConnection;
  /** `source.component` of every event, e.g. `aadpodidentity.k8s.io`. */
  component: string;
  /** `source.host` / `reportingInstance`, e.g. the pod name. */
  host?: string;
  /** Repeats within this window are aggregated. Default 10 minutes. */
  aggregationWindowMs?: number;
  /** At most this many events written at once; more wait. Default 4. */
  concurrency?: number;
  /**
   * Per involved object and event type, at most `burst` events, then one more every
   * `refillIntervalMs`; the rest are dropped (and counted in `onDropped`). client-go's recorder,
   * which the original MIC and NMI used, applies this with burst 25 and 5 minutes, so that a burst of
   * pods on one binding costs the API server 25 event writes, not one per pod. Default: no limit.
   */
  spamFilter?: { burst: number; refillIntervalMs: number };
  /** Each API write (create or count update) first waits for this limiter (MIC's `--client-qps`). */
  rateLimiter?: RateLimiter;
  /** Told of each event the spam filter dropped. */
  onDropped?: (object: EventObjectReference, type: EventType, reason: string) => void;
  clock?: Clock;
  onError?: (error: unknown) => void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstMs: number;
  lastMs: number;
}

/**
 * Creates an event recorder writing `core/v1` Events.
 * @param options - connection, source component, aggregation
 * @returns the recorder
 */
export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const client = kubeHttpClientFor(options.kubeConfig);
  const eventsPath = (namespace: string): string =>
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
  const clock = options.clock ?? systemClock;
  const windowMs = options.aggregationWindowMs ?? 600_000;
  const concurrency = options.concurrency ?? 4;
  const seen = new Map<string, Seen>();
  const pending: (() => Promise<void>)[] = [];
  const inFlight = new Set<Promise<void>>();
  let sequence = 0;
  const spam = options.spamFilter;
  if (
    spam !== undefined &&
    (!Number.isInteger(spam.burst) || spam.burst < 1 || !(spam.refillIntervalMs > 0))
  ) {
    throw new ValidationError(
      'spamFilter',
      `burst must be a positive integer and refillIntervalMs positive, got ${JSON.stringify(spam)}`,
    );
  }
  const budgets = new Map<string, { tokens: number; updatedMs: number }>();
  /** Whether the spam filter lets one more event about this object and type through. */
  const admit = (object: EventObjectReference, type: EventType): boolean => {
    if (spam === undefined) return true;
    const key = `${object.apiVersion}/${object.kind}/${object.namespace}/${object.name}/${object.uid ?? ''}/${type}`;
    const now = clock.now();
    const budget = budgets.get(key) ?? { tokens: spam.burst, updatedMs: now };
    budget.tokens = Math.min(
      spam.burst,
      budget.tokens + (now - budget.updatedMs) / spam.refillIntervalMs,
    );
    budget.updatedMs = now;
    // Re-inserted so the map's order is least recently used first, for the bound below.
    budgets.delete(key);
    budgets.set(key, budget);
    if (budgets.size > 4096) {
      const oldest = budgets.keys().next();
      if (oldest.done !== true) budgets.delete(oldest.value);
    }
    if (budget.tokens < 1) return false;
    budget.tokens -= 1;
    return true;
  };

  const pump = (): void => {
    while (inFlight.size < concurrency && pending.length > 0) {
      const job = pending.shift();
      if (job === undefined) break;
      const run = job().catch((error: unknown) => {
        options.onError?.(error);
      });
      inFlight.add(run);
      void run.finally(() => {
        inFlight.delete(run);
        pump();
      });
    }
  };

  const write = async (
    object: EventObjectReference,
    type: EventType,
    reason: string,
    message: string,
    key: string,
  ): Promise<void> => {
    await options.rateLimiter?.acquire();
    const now = clock.now();
    const previous = seen.get(key);
    if (previous !== undefined && now - previous.firstMs < windowMs) {
      previous.count += 1;
      previous.lastMs = now;
      try {
        await client.request(
          'PUT',
          `${eventsPath(previous.namespace)}/${encodeURIComponent(previous.name)}`,
          { body: build(object, type, reason, message, previous) },
        );
        return;
      } catch {
        // The event may have been garbage-collected; write a fresh one below.
      }
    }
    sequence += 1;
    const entry: Seen = {
      name: `${object.name}.${now.toString(16)}${sequence.toString(16)}`,
      namespace: object.namespace,
      count: 1,
      firstMs: now,
      lastMs: now,
    };
    seen.set(key, entry);
    if (seen.size > 4096) {
      const oldest = seen.keys().next();
      if (oldest.done !== true) seen.delete(oldest.value);
    }
    try {
      await client.request('POST', eventsPath(object.namespace), {
        body: build(object, type, reason, message, entry),
      });
    } catch (error) {
      throw toKubernetesApiError(
        error,
        `create event ${reason} on ${object.kind} ${object.namespace}/${object.name}`,
      );
    }
  };

  const build = (
    object: EventObjectReference,
    type: EventType,
    reason: string,
    message: string,
    entry: Seen,
  ) => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: entry.name, namespace: entry.namespace },
    involvedObject: {
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: object.namespace,
      name: object.name,
      ...(object.uid === undefined ? {} : { uid: object.uid }),
      ...(object.resourceVersion === undefined ? {} : { resourceVersion: object.resourceVersion }),
    },
    type,
    reason,
    message,
    count: entry.count,
    firstTimestamp: new Date(entry.firstMs).toISOString(),
    lastTimestamp: new Date(entry.lastMs).toISOString(),
    source: {
      component: options.component,
      ...(options.host === undefined ? {} : { host: options.host }),
    },
    reportingComponent: options.component,
    ...(options.host === undefined ? {} : { reportingInstance: options.host }),
  });

  return {
    event(object, type, reason, message) {
      if (!admit(object, type)) {
        options.onDropped?.(object, type, reason);
        return;
      }
      const key = `${object.kind}/${object.namespace}/${object.name}/${type}/${reason}/${message}`;
      pending.push(() => write(object, type, reason, message, key));
      pump();
    },
    async flush() {
      while (pending.length > 0 || inFlight.size > 0) {
        await Promise.allSettled([...inFlight]);
      }
    },
  };
}
