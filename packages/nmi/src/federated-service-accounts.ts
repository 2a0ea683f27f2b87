import {
  WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
  WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION,
  type FederatedServiceAccount,
} from '@pod-identity/core';
import {
  createInformer,
  serviceAccountSource,
  type KubeConnection,
  type KubernetesWireObject,
} from '@pod-identity/core/kubernetes';

/** The service accounts that name a workload identity, kept current by an informer. */
export interface FederatedServiceAccounts {
  /** The service account, when it carries `azure.workload.identity/client-id`; else `undefined`. */
  get(namespace: string, name: string): FederatedServiceAccount | undefined;
  start(abortSignal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  hasSynced(): boolean;
}

/**
 * Keeps only annotated service accounts (the others project to nothing), so the cache holds one small
 * record per federated service account however many the cluster has.
 * @param raw - a ServiceAccount as the API server sent it
 */
export function projectFederatedServiceAccount(
  raw: KubernetesWireObject,
): FederatedServiceAccount | undefined {
  const metadata = raw.metadata;
  const name = metadata?.name;
  const namespace = metadata?.namespace;
  const annotations = (metadata?.annotations ?? {}) as Record<string, unknown>;
  const clientId = annotations[WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION];
  if (typeof name !== 'string' || typeof namespace !== 'string') return undefined;
  if (typeof clientId !== 'string' || clientId.trim() === '') return undefined;
  const tenantId = annotations[WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION];
  return {
    namespace,
    name,
    clientId: clientId.trim(),
    ...(typeof tenantId === 'string' && tenantId.trim() !== ''
      ? { tenantId: tenantId.trim() }
      : {}),
  };
}

/**
 * An informer on every namespace's service accounts, for federated mode.
 * @param kubeConfig - NMI's own API server connection (it needs `list` and `watch` on serviceaccounts)
 * @param onError - told of list/watch failures
 */
export function createFederatedServiceAccounts(
  kubeConfig: KubeConnection,
  onError?: (error: unknown) => void,
): FederatedServiceAccounts {
  const informer = createInformer<FederatedServiceAccount>({
    ...serviceAccountSource(kubeConfig),
    kubeConfig,
    project: projectFederatedServiceAccount,
    ...(onError === undefined ? {} : { onError }),
  });
  return {
    get: (namespace, name) => informer.get(`${namespace}/${name}`),
    start: (abortSignal) => informer.start(abortSignal),
    stop: () => informer.stop(),
    hasSynced: () => informer.hasSynced(),
  };
}
