import type { ComputeManagementClientOptionalParams } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  AssignedIdentityState,
  CrdKinds,
  EVENT_SOURCE_COMPONENT,
  GROUP_VERSION,
  POD_LABEL_KEY,
  createWorkQueue,
  exponentialBackoff,
  createAssignmentPlanner,
  planChangedPods,
  planIdentityDeltas,
  redactClientId,
  safeParseAzureAssignedIdentity,
  safeParseAzureIdentity,
  safeParseAzureIdentityBinding,
  systemClock,
  toAssignedIdentity,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type Clock,
  type DesiredAssignment,
  type IdentityTarget,
  type PlanSkip,
  type PlannerPod,
  type TargetDelta,
  type UnplacedRecords,
  type WorkQueue,
} from '@pod-identity/core';
import {
  CloudProviderError,
  createIdentityAssigner,
  type AssignResult,
  type IdentityAssigner,
} from '@pod-identity/core/azure';
import {
  createAssignedIdentityClient,
  createConfigMapOwnershipLedger,
  createEventRecorder,
  createInformer,
  createLeaderElector,
  createRateLimiter,
  customResourceSource,
  shareKubeConnections,
  nodeSource,
  podSource,
  type EventObjectReference,
  type EventRecorder,
  type KubernetesWireObject,
  type AssignedIdentityClient,
  type OwnershipLedger,
  type RateLimiter,
} from '@pod-identity/core/kubernetes';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from '@pod-identity/core';
import { createLenientProjection } from './lenient-projection.js';
import { bindingReference, planSkipEvent } from './plan-skip-event.js';
import { looseRecordSpec, rewritesOf, type RecordRewrites } from './record-rewrites.js';
import { createMicMetrics, type MicMetrics } from './mic-metrics.js';

/** Leader election settings (the `--leader-election-*` flags). */
export interface MicLeaderElectionOptions {
  /** Lease namespace. Default `default`. */
  namespace?: string;
  /** Lease name. Default `aad-pod-identity-mic`. */
  name?: string;
  /** This replica's identity. Default the hostname. */
  instance: string;
  /** Lease duration. Default 15 s. */
  leaseDurationMs?: number;
}

/** Options of {@link createMic}. */
export interface MicOptions {
  /** Kubernetes API server connection. */
  kubeConfig: KubeConfig;
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
   * `--clientQps`: client-side limit on MIC's Kubernetes API writes per second (record writes,
   * ownership-ledger writes, events), burst equal to the rate, as the original's client. `Infinity`
   * for none. Reads, watches and leader-election renewals are not limited (a starved lease renewal
   * would cost the lease). Default 5.
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

/** How a MIC run ended. */
export type MicOutcome = 'stopped' | 'lost-leadership';

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

interface NodeView {
  name: string;
  providerId: string;
}

interface TargetLaneWork {
  kind: 'target';
  delta: TargetDelta;
  drift: boolean;
  updates: RecordRewrites;
}
interface DirectLaneWork {
  kind: 'direct';
  assign: DesiredAssignment[];
  release: AzureAssignedIdentity[];
  updates: RecordRewrites;
}
interface UnplacedLaneWork {
  kind: 'unplaced';
  records: UnplacedRecords;
  updates: RecordRewrites;
}
interface TerminatingLaneWork {
  kind: 'terminating';
  records: AzureAssignedIdentity[];
}
type LaneWork = TargetLaneWork | DirectLaneWork | UnplacedLaneWork | TerminatingLaneWork;

/**
 * Up to this many pods changed since the last pass are planned over only the targets they touch;
 * beyond it (a burst spread over many targets) one full pass is cheaper than the scoped lookups.
 */
const MAX_SCOPED_PODS = 50;

class IdentitiesRefusedError extends Error {
  override readonly name = 'IdentitiesRefusedError';
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const failure: { error?: unknown; failed: boolean } = { failed: false };
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await fn(item);
      } catch (error) {
        if (!failure.failed) {
          failure.failed = true;
          failure.error = error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure.failed) {
    throw failure.error instanceof Error ? failure.error : new Error(String(failure.error));
  }
}

function labelsOf(raw: KubernetesWireObject): Record<string, string> {
  const labels = raw.metadata?.labels;
  return typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : {};
}

function projectPod(raw: KubernetesWireObject): PlannerPod | undefined {
  const name = raw.metadata?.name;
  const namespace = raw.metadata?.namespace;
  if (name === undefined || namespace === undefined) return undefined;
  const spec = raw.spec as { nodeName?: string } | undefined;
  const status = raw.status as { phase?: string } | undefined;
  const uid = raw.metadata?.uid;
  return {
    name,
    namespace,
    ...(typeof uid === 'string' && uid !== '' ? { uid } : {}),
    nodeName: spec?.nodeName ?? '',
    selector: labelsOf(raw)[POD_LABEL_KEY] ?? '',
    ...(status?.phase === undefined ? {} : { phase: status.phase }),
  };
}

function projectNode(raw: KubernetesWireObject): NodeView | undefined {
  const name = raw.metadata?.name;
  if (name === undefined) return undefined;
  const spec = raw.spec as { providerID?: string } | undefined;
  return { name, providerId: spec?.providerID ?? '' };
}

function recordRef(namespace: string, name: string): EventObjectReference {
  return { apiVersion: GROUP_VERSION, kind: CrdKinds.AzureAssignedIdentity.kind, namespace, name };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The record client with every write waiting for the `--clientQps` limiter first. */
function rateLimitedRecords(
  inner: AssignedIdentityClient,
  limiter: RateLimiter,
): AssignedIdentityClient {
  return {
    create: async (record, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.create(record, callOptions);
    },
    replace: async (record, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.replace(record, callOptions);
    },
    setState: async (namespace, name, state, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.setState(namespace, name, state, callOptions);
    },
    delete: async (namespace, name, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.delete(namespace, name, callOptions);
    },
  };
}

/** The ConfigMap ledger with each change waiting for the `--clientQps` limiter first. */
function rateLimitedLedger(inner: OwnershipLedger, limiter: RateLimiter): OwnershipLedger {
  return {
    load: (loadOptions) => inner.load(loadOptions),
    snapshot: () => inner.snapshot(),
    add: async (target, identities) => {
      if (identities.length > 0) await limiter.acquire();
      return inner.add(target, identities);
    },
    remove: async (target, identities) => {
      if (identities.length > 0) await limiter.acquire();
      return inner.remove(target, identities);
    },
  };
}

/**
 * Creates the Managed Identity Controller: informers → `planAssignments` → `planIdentityDeltas` →
 * one lane per scale set or VM (records `Created`, one GET and delta PATCH per target, records
 * `Assigned`, released records `Unassigned` and deleted). Events only mark the world dirty; a burst
 * of them yields one planning pass.
 *
 * @param options - connections, flags and collaborators
 * @returns the controller; call `start()`
 */
export function createMic(options: MicOptions): Mic {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const metrics: MicMetrics | undefined =
    options.registry === undefined ? undefined : createMicMetrics(options.registry);
  const createDeleteBatch = options.createDeleteBatch ?? 20;
  const coalesceWindowMs = options.coalesceWindowMs ?? 5;
  const recordEchoDelayMs = Math.max(coalesceWindowMs, options.recordEchoDelayMs ?? 1000);
  const maxCoalesceMs = Math.max(coalesceWindowMs, options.maxCoalesceMs ?? 100);
  const syncRetryIntervalMs = options.syncRetryIntervalMs ?? 3_600_000;
  const driftIntervalMs = options.identityAssignmentReconcileIntervalMs ?? 180_000;
  const immutable = [
    ...(options.immutableUserMsis ?? []),
    ...(options.clusterIdentityClientId === undefined || options.clusterIdentityClientId === ''
      ? []
      : [options.clusterIdentityClientId]),
  ];
  // One keep-alive pool for every client below: client-node would open a connection per request.
  const kubeConfig = shareKubeConnections(options.kubeConfig);
  const writeLimiter = createRateLimiter({ qps: options.clientQps ?? 5 });
  const records = rateLimitedRecords(createAssignedIdentityClient(kubeConfig), writeLimiter);
  const ledger =
    options.ledger ??
    rateLimitedLedger(
      createConfigMapOwnershipLedger({ kubeConfig, namespace: options.namespace }),
      writeLimiter,
    );
  const recorder =
    options.eventRecorder ??
    createEventRecorder({
      kubeConfig,
      component: EVENT_SOURCE_COMPONENT,
      ...(options.leaderElection === false ? {} : { host: options.leaderElection.instance }),
      rateLimiter: writeLimiter,
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
  const assigner =
    options.assigner ??
    createIdentityAssigner({
      credential: options.credential,
      ...(options.armEndpoint === undefined ? {} : { endpoint: options.armEndpoint }),
      ...(options.armClientOptions === undefined
        ? {}
        : { clientOptions: options.armClientOptions }),
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

  const stopController = new AbortController();
  let active = false;
  let leader = false;
  let activeWaiters: (() => void)[] = [];
  let planQueue: WorkQueue | undefined;
  let laneQueue: WorkQueue | undefined;
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
    const onInformerError = (what: string) => (error: unknown) => {
      log.warn({ err: error, informer: what }, 'watch failed, retrying');
    };
    // Objects that fail the strict parser are still cached (when they have a name), so the planner
    // leaves them out and reports them with an event instead of them vanishing; the log says why.
    const lenient = createLenientProjection((kind, raw, message) => {
      log.warn(
        { kind, namespace: raw.metadata?.namespace, name: raw.metadata?.name, reason: message },
        'ignoring invalid object',
      );
    });
    // Identities and bindings the strict parser refused are not planned with; records are read by
    // what the planner needs of them (one it cannot read is left alone, one that reads is cleaned up).
    const parseProblem = (object: AzureIdentity | AzureIdentityBinding): string | undefined =>
      lenient.parseProblem(object);

    // The ledger first: without it nothing may be removed.
    for (let attempt = 1; !leadership.aborted; attempt += 1) {
      try {
        await ledger.load({ abortSignal: leadership });
        break;
      } catch (error) {
        log.error({ err: error }, 'failed to load the ownership ledger, retrying');
        try {
          await clock.sleep(Math.min(30_000, 500 * attempt), leadership);
        } catch {
          return;
        }
      }
    }

    const pods = createInformer<PlannerPod, 'byNode'>({
      kubeConfig,
      ...podSource(kubeConfig),
      labelSelector: POD_LABEL_KEY,
      project: projectPod,
      indexes: { byNode: (pod) => [pod.nodeName] },
      onError: onInformerError('pods'),
    });
    const nodes = createInformer<NodeView>({
      kubeConfig,
      ...nodeSource(kubeConfig),
      project: projectNode,
      onError: onInformerError('nodes'),
    });
    const identities = createInformer<AzureIdentity>({
      kubeConfig,
      ...customResourceSource(kubeConfig, CrdKinds.AzureIdentity.plural),
      project: lenient.project('AzureIdentity', safeParseAzureIdentity),
      onError: onInformerError('azureidentities'),
    });
    const bindings = createInformer<AzureIdentityBinding>({
      kubeConfig,
      ...customResourceSource(kubeConfig, CrdKinds.AzureIdentityBinding.plural),
      project: lenient.project('AzureIdentityBinding', safeParseAzureIdentityBinding),
      onError: onInformerError('azureidentitybindings'),
    });
    const assigned = createInformer<AzureAssignedIdentity, 'byNode' | 'byPod'>({
      kubeConfig,
      ...customResourceSource(kubeConfig, CrdKinds.AzureAssignedIdentity.plural),
      project: lenient.project('AzureAssignedIdentity', safeParseAzureAssignedIdentity),
      // Records that failed the strict parser may lack these fields, or their spec.
      indexes: {
        byNode: (record) => {
          const { nodename } = looseRecordSpec(record);
          return nodename === undefined ? [] : [nodename];
        },
        byPod: (record) => {
          const { pod, podNamespace } = looseRecordSpec(record);
          return pod === undefined ? [] : [`${podNamespace ?? ''}/${pod}`];
        },
      },
      onError: onInformerError('azureassignedidentities'),
    });
    const informers = [pods, nodes, identities, bindings, assigned];
    // Nodes once seen keep their provider ID after deletion, so that records of a vanished node can
    // still be released from its scale set.
    const nodeProviderIds = new Map<string, string>();
    const rememberNode = (node: NodeView): void => {
      nodeProviderIds.set(node.name, node.providerId);
    };
    nodes.on('add', rememberNode);
    nodes.on('update', rememberNode);

    const assignmentPlanner = createAssignmentPlanner({
      forceNamespaced: options.forceNamespaced ?? false,
    });
    // Passes after pod changes alone plan only the scale sets and VMs those pods touch; they keep a
    // planner of their own so as not to disturb the full passes' cached state.
    const scopedPlanner = createAssignmentPlanner({
      forceNamespaced: options.forceNamespaced ?? false,
    });
    // Whether the next pass must be full (anything but pod changes happened), and otherwise the
    // pods changed since the last pass with the nodes they were and are on.
    let fullPassDue = true;
    const changedPods = new Map<string, Set<string>>();
    let driftRequested = false;
    // When the next planning pass is due (ms on the clock), or undefined when none is scheduled.
    let planDueAt: number | undefined;
    const laneWork = new Map<string, LaneWork>();
    // Records this leader marked Assigned, by record key, with what they were assigned for; forgotten
    // when the record goes, so a recreated record is assigned again.
    const assignedHere = new Map<string, string>();
    const isAssignedHere = (d: DesiredAssignment): boolean =>
      assignedHere.get(d.key) === assignKey(d);
    const reportedSkips = new Map<string, string>();

    const schedulePlanIn = (delayMs: number): void => {
      if (leadership.aborted) return;
      const dueAt = clock.now() + delayMs;
      if (planDueAt !== undefined && planDueAt <= dueAt) return;
      planDueAt = dueAt;
      planQueue?.addAfter('plan', delayMs);
    };
    // A burst is a run of events less than coalesceWindowMs apart: the pass waits for its end (but
    // never longer than maxCoalesceMs after its first event), so one burst gives one pass.
    let burstStartedAt: number | undefined;
    let lastEventAt = 0;
    const scheduleBurstPass = (): void => {
      lastEventAt = clock.now();
      burstStartedAt ??= lastEventAt;
      schedulePlanIn(coalesceWindowMs);
    };
    const schedulePlan = (): void => {
      fullPassDue = true;
      scheduleBurstPass();
    };
    const schedulePodChange = (pod: PlannerPod, old: PlannerPod | undefined): void => {
      const key = `${pod.namespace}/${pod.name}`;
      let nodesOfPod = changedPods.get(key);
      if (nodesOfPod === undefined) {
        nodesOfPod = new Set();
        changedPods.set(key, nodesOfPod);
      }
      nodesOfPod.add(pod.nodeName);
      if (old !== undefined) nodesOfPod.add(old.nodeName);
      scheduleBurstPass();
    };
    // Record changes are mostly the echo of MIC's own writes: replan, but without hurry, so that a
    // burst of record writes does not turn into a burst of planning passes.
    const scheduleRecordEcho = (): void => {
      fullPassDue = true;
      schedulePlanIn(recordEchoDelayMs);
    };

    /** Reports new skips; a full pass (`partial` false) also forgets the ones that went away. */
    const reportSkips = (skipped: PlanSkip[], partial = false): void => {
      const now = new Map<string, string>(partial ? reportedSkips : []);
      for (const skip of skipped) {
        const key = `${skip.reason}/${skip.kind}/${skip.object}`;
        now.set(key, skip.message);
        if (reportedSkips.get(key) === skip.message) continue;
        log.warn({ reason: skip.reason, kind: skip.kind, object: skip.object }, skip.message);
        const event = planSkipEvent(skip);
        if (event !== undefined)
          recorder.event(event.object, 'Warning', event.reason, skip.message);
      }
      reportedSkips.clear();
      for (const [key, message] of now) reportedSkips.set(key, message);
    };

    /**
     * Plans a few changed pods over only the targets they touch (`planChangedPods`); false when a
     * full pass is needed instead.
     */
    const scopedPass = (changed: [string, Set<string>][], startedMs: number): boolean => {
      const changedNodes = new Set<string>();
      for (const [podKey, nodesOfPod] of changed) {
        for (const nodeName of nodesOfPod) if (nodeName !== '') changedNodes.add(nodeName);
        for (const record of assigned.byIndex('byPod', podKey)) {
          const { nodename } = looseRecordSpec(record);
          if (nodename !== undefined) changedNodes.add(nodename);
        }
      }
      const live = (record: AzureAssignedIdentity | undefined) =>
        record?.metadata.deletionTimestamp === undefined ? record : undefined;
      const result = planChangedPods(scopedPlanner, {
        changedNodes,
        nodeProviderIds,
        podsOnNode: (nodeName) => pods.byIndex('byNode', nodeName),
        recordsOnNode: (nodeName) =>
          assigned.byIndex('byNode', nodeName).filter((record) => live(record) !== undefined),
        findAssignedIdentity: (key) => live(assigned.get(key)),
        identities: identities.list(),
        bindings: bindings.list(),
        parseProblem,
        owned: ledger.snapshot(),
        immutable,
      });
      if (result === undefined) return false;
      reportSkips(result.plan.skipped, true);
      const updates = rewritesOf(result.plan);
      const queued = new Set<string>();
      for (const delta of result.deltas.targets) {
        queued.add(delta.target.key);
        laneWork.set(delta.target.key, { kind: 'target', delta, drift: false, updates });
        laneQueue?.add(delta.target.key);
      }
      // A touched target that became steady has nothing left to do; never run stale work.
      for (const key of result.targetKeys) if (!queued.has(key)) laneWork.delete(key);
      if (queued.size > 0) {
        metrics?.micCycleCount.inc();
        metrics?.micCycleDuration.observe((clock.now() - startedMs) / 1000);
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

    const planPass = async (): Promise<void> => {
      planDueAt = undefined;
      if (burstStartedAt !== undefined) {
        // Timers run before the event loop reads sockets: when this process was descheduled for a
        // while (a busy machine), the coalescing timer is already due although the rest of the burst
        // sits unread in the watch sockets. One I/O turn first, so that "quiet" means nothing
        // arrived, not nothing read yet (else one burst becomes two passes and two PATCHes).
        await new Promise<void>((resolve) => {
          setImmediate(resolve);
        });
      }
      const startedMs = clock.now();
      const quietMs = startedMs - lastEventAt;
      if (
        burstStartedAt !== undefined &&
        quietMs < coalesceWindowMs &&
        startedMs - burstStartedAt < maxCoalesceMs
      ) {
        schedulePlanIn(coalesceWindowMs - quietMs);
        return;
      }
      burstStartedAt = undefined;
      const drift = driftRequested;
      driftRequested = false;
      const scoped = !fullPassDue && !drift && changedPods.size <= MAX_SCOPED_PODS;
      const changed = [...changedPods];
      fullPassDue = false;
      changedPods.clear();
      if (scoped && scopedPass(changed, startedMs)) return;
      // A record someone else deleted waits for MIC's finalizer: finish its deletion, and plan as if
      // it were gone (a pod that still needs it gets a new one once it is).
      const live: AzureAssignedIdentity[] = [];
      const terminating: AzureAssignedIdentity[] = [];
      for (const record of assigned.list()) {
        (record.metadata.deletionTimestamp === undefined ? live : terminating).push(record);
      }
      const plan = assignmentPlanner.plan({
        pods: pods.list(),
        identities: identities.list(),
        bindings: bindings.list(),
        parseProblem,
        assignedIdentities: live,
        findAssignedIdentity: (key) => {
          const record = assigned.get(key);
          return record?.metadata.deletionTimestamp === undefined ? record : undefined;
        },
      });
      reportSkips(plan.skipped);
      const deltas = planIdentityDeltas({
        plan,
        nodeProviderIds,
        owned: ledger.snapshot(),
        immutable,
        includeSteady: drift,
      });
      const updates = rewritesOf(plan);
      const keys = new Set<string>();
      const queue = (key: string, work: LaneWork): void => {
        keys.add(key);
        laneWork.set(key, work);
        laneQueue?.add(key);
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
      if (terminating.length > 0)
        queue('terminating', { kind: 'terminating', records: terminating });
      // A lane whose target became steady has nothing left to do; never run stale work.
      for (const key of [...laneWork.keys()]) if (!keys.has(key)) laneWork.delete(key);
      if (keys.size > 0) {
        metrics?.micCycleCount.inc();
        metrics?.micCycleDuration.observe((clock.now() - startedMs) / 1000);
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

    const assignKey = (d: DesiredAssignment): string =>
      `${d.key}|${d.podUid ?? ''}|${d.nodeName}|${d.identity.metadata.resourceVersion ?? ''}|${d.binding.metadata.resourceVersion ?? ''}`;

    /** Makes sure each record exists in state Created (POST new ones, PUT moved ones). */
    const ensureRecords = async (
      assign: readonly DesiredAssignment[],
      updates: RecordRewrites,
    ): Promise<void> => {
      await forEachLimit(assign, createDeleteBatch, async (d) => {
        if (d.current !== undefined) return;
        const current = updates.get(d.key);
        const startedMs = clock.now();
        try {
          if (current === undefined) {
            await records.create(toAssignedIdentity(d));
            metrics?.assignedIdentityAdditionCount.inc();
            metrics?.assignedIdentityAdditionDuration.observe((clock.now() - startedMs) / 1000);
          } else {
            await records.replace(toAssignedIdentity(d, current));
            metrics?.assignedIdentityUpdateCount.inc();
            metrics?.assignedIdentityUpdateDuration.observe((clock.now() - startedMs) / 1000);
          }
        } catch (error) {
          const status = (error as { statusCode?: number }).statusCode;
          // Already there: an earlier pass wrote it and the cache has not caught up.
          if (current === undefined && status === 409) return;
          metrics?.kubernetesApiOperationsErrors.inc({
            operation_type:
              current === undefined ? 'assigned_identity_addition' : 'assigned_identity_update',
          });
          const verb = current === undefined ? 'create' : 'update';
          recorder.event(
            bindingReference(d.binding),
            'Warning',
            'binding apply error',
            `failed to ${verb} AzureAssignedIdentity ${d.namespace}/${d.name} for pod ${d.podNamespace}/${d.podName}, error: ${messageOf(error)}`,
          );
          throw error;
        }
      });
    };

    const markAssigned = async (assign: readonly DesiredAssignment[]): Promise<void> => {
      await forEachLimit(assign, createDeleteBatch, async (d) => {
        if ((d.current?.status?.status ?? '') === AssignedIdentityState.Assigned) return;
        // Already marked by this leader; the cache has not caught up yet.
        if (isAssignedHere(d)) return;
        try {
          await records.setState(d.namespace, d.name, AssignedIdentityState.Assigned);
        } catch (error) {
          metrics?.kubernetesApiOperationsErrors.inc({
            operation_type: 'update_azure_assigned_identity_status',
          });
          recorder.event(
            recordRef(d.namespace, d.name),
            'Warning',
            'status update error',
            `failed to update AzureAssignedIdentity ${d.namespace}/${d.name} status to ${AssignedIdentityState.Assigned} for pod ${d.podNamespace}/${d.podName}, error: ${messageOf(error)}`,
          );
          throw error;
        }
        assignedHere.set(d.key, assignKey(d));
        recorder.event(
          bindingReference(d.binding),
          'Normal',
          'binding applied',
          `Binding ${d.binding.metadata.name} applied on node ${d.nodeName} for pod ${d.name}`,
        );
        log.info(
          {
            namespace: d.podNamespace,
            pod: d.podName,
            node: d.nodeName,
            identity: d.identity.spec.resourceID,
            clientId: redactClientId(d.identity.spec.clientID ?? ''),
          },
          'identity assigned',
        );
      });
    };

    const releaseRecords = async (
      release: readonly AzureAssignedIdentity[],
      withUnassigned: boolean,
      event?: (record: AzureAssignedIdentity) => void,
    ): Promise<void> => {
      await forEachLimit(release, createDeleteBatch, async (record) => {
        const namespace = record.metadata.namespace ?? '';
        const name = record.metadata.name;
        const startedMs = clock.now();
        try {
          if (withUnassigned) {
            await records
              .setState(namespace, name, AssignedIdentityState.Unassigned)
              .catch((error: unknown) => {
                // A record already gone needs no state; one the API server will not take the state
                // on (422) is deleted all the same, since `Unassigned` only tells readers what is
                // coming, as the original deleted records without it when its patch failed.
                const status = (error as { statusCode?: number }).statusCode;
                if (status === 422) {
                  log.warn(
                    { record: `${namespace}/${name}`, err: error },
                    'deleting without Unassigned',
                  );
                } else if (status !== 404) throw error;
              });
          }
          await records.delete(namespace, name);
        } catch (error) {
          metrics?.kubernetesApiOperationsErrors.inc({
            operation_type: 'assigned_identity_deletion',
          });
          throw error;
        }
        metrics?.assignedIdentityDeletionCount.inc();
        metrics?.assignedIdentityDeletionDuration.observe((clock.now() - startedMs) / 1000);
        event?.(record);
        // Terminating records are released whatever their spec holds: read it loosely.
        const spec = looseRecordSpec(record);
        log.info(
          {
            namespace: spec.podNamespace,
            pod: spec.pod,
            node: spec.nodename,
            record: `${namespace}/${name}`,
          },
          'assigned identity released',
        );
      });
    };

    const runTargetLane = async (work: TargetLaneWork, abortSignal: AbortSignal): Promise<void> => {
      const { delta, drift } = work;
      const target: IdentityTarget = delta.target;
      const tlog = log.child({ target: target.name, kind: target.kind });
      await ensureRecords(delta.assign, work.updates);
      const skipArm = !drift && delta.remove.length === 0 && delta.assign.every(isAssignedHere);
      let result: AssignResult | undefined;
      if (!skipArm && (delta.ensure.length > 0 || delta.remove.length > 0)) {
        try {
          result = await assigner.apply(
            target,
            { ensure: delta.ensure, remove: delta.remove },
            { abortSignal, beforeAdd: (ids) => ledger.add(target, ids) },
          );
        } catch (error) {
          if (CloudProviderError.is(error) && error.statusCode === 404) {
            // The scale set or VM is gone: nothing can be assigned or removed there any more.
            tlog.warn({ err: error }, 'identity target not found; releasing its records');
            await ledger.remove(
              target,
              [...(ledger.snapshot().get(target.key)?.values() ?? [])].map((o) => ({
                resourceId: o.resourceId,
                key: o.resourceId.toLowerCase(),
                clientId: o.clientId,
              })),
            );
            await releaseRecords(delta.release, false);
            return;
          }
          tlog.warn({ err: error }, 'failed to update identities of the target');
          for (const d of delta.assign) {
            recorder.event(
              bindingReference(d.binding),
              'Warning',
              'binding apply error',
              `failed to apply binding ${d.binding.metadata.namespace ?? ''}/${d.binding.metadata.name} node ${d.nodeName} for pod ${d.podNamespace}/${d.podName}, error: ${messageOf(error)}`,
            );
          }
          throw error;
        }
        // Forget removed identities, and owned ones that someone else already took off.
        await ledger.remove(
          target,
          delta.remove.filter((ref) => !result?.present.has(ref.key)),
        );
        if (result.patches > 0) {
          tlog.info(
            {
              added: result.added.length,
              removed: result.removed.length,
              refused: result.refused.length,
              patches: result.patches,
            },
            'identities updated',
          );
        }
      }
      for (const kept of delta.kept) {
        tlog.debug(
          { identity: kept.identity.resourceId, reason: kept.reason, usedBy: kept.usedBy },
          'identity kept',
        );
      }
      const refusedMessages = new Map(
        result?.refused.map((r) => [r.identity.key, `${r.armCode}: ${r.message}`]) ?? [],
      );
      const ready = delta.assign.filter((d) => {
        const key = (d.identity.spec.resourceID ?? '').toLowerCase();
        return result === undefined || result.present.has(key);
      });
      const refused = delta.assign.filter((d) => !ready.includes(d));
      for (const d of refused) {
        const key = (d.identity.spec.resourceID ?? '').toLowerCase();
        recorder.event(
          bindingReference(d.binding),
          'Warning',
          'binding apply error',
          `failed to apply binding ${d.binding.metadata.namespace ?? ''}/${d.binding.metadata.name} node ${d.nodeName} for pod ${d.podNamespace}/${d.podName}, error: ${refusedMessages.get(key) ?? 'identity not present on the target after the update'}`,
        );
      }
      await markAssigned(ready);
      await releaseRecords(delta.release, true);
      if (refused.length > 0) {
        throw new IdentitiesRefusedError(
          `${refused.length} identities could not be assigned to ${target.name}; records stay Created`,
        );
      }
    };

    const runDirectLane = async (work: DirectLaneWork): Promise<void> => {
      await ensureRecords(work.assign, work.updates);
      await markAssigned(work.assign);
      await releaseRecords(work.release, true);
    };

    const runUnplacedLane = async (work: UnplacedLaneWork): Promise<void> => {
      const { records: entry } = work;
      await ensureRecords(entry.waiting, work.updates);
      if (entry.waiting.length > 0) {
        log.warn({ node: entry.nodeName, problem: entry.problem }, entry.message);
        for (const d of entry.waiting) {
          recorder.event(
            bindingReference(d.binding),
            'Warning',
            'binding apply error',
            `failed to apply binding ${d.binding.metadata.namespace ?? ''}/${d.binding.metadata.name} node ${d.nodeName} for pod ${d.podNamespace}/${d.podName}, error: ${entry.message}`,
          );
        }
      }
      await releaseRecords(entry.release, false, (record) => {
        recorder.event(
          {
            apiVersion: GROUP_VERSION,
            kind: CrdKinds.AzureIdentityBinding.kind,
            namespace: record.spec.azureBindingRef.metadata.namespace ?? '',
            name: record.spec.azureBindingRef.metadata.name,
          },
          'Normal',
          'binding removed',
          `Binding ${record.spec.azureBindingRef.metadata.name} removed from node ${entry.nodeName} for pod ${record.spec.pod}`,
        );
      });
    };

    const lanes = createWorkQueue({
      backoff: exponentialBackoff({ initialDelayMs: 500, maxDelayMs: 300_000 }),
      clock,
      onFailure: (failure) => {
        log.warn(
          {
            lane: failure.key,
            attempt: failure.attempt,
            retryInMs: failure.retryInMs,
            err: failure.error,
          },
          'lane failed',
        );
      },
      reconcile: async (key, abortSignal) => {
        const work = laneWork.get(key);
        if (work === undefined) return;
        switch (work.kind) {
          case 'target':
            await runTargetLane(work, abortSignal);
            break;
          case 'direct':
            await runDirectLane(work);
            break;
          case 'unplaced':
            await runUnplacedLane(work);
            break;
          case 'terminating':
            await releaseRecords(work.records, false);
            break;
        }
        if (laneWork.get(key) === work) laneWork.delete(key);
      },
    });
    const planner = createWorkQueue({
      concurrency: 1,
      clock,
      onFailure: (failure) => {
        log.error({ err: failure.error }, 'planning pass failed');
      },
      reconcile: planPass,
    });
    laneQueue = lanes;
    planQueue = planner;

    const podChanged = (pod: PlannerPod, old: PlannerPod | undefined): void => {
      if (
        old?.nodeName !== pod.nodeName ||
        old.uid !== pod.uid ||
        old.selector !== pod.selector ||
        old.phase !== pod.phase
      ) {
        schedulePodChange(pod, old);
      }
    };
    pods.on('add', (pod) => {
      schedulePodChange(pod, undefined);
    });
    pods.on('update', podChanged);
    pods.on('delete', (pod) => {
      schedulePodChange(pod, undefined);
    });
    nodes.on('add', schedulePlan);
    nodes.on('update', (node, old) => {
      if (old?.providerId !== node.providerId) schedulePlan();
    });
    nodes.on('delete', schedulePlan);
    for (const informer of [identities, bindings]) {
      informer.on('add', schedulePlan);
      informer.on('update', schedulePlan);
      informer.on('delete', schedulePlan);
    }
    assigned.on('add', scheduleRecordEcho);
    assigned.on('update', scheduleRecordEcho);
    assigned.on('delete', (record) => {
      assignedHere.delete(`${record.metadata.namespace ?? ''}/${record.metadata.name}`);
      scheduleRecordEcho();
    });

    try {
      await Promise.all(informers.map((informer) => informer.start(leadership)));
    } catch {
      await Promise.all(informers.map((informer) => informer.stop()));
      return;
    }
    const timers = [
      setInterval(schedulePlan, syncRetryIntervalMs),
      setInterval(() => {
        driftRequested = true;
        schedulePlan();
      }, driftIntervalMs),
    ];
    for (const timer of timers) timer.unref();
    schedulePlan();
    setActive(true);
    log.info({}, 'sync loop started');

    await new Promise<void>((resolve) => {
      if (leadership.aborted) resolve();
      else {
        leadership.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
      }
    });
    setActive(false);
    for (const timer of timers) clearInterval(timer);
    await planner.stop();
    await lanes.stop();
    planQueue = undefined;
    laneQueue = undefined;
    await Promise.all(informers.map((informer) => informer.stop()));
    await recorder.flush();
  };

  const run = async (): Promise<void> => {
    metrics?.micNewLeaderElectionCount.inc();
    if (options.leaderElection === false) {
      leader = true;
      await lead(stopController.signal);
      leader = false;
      resolveDone('stopped');
      return;
    }
    const election = options.leaderElection;
    const elector = createLeaderElector({
      kubeConfig,
      namespace: election.namespace ?? 'default',
      name: election.name ?? 'aad-pod-identity-mic',
      identity: election.instance,
      leaseDurationMs: election.leaseDurationMs ?? 15_000,
      clock,
      onError: (error) => {
        logger.warn({ err: error }, 'leader election attempt failed');
      },
    });
    let leading: Promise<void> | undefined;
    const outcome = await elector.run(
      {
        onStartedLeading: (leadership) => {
          leader = true;
          logger.info({ instance: election.instance }, 'became leader');
          leading = lead(leadership).catch((error: unknown) => {
            logger.error({ err: error }, 'leader loop failed');
          });
        },
        onStoppedLeading: () => {
          logger.error({ instance: election.instance }, 'lost leader lease');
        },
        onNewLeader: (identity) => {
          logger.info({ leader: identity }, 'new leader elected');
        },
      },
      stopController.signal,
    );
    leader = false;
    await leading;
    resolveDone(outcome === 'lost' ? 'lost-leadership' : 'stopped');
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
        await planQueue?.idle();
        await laneQueue?.idle();
        await clock.sleep(coalesceWindowMs + 1);
        if ((planQueue?.size() ?? 0) === 0 && (laneQueue?.size() ?? 0) === 0) return;
      }
    },
  };
}
