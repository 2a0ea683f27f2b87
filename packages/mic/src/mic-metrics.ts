import { Counter, Histogram, type Registry } from 'prom-client';

/** The original's metrics (`pkg/metrics/metrics.go`), with the same `aadpodidentity_*` names. */
export interface MicMetrics {
  assignedIdentityAdditionDuration: Histogram;
  assignedIdentityAdditionCount: Counter;
  assignedIdentityDeletionDuration: Histogram;
  assignedIdentityDeletionCount: Counter;
  assignedIdentityUpdateDuration: Histogram;
  assignedIdentityUpdateCount: Counter;
  micCycleDuration: Histogram;
  micCycleCount: Counter;
  micNewLeaderElectionCount: Counter;
  cloudProviderOperationsErrors: Counter<'operation_type'>;
  cloudProviderOperationsDuration: Histogram<'operation_type'>;
  kubernetesApiOperationsErrors: Counter<'operation_type'>;
}

const SHORT_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
const LONG_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200];

/**
 * Registers MIC's metrics in `registry` (never the global one). Durations are in seconds, as the
 * original recorded them.
 * @param registry - the prom-client registry to register in
 * @returns the metrics
 */
export function createMicMetrics(registry: Registry): MicMetrics {
  const registers = [registry];
  const histogram = <L extends string = never>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: L[] = [],
  ): Histogram<L> =>
    new Histogram<L>({ name: `aadpodidentity_${name}`, help, buckets, labelNames, registers });
  const counter = <L extends string = never>(
    name: string,
    help: string,
    labelNames: L[] = [],
  ): Counter<L> => new Counter<L>({ name: `aadpodidentity_${name}`, help, labelNames, registers });
  return {
    assignedIdentityAdditionDuration: histogram(
      'assigned_identity_addition_duration_seconds',
      'Duration in seconds of an AzureAssignedIdentity creation',
      SHORT_BUCKETS,
    ),
    assignedIdentityAdditionCount: counter(
      'assigned_identity_addition_count',
      'AzureAssignedIdentity records created',
    ),
    assignedIdentityDeletionDuration: histogram(
      'assigned_identity_deletion_duration_seconds',
      'Duration in seconds of an AzureAssignedIdentity deletion',
      SHORT_BUCKETS,
    ),
    assignedIdentityDeletionCount: counter(
      'assigned_identity_deletion_count',
      'AzureAssignedIdentity records deleted',
    ),
    assignedIdentityUpdateDuration: histogram(
      'assigned_identity_update_duration_seconds',
      'Duration in seconds of an AzureAssignedIdentity update',
      SHORT_BUCKETS,
    ),
    assignedIdentityUpdateCount: counter(
      'assigned_identity_update_count',
      'AzureAssignedIdentity records updated',
    ),
    micCycleDuration: histogram(
      'mic_cycle_duration_seconds',
      'Duration in seconds of a MIC planning pass that did work',
      LONG_BUCKETS,
    ),
    micCycleCount: counter('mic_cycle_count', 'MIC planning passes that did work'),
    micNewLeaderElectionCount: counter(
      'mic_new_leader_election_count',
      'Times this MIC started leader election',
    ),
    cloudProviderOperationsErrors: counter(
      'cloud_provider_operations_errors_count',
      'Failed ARM operations',
      ['operation_type'],
    ),
    cloudProviderOperationsDuration: histogram(
      'cloud_provider_operations_duration_seconds',
      'Duration in seconds of ARM operations',
      LONG_BUCKETS,
      ['operation_type'],
    ),
    kubernetesApiOperationsErrors: counter(
      'kubernetes_api_operations_errors_count',
      'Failed Kubernetes API operations',
      ['operation_type'],
    ),
  };
}
