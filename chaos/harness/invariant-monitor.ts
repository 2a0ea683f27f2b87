/**
 * Invariants checked continuously while a scenario runs (every `intervalMs`, from the emulators' own
 * state), not only at its end:
 * - no identity that MIC did not add is removed from a scale set (identities assigned by hand before
 *   MIC ran are watched on every target);
 * - no record stays `Assigned` while its identity is absent from its node's scale set, for a pod that
 *   still needs it, longer than `assignedAbsentBoundMs`.
 * The third continuous invariant (no token for an identity the caller's labels do not bind) is
 * checked by the pod pollers (pod-poller.ts), which report here.
 *
 * @module
 */
import type { Sandbox } from '@pod-identity/testkit';
import {
  desiredPairs,
  identitiesBySelector,
  identitiesOnTargets,
  podViews,
  recordViews,
  targetOfNode,
} from './cluster-model.ts';

/** Options of {@link startInvariantMonitor}. */
export interface InvariantMonitorOptions {
  readonly sandbox: Sandbox;
  /** Identities assigned by hand, by lower-cased target id (lower-cased resource ids). */
  readonly handAssigned: ReadonlyMap<string, ReadonlySet<string>>;
  /** How long a needed record may be `Assigned` while its identity is absent. */
  readonly assignedAbsentBoundMs: number;
  /** Sampling interval. Default 50 ms. */
  readonly intervalMs?: number;
}

/** A running monitor. */
export interface InvariantMonitor {
  /** Every violation seen so far, with when. */
  violations(): readonly string[];
  /** Records a violation found elsewhere (the pod pollers). */
  report(violation: string): void;
  /** The longest time a needed record was seen `Assigned` while its identity was absent. */
  longestAssignedAbsentMs(): number;
  /**
   * The client IDs a pod's labels bound at any sample taken from `fromMs` to now (the pod named and
   * with this UID; bindings and identities as they were then), and now.
   */
  boundSince(podKey: string, uid: string, fromMs: number): Set<string>;
  /**
   * Why a client ID is not bound to a pod (for a violation's message): when it was last bound, what
   * changed then (the pod's label, or what its label selects), and how long before `sentMs`.
   */
  whyUnbound(podKey: string, uid: string, clientId: string, sentMs: number): string;
  /** Samples taken. */
  samples(): number;
  stop(): void;
}

/**
 * Starts sampling.
 * @param options - sandbox, hand-assigned identities, bound
 * @returns the monitor
 */
export function startInvariantMonitor(options: InvariantMonitorOptions): InvariantMonitor {
  const { sandbox } = options;
  const violations: string[] = [];
  const absentSince = new Map<string, number>();
  const reported = new Set<string>();
  let longest = 0;
  let samples = 0;
  const started = Date.now();
  const at = (): string => `+${((Date.now() - started) / 1000).toFixed(1)}s`;

  // Per pod (key and UID), the client IDs its labels bound and its label, each change with its time.
  interface Bound {
    readonly ids: Set<string>;
    readonly selector: string | undefined;
  }
  const boundHistory = new Map<string, (Bound & { atMs: number })[]>();
  const currentlyBound = (): Map<string, Bound> => {
    const bySelector = identitiesBySelector(sandbox);
    const bound = new Map<string, Bound>();
    for (const pod of podViews(sandbox).values()) {
      const ids =
        pod.live && pod.selector !== undefined
          ? (bySelector.get(pod.selector) ?? []).map((i) => i.clientId)
          : [];
      bound.set(`${pod.key}|${pod.uid}`, { ids: new Set(ids), selector: pod.selector });
    }
    return bound;
  };
  const recordBound = (now: number): void => {
    for (const [key, { ids, selector }] of currentlyBound()) {
      const history = boundHistory.get(key) ?? [];
      const last = history.at(-1);
      if (
        last === undefined ||
        last.selector !== selector ||
        last.ids.size !== ids.size ||
        [...ids].some((id) => !last.ids.has(id))
      ) {
        history.push({ atMs: now, ids, selector });
        boundHistory.set(key, history.slice(-50));
      }
    }
  };

  const sample = (): void => {
    samples += 1;
    const now = Date.now();
    recordBound(now);
    const onTargets = identitiesOnTargets(sandbox);
    for (const [target, hand] of options.handAssigned) {
      const present = new Set(onTargets.get(target) ?? []);
      for (const id of hand) {
        const key = `hand ${target} ${id}`;
        if (!present.has(id) && !reported.has(key)) {
          reported.add(key);
          violations.push(`${at()} identity assigned by hand was removed: ${id} from ${target}`);
        }
      }
    }
    const needed = new Map(
      desiredPairs(sandbox).map((p) => [`${p.podKey}|${p.nodeName}|${p.identityKey}`, p.podUid]),
    );
    const seen = new Set<string>();
    for (const record of recordViews(sandbox)) {
      if (record.state !== 'Assigned' || record.terminating) continue;
      const podUid = needed.get(`${record.podKey}|${record.nodeName}|${record.identityKey}`);
      const wanted =
        podUid !== undefined && (record.podUid === undefined || record.podUid === podUid);
      if (!wanted) continue;
      const target = targetOfNode(sandbox, record.nodeName);
      if (target === undefined) continue;
      if ((onTargets.get(target) ?? []).includes(record.resourceId)) continue;
      seen.add(record.key);
      const since = absentSince.get(record.key) ?? now;
      absentSince.set(record.key, since);
      const window = now - since;
      longest = Math.max(longest, window);
      const key = `absent ${record.key}`;
      if (window > options.assignedAbsentBoundMs && !reported.has(key)) {
        reported.add(key);
        violations.push(
          `${at()} record ${record.key} Assigned for ${String(window)} ms while ${record.resourceId} is absent from ${target}`,
        );
      }
    }
    for (const key of [...absentSince.keys()]) if (!seen.has(key)) absentSince.delete(key);
  };
  const timer = setInterval(sample, options.intervalMs ?? 50);
  return {
    violations: () => violations,
    report(violation) {
      violations.push(`${at()} ${violation}`);
    },
    longestAssignedAbsentMs: () => longest,
    boundSince(podKey, uid, fromMs) {
      const key = `${podKey}|${uid}`;
      const result = new Set(currentlyBound().get(key)?.ids ?? []);
      const history = boundHistory.get(key) ?? [];
      // The entry in force at fromMs is the last one at or before it; later ones all count.
      let start = 0;
      for (let i = 0; i < history.length; i += 1) if ((history[i]?.atMs ?? 0) <= fromMs) start = i;
      for (const entry of history.slice(start)) for (const id of entry.ids) result.add(id);
      return result;
    },
    whyUnbound(podKey, uid, clientId, sentMs) {
      const history = boundHistory.get(`${podKey}|${uid}`) ?? [];
      const lastBound = history.findLastIndex((entry) => entry.ids.has(clientId));
      const after = history[lastBound + 1];
      if (lastBound < 0 || after === undefined) return 'never bound it (in the last 50 changes)';
      const before = history[lastBound]!;
      const change =
        before.selector === after.selector
          ? `what aadpodidbinding=${String(after.selector)} selects changed (a binding edited or an identity deleted)`
          : `the pod was relabelled from ${String(before.selector)} to ${String(after.selector)}`;
      return `last bound until ${String(Math.round(sentMs - after.atMs))} ms before the request, when ${change}`;
    },
    samples: () => samples,
    stop() {
      clearInterval(timer);
      sample();
    },
  };
}
