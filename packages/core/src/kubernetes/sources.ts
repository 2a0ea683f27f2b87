import { API_GROUP, API_VERSION } from '../crd/constants.js';
import type { InformerSource, ListResult } from './informer.js';
import type { KubeConnection } from './kube-connection.js';
import { kubeHttpClientFor } from './kube-http-client.js';

/** A list answer as it is on the wire. */
interface WireList {
  items?: unknown[] | null;
  metadata?: { resourceVersion?: string; continue?: string };
}

/**
 * Any collection, e.g. `/api/v1/namespaces/default/configmaps`, listed as raw wire JSON through the
 * lean client (no generated models: list items and watch events have the same shape, timestamps
 * stay strings), with the query's paging, version and abort signal.
 * @param connection - API server connection (a client-node `KubeConfig` or a `KubeConnection`)
 * @param path - the collection's path (the watch path too)
 */
export function collectionSource(connection: KubeConnection, path: string): InformerSource {
  const client = kubeHttpClientFor(connection);
  return {
    path,
    list: async (query): Promise<ListResult> => {
      const list = await client.request<WireList>('GET', path, {
        query: {
          labelSelector: query.labelSelector,
          fieldSelector: query.fieldSelector,
          limit: query.limit,
          continue: query.continue,
          resourceVersion: query.resourceVersion,
          resourceVersionMatch: query.resourceVersionMatch,
        },
        abortSignal: query.abortSignal,
      });
      const token = list.metadata?.continue;
      return {
        items: list.items ?? [],
        resourceVersion: list.metadata?.resourceVersion ?? '',
        ...(token === undefined || token === '' ? {} : { continue: token }),
      };
    },
  };
}

/**
 * Service accounts in every namespace (`/api/v1/serviceaccounts`), as raw wire JSON: federated NMI
 * reads their workload-identity annotations.
 * @param kubeConfig - API server connection (a client-node `KubeConfig` or a `KubeConnection`)
 */
export function serviceAccountSource(kubeConfig: KubeConnection): InformerSource {
  return collectionSource(kubeConfig, '/api/v1/serviceaccounts');
}

/**
 * Pods in every namespace (`/api/v1/pods`), as raw wire JSON.
 * @param kubeConfig - API server connection (a client-node `KubeConfig` or a `KubeConnection`)
 */
export function podSource(kubeConfig: KubeConnection): InformerSource {
  return collectionSource(kubeConfig, '/api/v1/pods');
}

/**
 * Nodes (`/api/v1/nodes`), as raw wire JSON.
 * @param kubeConfig - API server connection (a client-node `KubeConfig` or a `KubeConnection`)
 */
export function nodeSource(kubeConfig: KubeConnection): InformerSource {
  return collectionSource(kubeConfig, '/api/v1/nodes');
}

/**
 * A pod-identity custom resource in every namespace, e.g. `azureidentities`
 * (`/apis/aadpodidentity.k8s.io/v1/<plural>`). Items arrive as raw wire JSON.
 * @param kubeConfig - API server connection (a client-node `KubeConfig` or a `KubeConnection`)
 * @param plural - the resource's plural name (`CrdKinds.X.plural`)
 */
export function customResourceSource(kubeConfig: KubeConnection, plural: string): InformerSource {
  return collectionSource(kubeConfig, `/apis/${API_GROUP}/${API_VERSION}/${plural}`);
}
