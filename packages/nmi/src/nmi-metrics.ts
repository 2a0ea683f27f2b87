import { Counter, Histogram, type Registry } from 'prom-client';

/** The metrics NMI records, with the original's `aadpodidentity_*` names where it had one. */
export interface NmiMetrics {
  /** `aadpodidentity_nmi_operations_duration_seconds{operation_type,status_code,namespace,resource}`. */
  readonly operations: Histogram<'operation_type' | 'status_code' | 'namespace' | 'resource'>;
  /** `aadpodidentity_imds_operations_duration_seconds{operation_type}`: upstream token fetches. */
  readonly upstreamDuration: Histogram<'operation_type'>;
  /** `aadpodidentity_imds_operations_errors_count{operation_type}`. */
  readonly upstreamErrors: Counter<'operation_type'>;
  /** `aadpodidentity_kubernetes_api_operations_errors_count{operation_type}` (`get_secret`, `get_pod_list`). */
  readonly kubernetesErrors: Counter<'operation_type'>;
  /** `aadpodidentity_nmi_token_cache_requests_total{result}`: `hit` or `miss`. */
  readonly cacheRequests: Counter<'result'>;
}

/**
 * Registers NMI's metrics on a registry.
 * @param registry - where to register (never the global one)
 */
export function createNmiMetrics(registry: Registry): NmiMetrics {
  return {
    operations: new Histogram({
      name: 'aadpodidentity_nmi_operations_duration_seconds',
      help: 'Duration of NMI token and host-token requests.',
      labelNames: ['operation_type', 'status_code', 'namespace', 'resource'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 100],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: 'aadpodidentity_imds_operations_duration_seconds',
      help: 'Duration of token requests NMI sends to IMDS or Entra.',
      labelNames: ['operation_type'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'aadpodidentity_imds_operations_errors_count',
      help: 'Token requests to IMDS or Entra that failed.',
      labelNames: ['operation_type'],
      registers: [registry],
    }),
    kubernetesErrors: new Counter({
      name: 'aadpodidentity_kubernetes_api_operations_errors_count',
      help: 'Kubernetes API calls of NMI that failed.',
      labelNames: ['operation_type'],
      registers: [registry],
    }),
    cacheRequests: new Counter({
      name: 'aadpodidentity_nmi_token_cache_requests_total',
      help: 'Token lookups answered from the cache (hit) or upstream (miss).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
