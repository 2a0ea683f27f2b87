/**
 * Kubernetes adapters: informers with projection, indexes and paging, an event recorder, the
 * AzureAssignedIdentity client, Lease leader election and the ownership ledger, all on a lean JSON
 * client over node:http(s). `@kubernetes/client-node` is loaded only for a kubeconfig that needs it
 * (exec plugins, auth providers, impersonation, proxies) and by `shareKubeConnections`.
 *
 * @packageDocumentation
 */
// --- informers (used by MIC and NMI) ---
export {
  createInformer,
  objectKey,
  type Informer,
  type InformerOptions,
  type InformerSource,
  type InformerEventHandler,
  type InformerEventType,
  type IndexFunction,
  type KubernetesWireObject,
  type ListFunction,
  type ListQuery,
  type ListResult,
} from './informer.js';
export {
  podSource,
  nodeSource,
  customResourceSource,
  serviceAccountSource,
  collectionSource,
} from './sources.js';
export {
  inClusterConnection,
  kubeconfigFileConnection,
  loadKubeConnection,
  type KubeConnection,
} from './kube-connection.js';
export {
  createKubeHttpClient,
  kubeHttpClientFor,
  type KubeHttpClient,
  type KubeQuery,
  type KubeRequestOptions,
} from './kube-http-client.js';
export { shareKubeConnections } from './share-kube-connections.js';
export { createRateLimiter, type RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
export { KubernetesApiError, toKubernetesApiError } from './kubernetes-api-error.js';
export {
  createAssignedIdentityClient,
  type AssignedIdentityClient,
  type CallOptions,
} from './assigned-identity-client.js';
export {
  createLeaderElector,
  type LeaderElector,
  type LeaderElectorOptions,
  type LeaderCallbacks,
} from './leader-elector.js';
export {
  createEventRecorder,
  type EventRecorder,
  type EventRecorderOptions,
  type EventObjectReference,
  type EventType,
} from './event-recorder.js';
export {
  createConfigMapOwnershipLedger,
  createMemoryOwnershipLedger,
  ledgerConfigMapName,
  OWNERSHIP_LEDGER_LABEL,
  OWNERSHIP_LEDGER_TARGET_ANNOTATION,
  type OwnershipLedger,
  type ConfigMapOwnershipLedgerOptions,
} from './ownership-ledger.js';
export {
  startDaemonHttpServers,
  listenOn,
  type DaemonHttpServers,
  type DaemonHttpServersOptions,
  type MetricsSource,
} from './daemon-http-servers.js';
// --- service-account tokens (federated NMI) ---
export {
  createServiceAccountTokenRequester,
  type ServiceAccountTokenRequester,
  type PodTokenRequest,
  type ServiceAccountToken,
} from './service-account-token-requester.js';
// --- end service-account tokens ---
