// When MIC plans: cluster changes only mark the world dirty, and a burst of them becomes one planning
// pass. Pod changes alone make a scoped pass (only the targets those pods touch) possible.
import type { Clock, PlannerPod } from '@pod-identity/core';

/**
 * Up to this many pods changed since the last pass are planned over only the targets they touch;
 * beyond it (a burst spread over many targets) one full pass is cheaper than the scoped lookups.
 */
export const MAX_SCOPED_PODS = 50;

/** Options of {@link createPassScheduler}. */
export interface PassSchedulerOptions {
  /** Time source (a manual clock in tests). */
  clock: Clock;
  /** How quiet the event stream must be before a pass runs (`MicOptions.coalesceWindowMs`). */
  coalesceWindowMs: number;
  /** The longest a pass waits for a burst to end (`MicOptions.maxCoalesceMs`). */
  maxCoalesceMs: number;
  /** How long a record change waits before the pass it triggers (`MicOptions.recordEchoDelayMs`). */
  recordEchoDelayMs: number;
  /** The most changed pods a scoped pass takes. Default {@link MAX_SCOPED_PODS}. */
  maxScopedPods?: number;
  /**
   * Asks for a pass in `delayMs` (MIC queues the key `plan` with `WorkQueue.addAfter`); the pass then
   * calls {@link PassScheduler.begin}. Never called once `signal` aborted.
   */
  enqueue(delayMs: number): void;
  /** Ends scheduling (leadership lost). */
  signal?: AbortSignal;
}

/** What a planning pass is to do. */
export interface PassRequest {
  /** When the pass started (clock ms). */
  readonly startedMs: number;
  /** Whether steady targets are to be re-checked against ARM too (the drift timer). */
  readonly drift: boolean;
  /**
   * When only a few pods changed: each changed pod (`namespace/name`) with the nodes it was and is
   * on, for a scoped pass. `undefined`: a full pass is due.
   */
  readonly scopedPods: readonly (readonly [string, ReadonlySet<string>])[] | undefined;
}

/**
 * Decides when planning passes run and what they cover. Changes are reported to it; it asks for a
 * pass through `enqueue` and, when the pass begins, says what to plan.
 */
export interface PassScheduler {
  /** Something other than a pod changed (identity, binding, node, ledger, timer): a full pass is due. */
  readonly requestFull: () => void;
  /** The drift timer fired: the next pass is full and re-checks steady targets. */
  readonly requestDrift: () => void;
  /** A pod was added, deleted, or changed in a way that matters (see {@link podMatters}). */
  podChanged(pod: PlannerPod, old: PlannerPod | undefined): void;
  /** A record changed: usually MIC's own write coming back, so a full pass, but without hurry. */
  readonly recordChanged: () => void;
  /**
   * Called when a pass starts: what to plan, or `undefined` when the burst is still going (another
   * pass has then been asked for).
   */
  begin(): Promise<PassRequest | undefined>;
}

/**
 * Whether a pod update changes anything a plan reads (node, uid, binding selector, phase).
 * @param pod - the pod now
 * @param old - the pod before
 * @returns true if the update should schedule a pass
 */
export function podMatters(pod: PlannerPod, old: PlannerPod | undefined): boolean {
  return (
    old?.nodeName !== pod.nodeName ||
    old.uid !== pod.uid ||
    old.selector !== pod.selector ||
    old.phase !== pod.phase
  );
}

const nextIoTurn = (): Promise<void> =>
  new Promise<void>((resolve) => {
    setImmediate(resolve);
  });

/**
 * Creates a {@link PassScheduler}. A burst is a run of changes less than `coalesceWindowMs` apart:
 * the pass waits for its end, but never longer than `maxCoalesceMs` after its first change, so one
 * burst gives one pass (and one PATCH per scale set).
 *
 * @param options - windows, clock and how to ask for a pass
 * @returns the scheduler
 */
export function createPassScheduler(options: PassSchedulerOptions): PassScheduler {
  const { clock, coalesceWindowMs, maxCoalesceMs, recordEchoDelayMs } = options;
  const maxScopedPods = options.maxScopedPods ?? MAX_SCOPED_PODS;
  // Whether the next pass must be full, and otherwise the pods changed since the last pass with the
  // nodes they were and are on.
  let fullPassDue = true;
  const changedPods = new Map<string, Set<string>>();
  let driftRequested = false;
  // When the next pass is due (clock ms), or undefined when none is asked for.
  let planDueAt: number | undefined;
  let burstStartedAt: number | undefined;
  let lastEventAt = 0;

  const scheduleIn = (delayMs: number): void => {
    if (options.signal?.aborted === true) return;
    const dueAt = clock.now() + delayMs;
    if (planDueAt !== undefined && planDueAt <= dueAt) return;
    planDueAt = dueAt;
    options.enqueue(delayMs);
  };
  const burstEvent = (): void => {
    lastEventAt = clock.now();
    burstStartedAt ??= lastEventAt;
    scheduleIn(coalesceWindowMs);
  };
  const requestFull = (): void => {
    fullPassDue = true;
    burstEvent();
  };

  return {
    requestFull,
    requestDrift() {
      driftRequested = true;
      requestFull();
    },
    podChanged(pod, old) {
      const key = `${pod.namespace}/${pod.name}`;
      let nodesOfPod = changedPods.get(key);
      if (nodesOfPod === undefined) {
        nodesOfPod = new Set();
        changedPods.set(key, nodesOfPod);
      }
      nodesOfPod.add(pod.nodeName);
      if (old !== undefined) nodesOfPod.add(old.nodeName);
      burstEvent();
    },
    recordChanged() {
      fullPassDue = true;
      scheduleIn(recordEchoDelayMs);
    },
    async begin() {
      planDueAt = undefined;
      if (burstStartedAt !== undefined) {
        // Timers run before the event loop reads sockets: when this process was descheduled for a
        // while (a busy machine), the coalescing timer is already due although the rest of the burst
        // sits unread in the watch sockets. One I/O turn first, so that "quiet" means nothing
        // arrived, not nothing read yet (else one burst becomes two passes and two PATCHes).
        await nextIoTurn();
      }
      const startedMs = clock.now();
      const quietMs = startedMs - lastEventAt;
      if (
        burstStartedAt !== undefined &&
        quietMs < coalesceWindowMs &&
        startedMs - burstStartedAt < maxCoalesceMs
      ) {
        scheduleIn(coalesceWindowMs - quietMs);
        return undefined;
      }
      burstStartedAt = undefined;
      const drift = driftRequested;
      driftRequested = false;
      const scoped = !fullPassDue && !drift && changedPods.size <= maxScopedPods;
      const changed = [...changedPods];
      fullPassDue = false;
      changedPods.clear();
      return { startedMs, drift, scopedPods: scoped ? changed : undefined };
    },
  };
}
