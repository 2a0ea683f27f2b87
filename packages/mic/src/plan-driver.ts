// The planners' driver: one planning pass over MIC's informers. `planAssignments` (or, for a few
// changed pods, `planChangedPods`) then `planIdentityDeltas`, and each target's delta handed to its
// lane. I/O-free: the lanes do the writes.
import {
  createAssignmentPlanner,
  planChangedPods,
  planIdentityDeltas,
  silentLogger,
  systemClock,
  type AzureAssignedIdentity,
  type Clock,
  type Logger,
} from '@pod-identity/core';
import type { OwnershipLedger } from '@pod-identity/core/kubernetes';
import type { LaneWork } from './lane-runner.js';
import type { MicInformers } from './mic-informers.js';
import type { MicMetrics } from './mic-metrics.js';
import type { PassRequest } from './pass-scheduler.js';
import { looseRecordSpec, rewritesOf } from './record-rewrites.js';
import type { SkipReporter } from './skip-reporter.js';

/** Where a pass hands its lanes' work (a {@link LaneExecutor} in MIC). */
export interface LaneSink {
  /** Sets and queues a lane's work. */
  submit(key: string, work: LaneWork): void;
  /** Drops a lane's pending work. */
  discard(key: string): void;
  /** The keys with pending work. */
  keys(): Iterable<string>;
}

/** Options of {@link createPlanDriver}. */
export interface PlanDriverOptions {
  /**
   * The cluster as cached. A pass plans only once every informer has listed successfully (until
   * then it plans nothing: ask for a full pass once they have).
   */
  informers: Pick<
    MicInformers,
    'pods' | 'nodes' | 'identities' | 'bindings' | 'assigned' | 'nodeProviderIds' | 'parseProblem'
  >;
  /** Which identities MIC added where (loaded): only those may be removed. */
  ledger: Pick<OwnershipLedger, 'snapshot'>;
  /** Client IDs never removed (`--immutable-user-msis` and the cluster identity). */
  immutable: readonly string[];
  /** `--forceNamespaced`. Default false. */
  forceNamespaced?: boolean;
  /** Where the lanes' work goes. */
  lanes: LaneSink;
  /** Reports what the planner left out. */
  skips: SkipReporter;
  /** MIC's metrics, if registered (`cycle_count`, `cycle_duration_seconds`). */
  metrics?: MicMetrics;
  /** Times the passes. Default the system clock. */
  clock?: Clock;
  /** Where passes are logged (debug). Default silent. */
  logger?: Logger;
}

/** Runs planning passes. */
export interface PlanDriver {
  /**
   * Plans what `request` asks for and submits the lanes' work; lanes whose target became steady are
   * discarded. Plans nothing while an informer has not yet listed successfully.
   */
  plan(request: PassRequest): void;
}

// Records someone else deleted are terminating: planned as if gone.
const live = (record: AzureAssignedIdentity | undefined): AzureAssignedIdentity | undefined =>
  record?.metadata.deletionTimestamp === undefined ? record : undefined;

/**
 * Creates a {@link PlanDriver}.
 * @param options - the informers, ledger, lanes and reporters
 * @returns the driver
 */
export function createPlanDriver(options: PlanDriverOptions): PlanDriver {
  const { informers, ledger, lanes, skips, metrics } = options;
  const { pods, nodes, identities, bindings, assigned } = informers;
  const views = [pods, nodes, identities, bindings, assigned] as const;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const forceNamespaced = options.forceNamespaced ?? false;
  const assignmentPlanner = createAssignmentPlanner({ forceNamespaced });
  // Scoped passes keep a planner of their own so as not to disturb the full passes' cached state.
  const scopedPlanner = createAssignmentPlanner({ forceNamespaced });

  const countPass = (startedMs: number): void => {
    metrics?.micCycleCount.inc();
    metrics?.micCycleDuration.observe((clock.now() - startedMs) / 1000);
  };

  /** Plans a few changed pods over only the targets they touch; false when a full pass is needed. */
  const scopedPass = (
    changed: NonNullable<PassRequest['scopedPods']>,
    startedMs: number,
  ): boolean => {
    const changedNodes = new Set<string>();
    for (const [podKey, nodesOfPod] of changed) {
      for (const nodeName of nodesOfPod) if (nodeName !== '') changedNodes.add(nodeName);
      for (const record of assigned.byIndex('byPod', podKey)) {
        const { nodename } = looseRecordSpec(record);
        if (nodename !== undefined) changedNodes.add(nodename);
      }
    }
    const result = planChangedPods(scopedPlanner, {
      changedNodes,
      nodeProviderIds: informers.nodeProviderIds,
      podsOnNode: (nodeName) => pods.byIndex('byNode', nodeName),
      recordsOnNode: (nodeName) =>
        assigned.byIndex('byNode', nodeName).filter((record) => live(record) !== undefined),
      findAssignedIdentity: (key) => live(assigned.get(key)),
      identities: identities.list(),
      bindings: bindings.list(),
      parseProblem: informers.parseProblem,
      owned: ledger.snapshot(),
      immutable: options.immutable,
    });
    if (result === undefined) return false;
    skips.report(result.plan.skipped, true);
    const updates = rewritesOf(result.plan);
    const queued = new Set<string>();
    for (const delta of result.deltas.targets) {
      queued.add(delta.target.key);
      lanes.submit(delta.target.key, { kind: 'target', delta, drift: false, updates });
    }
    // A touched target that became steady has nothing left to do; never run stale work.
    for (const key of result.targetKeys) if (!queued.has(key)) lanes.discard(key);
    if (queued.size > 0) {
      countPass(startedMs);
      log.debug(
        {
          durationMs: clock.now() - startedMs,
          pods: changed.length,
          targets: result.targetKeys.size,
          creates: result.plan.creates.length,
          updates: result.plan.updates.length,
          deletes: result.plan.deletes.length,
          lanes: queued.size,
        },
        'planned changed pods',
      );
    }
    return true;
  };

  const fullPass = (drift: boolean, startedMs: number): void => {
    // A record someone else deleted waits for MIC's finalizer: finish its deletion, and plan as if
    // it were gone (a pod that still needs it gets a new one once it is).
    const current: AzureAssignedIdentity[] = [];
    const terminating: AzureAssignedIdentity[] = [];
    for (const record of assigned.list()) {
      (record.metadata.deletionTimestamp === undefined ? current : terminating).push(record);
    }
    const plan = assignmentPlanner.plan({
      pods: pods.list(),
      identities: identities.list(),
      bindings: bindings.list(),
      parseProblem: informers.parseProblem,
      assignedIdentities: current,
      findAssignedIdentity: (key) => live(assigned.get(key)),
    });
    skips.report(plan.skipped);
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: informers.nodeProviderIds,
      owned: ledger.snapshot(),
      immutable: options.immutable,
      includeSteady: drift,
    });
    const updates = rewritesOf(plan);
    const keys = new Set<string>();
    const queue = (key: string, work: LaneWork): void => {
      keys.add(key);
      lanes.submit(key, work);
    };
    for (const delta of deltas.targets) {
      queue(delta.target.key, { kind: 'target', delta, drift, updates });
    }
    if (deltas.direct.assign.length > 0 || deltas.direct.release.length > 0) {
      queue('direct', { kind: 'direct', ...deltas.direct, updates });
    }
    for (const entry of deltas.unplaced) {
      queue(`unplaced/${entry.nodeName}`, { kind: 'unplaced', records: entry, updates });
    }
    if (terminating.length > 0) queue('terminating', { kind: 'terminating', records: terminating });
    // A lane whose target became steady has nothing left to do; never run stale work.
    for (const key of [...lanes.keys()]) if (!keys.has(key)) lanes.discard(key);
    if (keys.size > 0) {
      countPass(startedMs);
      log.debug(
        {
          durationMs: clock.now() - startedMs,
          desired: plan.desired.length,
          creates: plan.creates.length,
          updates: plan.updates.length,
          deletes: plan.deletes.length,
          lanes: keys.size,
        },
        'planned',
      );
    }
  };

  return {
    plan(request) {
      // Fail closed: an owned identity is removed when no desired record needs it, so a plan from a
      // view missing pods, bindings or nodes would remove what is still in use.
      if (!views.every((view) => view.hasSynced())) {
        log.debug({}, 'pass skipped: not every informer has listed yet');
        return;
      }
      if (request.scopedPods !== undefined && scopedPass(request.scopedPods, request.startedMs))
        return;
      fullPass(request.drift, request.startedMs);
    },
  };
}
