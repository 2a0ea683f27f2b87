import type { ComputeManagementClientOptionalParams } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  createAssignmentPlanner,
  createWorkQueue,
  nodeTarget,
  planIdentityDeltas,
  systemClock,
  type AzureAssignedIdentity,
  type PlannerPod,
  type WorkQueue,
} from '@pod-identity/core';
import { createIdentityAssigner } from '@pod-identity/core/arm';
import {
  createAssignedIdentityClient,
  createConfigMapOwnershipLedger,
  type EventRecorder,
  type OwnershipLedger,
} from '@pod-identity/core/kubernetes';
import {
  createLaneExecutor,
  createLaneRunner,
  createMicInformers,
  createPassScheduler,
  createRecordWriter,
  watchForPasses,
  type LaneExecutor,
  type MicInformers,
} from '@pod-identity/mic';

/** Options of {@link createNodePoolController}. */
export interface NodePoolControllerOptions {
  /** The cluster. */
  kubeConfig: KubeConfig;
  /** Credential for ARM. */
  credential: TokenCredential;
  /** ARM endpoint. Default `https://management.azure.com`. */
  armEndpoint?: string;
  /** Options of the ARM clients (e.g. `tlsOptions` for a private CA). */
  armClientOptions?: ComputeManagementClientOptionalParams;
  /** The node pools (scale set names) whose pods get identities; the others are left alone. */
  scaleSets: readonly string[];
  /** Where the ownership ledger lives (the controller's own namespace). */
  namespace: string;
}

/** A running controller. */
export interface NodePoolController {
  /** Resolves once the caches are filled and the first pass is asked for. */
  start(): Promise<void>;
  /** Resolves when no pass or lane is queued or running. */
  settled(): Promise<void>;
  /** Stops the passes, the lanes and the informers. */
  stop(): Promise<void>;
}

/** What the planner reads: MIC's informer set. */
type PlanView = Pick<
  MicInformers,
  'pods' | 'identities' | 'bindings' | 'assigned' | 'nodeProviderIds' | 'parseProblem'
>;

const COALESCE_MS = 5;
// This example does not record Kubernetes events.
const noEvents: Pick<EventRecorder, 'event'> = { event: () => undefined };

/**
 * The controller's own planner: core's planners over only the pods of the chosen node pools, then
 * each scale set's delta handed to its lane. A pod on another pool is as if it did not exist, so a
 * pod that moves out of scope has its identity released like a deleted one.
 */
function createPoolPlanner(
  view: PlanView,
  scaleSets: ReadonlySet<string>,
  ledger: Pick<OwnershipLedger, 'snapshot'>,
  lanes: Pick<LaneExecutor, 'submit' | 'discard' | 'keys'>,
): () => void {
  const planner = createAssignmentPlanner();
  const inScope = (pod: PlannerPod): boolean => {
    const found = nodeTarget(pod.nodeName, view.nodeProviderIds.get(pod.nodeName));
    return found.ok && found.target.kind === 'vmss' && scaleSets.has(found.target.name);
  };
  // Records someone else deleted are terminating: planned as if gone.
  const live = (record: AzureAssignedIdentity | undefined): AzureAssignedIdentity | undefined =>
    record?.metadata.deletionTimestamp === undefined ? record : undefined;
  return (): void => {
    const plan = planner.plan({
      pods: view.pods.list().filter(inScope),
      identities: view.identities.list(),
      bindings: view.bindings.list(),
      parseProblem: view.parseProblem,
      assignedIdentities: view.assigned.list().filter((record) => live(record) !== undefined),
      findAssignedIdentity: (key) => live(view.assigned.get(key)),
    });
    const deltas = planIdentityDeltas({
      plan,
      nodeProviderIds: view.nodeProviderIds,
      owned: ledger.snapshot(),
      immutable: [],
    });
    const queued = new Set<string>();
    for (const delta of deltas.targets) {
      queued.add(delta.target.key);
      lanes.submit(delta.target.key, { kind: 'target', delta, drift: false, updates: new Map() });
    }
    // A scale set that became steady has nothing left to do: never run stale work.
    for (const key of lanes.keys()) if (!queued.has(key)) lanes.discard(key);
  };
}

/**
 * A controller built from MIC's parts with a policy of its own: only pods on the named node pools
 * get their identities. It takes MIC's informer set (`createMicInformers`), its pass scheduler
 * (`createPassScheduler`: a burst of watch events becomes one pass), its lanes (`createLaneExecutor`
 * with `createLaneRunner`: one lane per scale set, retried with backoff) and its record writer, and
 * plans with core's planners over the pods in scope. Like MIC, it removes only identities it added
 * (its ownership ledger); unlike MIC it has no leader election (add `runLeaderElected` for replicas).
 *
 * @param options - connections, the node pools in scope and the ledger's namespace
 * @returns the controller; call `start()`
 */
export function createNodePoolController(options: NodePoolControllerOptions): NodePoolController {
  const { kubeConfig } = options;
  const stopping = new AbortController();
  const informers = createMicInformers({ kubeConfig });
  const ledger = createConfigMapOwnershipLedger({ kubeConfig, namespace: options.namespace });
  const writer = createRecordWriter({
    records: createAssignedIdentityClient(kubeConfig),
    recorder: noEvents,
  });
  const lanes = createLaneExecutor({
    run: createLaneRunner({
      assigner: createIdentityAssigner({
        credential: options.credential,
        ...(options.armEndpoint === undefined ? {} : { endpoint: options.armEndpoint }),
        ...(options.armClientOptions === undefined
          ? {}
          : { clientOptions: options.armClientOptions }),
        pollIntervalMs: 50,
      }),
      ledger,
      writer,
      recorder: noEvents,
    }),
  });
  const plan = createPoolPlanner(informers, new Set(options.scaleSets), ledger, lanes);
  const passes: WorkQueue = createWorkQueue({
    concurrency: 1,
    reconcile: async () => {
      // The scheduler says whether the burst is over; this planner always plans in full.
      if ((await scheduler.begin()) !== undefined) plan();
    },
  });
  const scheduler = createPassScheduler({
    clock: systemClock,
    coalesceWindowMs: COALESCE_MS,
    maxCoalesceMs: 100,
    recordEchoDelayMs: 200,
    signal: stopping.signal,
    enqueue: (delayMs) => {
      passes.addAfter('plan', delayMs);
    },
  });
  const pause = (): Promise<void> => systemClock.sleep(COALESCE_MS + 1);
  return {
    async start() {
      await ledger.load({ abortSignal: stopping.signal });
      await informers.start(stopping.signal);
      // Wired only once every informer has listed: a pass planned while, say, the pods are not yet
      // listed would see every owned identity unused and remove it.
      watchForPasses(informers, scheduler, writer);
      scheduler.requestFull();
    },
    async settled() {
      // A pass queues lanes and a lane's record writes ask for another pass: wait for both to rest.
      for (;;) {
        await pause();
        await passes.idle();
        await lanes.idle();
        await pause();
        if (passes.size() === 0 && lanes.size() === 0) return;
      }
    },
    async stop() {
      stopping.abort();
      await passes.stop();
      await lanes.stop();
      await informers.stop();
    },
  };
}
