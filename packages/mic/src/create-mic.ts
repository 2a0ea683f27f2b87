import type { ComputeManagementClientOptionalParams } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import {
  EVENT_SOURCE_COMPONENT,
  createWorkQueue,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
  type WorkQueue,
} from '@pod-identity/core';
import { createIdentityAssigner, type IdentityAssigner } from '@pod-identity/core/arm';
import {
  createAssignedIdentityClient,
  createConfigMapOwnershipLedger,
  createEventRecorder,
  type EventRecorder,
  type KubeConnection,
  type OwnershipLedger,
} from '@pod-identity/core/kubernetes';
import type { Registry } from 'prom-client';
import { adoptGoMicAssignments } from './go-mic-adoption.js';
import { createLaneExecutor, type LaneExecutor } from './lane-executor.js';
import { createLaneRunner } from './lane-runner.js';
import {
  runLeaderElected,
  type MicLeaderElectionOptions,
  type MicOutcome,
} from './leader-lifecycle.js';
import { createMicInformers, type MicInformers } from './mic-informers.js';
import { createMicMetrics, type MicMetrics } from './mic-metrics.js';
import { createPassScheduler, type PassScheduler } from './pass-scheduler.js';
import { createPlanDriver } from './plan-driver.js';
import {
  createMicWriteLimiters,
  rateLimitedLedger,
  rateLimitedRecords,
} from './rate-limited-writes.js';
import { createRecordWriter, type RecordWriter } from './record-writer.js';
import { startResyncTimers } from './resync-timers.js';
import { createSkipReporter } from './skip-reporter.js';
import { watchForPasses } from './watch-for-passes.js';

export type { MicLeaderElectionOptions, MicOutcome } from './leader-lifecycle.js';

/** Options of {@link createMic}. */
export interface MicOptions {
  /**
   * Kubernetes API server connection: a lean `KubeConnection` (`loadKubeConnection`) or a client-node
   * `KubeConfig`. Every client of MIC's is on the lean JSON client, one keep-alive pool per
   * connection, so MIC does not load client-node.
   */
  kubeConfig: KubeConnection;
  /** Credential for ARM. */
  credential: TokenCredential;
  /** ARM endpoint. Default `https://management.azure.com`. */
  armEndpoint?: string;
  /** Options of every ARM client (TLS material, pipeline policies, user agent…). */
  armClientOptions?: ComputeManagementClientOptionalParams;
  /** MIC's own namespace (`MIC_POD_NAMESPACE`): where the ownership ledger lives. */
  namespace: string;
  /** `--forceNamespaced`. Default false. */
  forceNamespaced?: boolean;
  /** `--immutable-user-msis`: client IDs never removed. */
  immutableUserMsis?: readonly string[];
  /** azure.json `userAssignedIdentityID`: the cluster identity, also never removed. */
  clusterIdentityClientId?: string;
  /** Leader election, or `false` to act as leader at once (a single replica, tests). */
  leaderElection: MicLeaderElectionOptions | false;
  /** `--syncRetryDuration`: a full planning pass at least this often. Default 3600 s. */
  syncRetryIntervalMs?: number;
  /** `--identity-assignment-reconcile-interval`: drift re-add check. Default 3 min. */
  identityAssignmentReconcileIntervalMs?: number;
  /** `--update-user-msi-max-retry`. Default 2. */
  updateUserMsiMaxRetry?: number;
  /** `--update-user-msi-retry-interval`. Default 1 s. */
  updateUserMsiRetryIntervalMs?: number;
  /** `--createDeleteBatch`: concurrent record writes per target. Default 20. */
  createDeleteBatch?: number;
  /**
   * `--clientQps`: client-side limit on MIC's Kubernetes API writes per second, one token bucket for
   * record writes and one for the core writes (ownership-ledger ConfigMaps, events), as the original's
   * record client and clientset each had, with a burst of twice the rate (client-go's defaults: 5 and
   * 10). `Infinity` for none. Reads, watches and leader-election renewals are not limited (a starved
   * lease renewal would cost the lease). Default 5.
   */
  clientQps?: number;
  /** Poll interval of ARM long-running operations. Default 2 s. */
  armPollIntervalMs?: number;
  /**
   * How quiet the event stream must be before the planning pass runs. Default 5 ms: a burst of watch
   * events (events less than this apart) becomes one pass and one PATCH per scale set, and a lone
   * event costs 5 ms, small next to ARM.
   */
  coalesceWindowMs?: number;
  /** The longest a planning pass waits for a burst of events to end. Default 100 ms. */
  maxCoalesceMs?: number;
  /**
   * How long a change of an AzureAssignedIdentity (usually MIC's own write coming back through the
   * watch) waits before the planning pass it triggers. Default 1 s.
   */
  recordEchoDelayMs?: number;
  /**
   * `--adopt-go-mic-assignments`: when becoming leader, take into the ownership ledger the
   * user-assigned identities that records of the original (Go) MIC prove it assigned, so that they
   * are removed once no pod needs them ({@link adoptGoMicAssignments}). Default true.
   */
  adoptGoMicAssignments?: boolean;
  /** Where log lines go. Default silent. */
  logger?: Logger;
  /** Registry for the `aadpodidentity_*` metrics. Default: none registered. */
  registry?: Registry;
  /** Ownership ledger. Default ConfigMaps in {@link MicOptions.namespace}. */
  ledger?: OwnershipLedger;
  /** Identity assigner. Default one on `@azure/arm-compute` with the options above. */
  assigner?: IdentityAssigner;
  /** Event recorder. Default core/v1 Events from component `aadpodidentity.k8s.io`. */
  eventRecorder?: EventRecorder;
  /** Time source. */
  clock?: Clock;
}

/** A running Managed Identity Controller. */
export interface Mic {
  /** Starts campaigning (or working, without leader election). Resolves at once. */
  start(): void;
  /** Stops: ends work, releases the lease, flushes events. */
  stop(): Promise<void>;
  /** Resolves when the MIC ends: stopped, or leadership lost (the original then exits with 1). */
  readonly done: Promise<MicOutcome>;
  /** Whether this replica holds the lease. */
  isLeader(): boolean;
  /** Whether this replica is the leader with synced caches and a running loop (`/healthz` `Active`). */
  isActive(): boolean;
  /** Resolves once {@link Mic.isActive} is true. */
  whenActive(abortSignal?: AbortSignal): Promise<void>;
  /** Resolves when no planning pass or target lane is queued or running (delayed retries aside). */
  settled(): Promise<void>;
}

/** What every leadership term shares: connections, collaborators and settings. */
interface MicParts {
  readonly kubeConfig: KubeConnection;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MicMetrics | undefined;
  readonly records: ReturnType<typeof createAssignedIdentityClient>;
  readonly ledger: OwnershipLedger;
  readonly recorder: EventRecorder;
  readonly assigner: IdentityAssigner;
  readonly immutable: readonly string[];
  readonly coalesceWindowMs: number;
}

/** The ARM side: identity assigner with the `--update-user-msi-*` retries, timed in the metrics. */
function defaultAssigner(options: MicOptions, clock: Clock, metrics: MicMetrics | undefined) {
  return createIdentityAssigner({
    credential: options.credential,
    ...(options.armEndpoint === undefined ? {} : { endpoint: options.armEndpoint }),
    ...(options.armClientOptions === undefined ? {} : { clientOptions: options.armClientOptions }),
    pollIntervalMs: options.armPollIntervalMs ?? 2000,
    maxRefusalRetries: options.updateUserMsiMaxRetry ?? 2,
    refusalRetryIntervalMs: options.updateUserMsiRetryIntervalMs ?? 1000,
    clock,
    onOperation: (operation, durationMs, error) => {
      metrics?.cloudProviderOperationsDuration.observe(
        { operation_type: operation },
        durationMs / 1000,
      );
      if (error !== undefined)
        metrics?.cloudProviderOperationsErrors.inc({ operation_type: operation });
    },
  });
}

/** Builds the collaborators every leadership term uses (one shared, rate-limited connection). */
function createMicParts(options: MicOptions): MicParts {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const metrics = options.registry === undefined ? undefined : createMicMetrics(options.registry);
  // Every client below is on the lean JSON client, which keeps one keep-alive pool per connection.
  const kubeConfig = options.kubeConfig;
  const writeLimiters = createMicWriteLimiters(options.clientQps ?? 5);
  const recorder =
    options.eventRecorder ??
    createEventRecorder({
      kubeConfig,
      component: EVENT_SOURCE_COMPONENT,
      ...(options.leaderElection === false ? {} : { host: options.leaderElection.instance }),
      rateLimiter: writeLimiters.core,
      // As the original's client-go recorder: 25 events per object, then one per 5 minutes, so a
      // burst of pods on one binding does not become one event write per pod.
      spamFilter: { burst: 25, refillIntervalMs: 300_000 },
      onDropped: (object, type, reason) => {
        logger.debug({ kind: object.kind, name: object.name, type, reason }, 'event dropped');
      },
      onError: (error) => {
        logger.warn({ err: error }, 'failed to record event');
      },
    });
  return {
    kubeConfig,
    clock,
    logger,
    metrics,
    records: rateLimitedRecords(createAssignedIdentityClient(kubeConfig), writeLimiters.records),
    ledger:
      options.ledger ??
      rateLimitedLedger(
        createConfigMapOwnershipLedger({ kubeConfig, namespace: options.namespace }),
        writeLimiters.core,
      ),
    recorder,
    assigner: options.assigner ?? defaultAssigner(options, clock, metrics),
    immutable: [
      ...(options.immutableUserMsis ?? []),
      ...(options.clusterIdentityClientId === undefined || options.clusterIdentityClientId === ''
        ? []
        : [options.clusterIdentityClientId]),
    ],
    coalesceWindowMs: options.coalesceWindowMs ?? 5,
  };
}

/** Loads the ownership ledger, retrying; false if leadership ended first. Without it nothing may be removed. */
async function loadLedger(parts: MicParts, leadership: AbortSignal, log: Logger): Promise<boolean> {
  for (let attempt = 1; !leadership.aborted; attempt += 1) {
    try {
      await parts.ledger.load({ abortSignal: leadership });
      return true;
    } catch (error) {
      log.error({ err: error }, 'failed to load the ownership ledger, retrying');
      try {
        await parts.clock.sleep(Math.min(30_000, 500 * attempt), leadership);
      } catch {
        return false;
      }
    }
  }
  return false;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
}

/** The queues of the current leadership term, which `settled()` waits on. */
interface Term {
  readonly passes: WorkQueue;
  readonly lanes: LaneExecutor;
}

/**
 * Builds one leadership term's parts: writer, lanes, driver, scheduler. Its passes are wired to the
 * informers' events ({@link watchForPasses}) only once all of them have listed.
 */
function createTerm(
  options: MicOptions,
  parts: MicParts,
  informers: MicInformers,
  leadership: AbortSignal,
  log: Logger,
): Term & { scheduler: PassScheduler; writer: RecordWriter } {
  const { clock, metrics, recorder } = parts;
  const writer = createRecordWriter({
    records: parts.records,
    recorder,
    batch: options.createDeleteBatch ?? 20,
    ...(metrics === undefined ? {} : { metrics }),
    clock,
    logger: log,
  });
  const lanes = createLaneExecutor({
    run: createLaneRunner({
      assigner: parts.assigner,
      ledger: parts.ledger,
      writer,
      recorder,
      logger: log,
    }),
    clock,
    logger: log,
  });
  const driver = createPlanDriver({
    informers,
    ledger: parts.ledger,
    immutable: parts.immutable,
    forceNamespaced: options.forceNamespaced ?? false,
    lanes,
    skips: createSkipReporter({ recorder, logger: log }),
    ...(metrics === undefined ? {} : { metrics }),
    clock,
    logger: log,
  });
  const passes = createWorkQueue({
    concurrency: 1,
    clock,
    onFailure: (failure) => {
      log.error({ err: failure.error }, 'planning pass failed');
    },
    reconcile: async () => {
      const request = await scheduler.begin();
      if (request !== undefined) driver.plan(request);
    },
  });
  const coalesceWindowMs = parts.coalesceWindowMs;
  const scheduler = createPassScheduler({
    clock,
    coalesceWindowMs,
    maxCoalesceMs: Math.max(coalesceWindowMs, options.maxCoalesceMs ?? 100),
    recordEchoDelayMs: Math.max(coalesceWindowMs, options.recordEchoDelayMs ?? 1000),
    signal: leadership,
    enqueue: (delayMs) => {
      passes.addAfter('plan', delayMs);
    },
  });
  return { passes, lanes, scheduler, writer };
}

/**
 * Creates the Managed Identity Controller: informers → `planAssignments` → `planIdentityDeltas` →
 * one lane per scale set or VM (records `Created`, one GET and delta PATCH per target, records
 * `Assigned`, released records `Unassigned` and deleted). Events only mark the world dirty; a burst
 * of them yields one planning pass.
 *
 * It only wires parts a custom controller can also use alone: {@link createMicInformers} (the
 * cluster view), {@link createPassScheduler} (when to plan), {@link createPlanDriver} (the
 * planners), {@link createLaneExecutor} with {@link createLaneRunner} (ARM and records per target),
 * {@link createRecordWriter}, {@link startResyncTimers} and {@link runLeaderElected}.
 *
 * @param options - connections, flags and collaborators
 * @returns the controller; call `start()`
 */
export function createMic(options: MicOptions): Mic {
  const parts = createMicParts(options);
  const { clock, logger, metrics, recorder, coalesceWindowMs } = parts;
  const stopController = new AbortController();
  let active = false;
  let leader = false;
  let activeWaiters: (() => void)[] = [];
  let term: Term | undefined;
  let resolveDone: (outcome: MicOutcome) => void = () => undefined;
  const done = new Promise<MicOutcome>((resolve) => {
    resolveDone = resolve;
  });
  let started = false;
  let running: Promise<void> | undefined;

  const setActive = (value: boolean): void => {
    active = value;
    if (value) {
      const waiters = activeWaiters;
      activeWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  /** Everything that lives only while leading. */
  const lead = async (leadership: AbortSignal): Promise<void> => {
    const log = logger.child({ component: 'mic' });
    if (!(await loadLedger(parts, leadership, log))) return;
    const informers = createMicInformers({ kubeConfig: parts.kubeConfig, logger: log });
    const current = createTerm(options, parts, informers, leadership, log);
    term = current;
    try {
      await informers.start(leadership);
    } catch {
      // Leadership ended before the caches filled.
      await current.passes.stop();
      await current.lanes.stop();
      term = undefined;
      return;
    }
    // Only now: the informers list one after another (each retrying on its own schedule after a
    // failure), and a pass asked for by the first ones' list events would plan from a view without
    // the others (no pods yet: every owned identity looks unused and is removed).
    // The adoption runs here too, after every list and before the first pass, which may release a
    // Go MIC record whose pod is gone: after that nothing would show who assigned its identity.
    if (options.adoptGoMicAssignments !== false) {
      await adoptGoMicAssignments({
        ledger: parts.ledger,
        records: informers.assigned.list(),
        nodeProviderIds: informers.nodeProviderIds,
        immutable: parts.immutable,
        clock,
        logger: log,
        abortSignal: leadership,
      });
    }
    watchForPasses(informers, current.scheduler, current.writer);
    startResyncTimers(
      clock,
      [
        { everyMs: options.syncRetryIntervalMs ?? 3_600_000, run: current.scheduler.requestFull },
        {
          everyMs: options.identityAssignmentReconcileIntervalMs ?? 180_000,
          run: current.scheduler.requestDrift,
        },
      ],
      leadership,
    );
    current.scheduler.requestFull();
    setActive(true);
    log.info({}, 'sync loop started');
    await untilAborted(leadership);
    setActive(false);
    await current.passes.stop();
    await current.lanes.stop();
    term = undefined;
    await informers.stop();
    await recorder.flush();
  };

  const run = async (): Promise<void> => {
    metrics?.micNewLeaderElectionCount.inc();
    const outcome = await runLeaderElected({
      kubeConfig: parts.kubeConfig,
      leaderElection: options.leaderElection,
      lead,
      onLeading: (leading) => {
        leader = leading;
      },
      signal: stopController.signal,
      logger,
      clock,
    });
    resolveDone(outcome);
  };

  return {
    start() {
      if (started) return;
      started = true;
      running = run();
    },
    async stop() {
      stopController.abort();
      if (!started) resolveDone('stopped');
      await running;
      await recorder.flush();
    },
    done,
    isLeader: () => leader,
    isActive: () => active,
    whenActive: (abortSignal) =>
      active
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            activeWaiters.push(resolve);
            abortSignal?.addEventListener(
              'abort',
              () => {
                reject(abortSignal.reason as Error);
              },
              { once: true },
            );
          }),
    async settled() {
      // A pass can queue lanes and a lane's writes can schedule another pass: wait for both to rest.
      for (;;) {
        await clock.sleep(coalesceWindowMs + 1);
        await term?.passes.idle();
        await term?.lanes.idle();
        await clock.sleep(coalesceWindowMs + 1);
        if ((term?.passes.size() ?? 0) === 0 && (term?.lanes.size() ?? 0) === 0) return;
      }
    },
  };
}
