// MIC's writes of AzureAssignedIdentity records: created (or rewritten) in state Created before ARM
// is touched, marked Assigned once the identity is on the target, marked Unassigned and deleted when
// released. Each write is counted in the metrics and a failure is reported on the binding.
import {
  ASSIGNED_IDENTITY_FINALIZER,
  AssignedIdentityState,
  redactClientId,
  silentLogger,
  systemClock,
  toAssignedIdentity,
  type AzureAssignedIdentity,
  type Clock,
  type DesiredAssignment,
  type Logger,
} from '@pod-identity/core';
import type { AssignedIdentityClient, EventRecorder } from '@pod-identity/core/kubernetes';
import { forEachLimit } from './for-each-limit.js';
import type { MicMetrics } from './mic-metrics.js';
import { bindingReference, recordReference } from './plan-skip-event.js';
import {
  carriesAssignment,
  looseRecordSpec,
  type RecordRewrite,
  type RecordRewrites,
} from './record-rewrites.js';

/** Options of {@link createRecordWriter}. */
export interface RecordWriterOptions {
  /** The record client (MIC's waits for the `--clientQps` limiter on each write). */
  records: AssignedIdentityClient;
  /** Where `binding applied` and the failure events go. */
  recorder: Pick<EventRecorder, 'event'>;
  /** Concurrent writes per call (`--createDeleteBatch`). Default 20. */
  batch?: number;
  /** MIC's metrics, if registered. */
  metrics?: MicMetrics;
  /** Times the writes for the metrics. Default the system clock. */
  clock?: Clock;
  /** Where assignments and releases are logged. Default silent. */
  logger?: Logger;
}

/** What to do around each released record. */
export interface ReleaseOptions {
  /** Mark the record `Unassigned` before deleting it (false when there is nothing to tell readers). */
  unassignFirst: boolean;
  /** Called after each record is deleted (for an event). */
  onReleased?: (record: AzureAssignedIdentity) => void;
}

/** Writes the records of one lane's work. Every method tries every item and throws the first failure. */
export interface RecordWriter {
  /** Makes sure each assignment has its record in state Created: POST new ones, PUT rewritten ones. */
  ensure(assign: readonly DesiredAssignment[], rewrites: RecordRewrites): Promise<void>;
  /**
   * Marks records `Assigned` (their identity is on the target) and records `binding applied`. With
   * `rewrites`, a record that {@link ensure} was not given because its rewrite carries the assignment
   * over (`carriesAssignment`) is written whole, straight in state `Assigned`.
   */
  markAssigned(assign: readonly DesiredAssignment[], rewrites?: RecordRewrites): Promise<void>;
  /** Deletes released records (a record already gone is fine). */
  release(records: readonly AzureAssignedIdentity[], options: ReleaseOptions): Promise<void>;
  /**
   * Whether this writer marked the assignment's record `Assigned` for exactly this pod, node,
   * identity and binding (the cache may not show it yet).
   */
  readonly isAssignedHere: (assignment: DesiredAssignment) => boolean;
  /** Forgets a record (`namespace/name`) that went away, so a recreated one is assigned again. */
  forget(recordKey: string): void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function statusCodeOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

// What a record was marked Assigned for: a change of any of these needs the mark again.
const assignKey = (d: DesiredAssignment): string =>
  `${d.key}|${d.podUid ?? ''}|${d.nodeName}|${d.identity.metadata.resourceVersion ?? ''}|${d.binding.metadata.resourceVersion ?? ''}`;

/**
 * Creates a {@link RecordWriter}.
 * @param options - the client, recorder and limits
 * @returns the writer
 */
export function createRecordWriter(options: RecordWriterOptions): RecordWriter {
  const { records, recorder, metrics } = options;
  const batch = options.batch ?? 20;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  // Records this writer marked Assigned, by record key, with what they were assigned for.
  const assignedHere = new Map<string, string>();
  // Records the API server refused to release (422), by key, with the resourceVersion refused: left
  // alone until they change (someone mends them) or go, so a pass does not retry them for ever.
  // Bounded by the records that exist: `forget` drops an entry when its record goes.
  const refusedRelease = new Map<string, string>();
  const isAssignedHere = (d: DesiredAssignment): boolean =>
    assignedHere.get(d.key) === assignKey(d);

  const ensureOne = async (d: DesiredAssignment, rewrites: RecordRewrites): Promise<void> => {
    if (d.current !== undefined) return;
    const current = rewrites.get(d.key);
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
      // The record is Created now, whatever this writer marked before: mark it again.
      assignedHere.delete(d.key);
    } catch (error) {
      // Already there: an earlier pass wrote it and the cache has not caught up.
      if (current === undefined && statusCodeOf(error) === 409) return;
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
  };

  /**
   * Writes a carried-over rewrite whole, in state Assigned; false if the record changed since it was
   * planned (409): that change brings its own pass, which plans from the record as it is now.
   */
  const rewriteAssigned = async (
    d: DesiredAssignment,
    rewrite: RecordRewrite,
  ): Promise<boolean> => {
    const startedMs = clock.now();
    try {
      await records.replace({
        ...toAssignedIdentity(d, rewrite),
        status: { status: AssignedIdentityState.Assigned, availableReplicas: 1 },
      });
    } catch (error) {
      if (statusCodeOf(error) === 409) return false;
      throw error;
    }
    metrics?.assignedIdentityUpdateCount.inc();
    metrics?.assignedIdentityUpdateDuration.observe((clock.now() - startedMs) / 1000);
    return true;
  };

  const markOne = async (d: DesiredAssignment, rewrites?: RecordRewrites): Promise<void> => {
    if ((d.current?.status?.status ?? '') === AssignedIdentityState.Assigned) return;
    const rewrite = d.current === undefined ? rewrites?.get(d.key) : undefined;
    const carried = rewrite !== undefined && carriesAssignment(d, rewrite);
    // Already marked by this writer; the cache has not caught up yet. (A carried rewrite is written
    // all the same: the record in the cache is not yet the one this writer would write.)
    if (!carried && isAssignedHere(d)) return;
    try {
      if (!carried) await records.setState(d.namespace, d.name, AssignedIdentityState.Assigned);
      else if (!(await rewriteAssigned(d, rewrite))) return;
    } catch (error) {
      metrics?.kubernetesApiOperationsErrors.inc({
        operation_type: 'update_azure_assigned_identity_status',
      });
      recorder.event(
        recordReference(d.namespace, d.name),
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
  };

  const unassign = async (namespace: string, name: string): Promise<void> => {
    try {
      await records.setState(namespace, name, AssignedIdentityState.Unassigned);
    } catch (error) {
      // A record already gone needs no state; one the API server will not take the state on (422)
      // is deleted all the same, since `Unassigned` only tells readers what is coming, as the
      // original deleted records without it when its patch failed.
      const status = statusCodeOf(error);
      if (status === 422) {
        log.warn({ record: `${namespace}/${name}`, err: error }, 'deleting without Unassigned');
      } else if (status !== 404) throw error;
    }
  };

  const releaseOne = async (
    record: AzureAssignedIdentity,
    release: ReleaseOptions,
  ): Promise<void> => {
    const namespace = record.metadata.namespace ?? '';
    const name = record.metadata.name;
    const key = `${namespace}/${name}`;
    const version = record.metadata.resourceVersion ?? '';
    if (refusedRelease.get(key) === version) return;
    const startedMs = clock.now();
    try {
      if (release.unassignFirst) await unassign(namespace, name);
      await records.delete(namespace, name);
    } catch (error) {
      metrics?.kubernetesApiOperationsErrors.inc({ operation_type: 'assigned_identity_deletion' });
      // The same write would be refused again: report it once, and try again only once it changed.
      if (statusCodeOf(error) !== 422) throw error;
      refusedRelease.set(key, version);
      log.warn({ record: key, err: error }, 'the API server refuses to release the record');
      recorder.event(
        recordReference(namespace, name),
        'Warning',
        'release error',
        `failed to release AzureAssignedIdentity ${key} (its finalizer ${ASSIGNED_IDENTITY_FINALIZER} stays until the record is fixed or the finalizer is removed by hand), error: ${messageOf(error)}`,
      );
      return;
    }
    refusedRelease.delete(key);
    metrics?.assignedIdentityDeletionCount.inc();
    metrics?.assignedIdentityDeletionDuration.observe((clock.now() - startedMs) / 1000);
    release.onReleased?.(record);
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
  };

  return {
    ensure: (assign, rewrites) => forEachLimit(assign, batch, (d) => ensureOne(d, rewrites)),
    markAssigned: (assign, rewrites) => forEachLimit(assign, batch, (d) => markOne(d, rewrites)),
    release: (released, release) =>
      forEachLimit(released, batch, (record) => releaseOne(record, release)),
    isAssignedHere,
    forget(recordKey) {
      assignedHere.delete(recordKey);
      refusedRelease.delete(recordKey);
    },
  };
}
