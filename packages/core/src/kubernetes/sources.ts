import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../crd/constants.js';
import type { InformerSource, ListQuery, ListResult } from './informer.js';

function selectors(query: ListQuery): { labelSelector?: string; fieldSelector?: string } {
  return {
    ...(query.labelSelector === undefined ? {} : { labelSelector: query.labelSelector }),
    ...(query.fieldSelector === undefined ? {} : { fieldSelector: query.fieldSelector }),
  };
}

/**
 * Pods in every namespace (`/api/v1/pods`). The typed list turns timestamps into `Date`s while the
 * watch sends strings; projections must accept both.
 * @param kubeConfig - API server connection
 */
export function podSource(kubeConfig: KubeConfig): InformerSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    path: '/api/v1/pods',
    list: async (query): Promise<ListResult> => {
      const list = await api.listPodForAllNamespaces(selectors(query));
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
  };
}

/**
 * Service accounts in every namespace (`/api/v1/serviceaccounts`): federated NMI reads their
 * workload-identity annotations.
 * @param kubeConfig - API server connection
 */
export function serviceAccountSource(kubeConfig: KubeConfig): InformerSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    path: '/api/v1/serviceaccounts',
    list: async (query): Promise<ListResult> => {
      const list = await api.listServiceAccountForAllNamespaces(selectors(query));
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
  };
}

/**
 * Nodes (`/api/v1/nodes`).
 * @param kubeConfig - API server connection
 */
export function nodeSource(kubeConfig: KubeConfig): InformerSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    path: '/api/v1/nodes',
    list: async (query): Promise<ListResult> => {
      const list = await api.listNode(selectors(query));
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
  };
}

/**
 * A pod-identity custom resource in every namespace, e.g. `azureidentities`
 * (`/apis/aadpodidentity.k8s.io/v1/<plural>`). Items arrive as raw wire JSON.
 * @param kubeConfig - API server connection
 * @param plural - the resource's plural name (`CrdKinds.X.plural`)
 */
export function customResourceSource(kubeConfig: KubeConfig, plural: string): InformerSource {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    path: `/apis/${API_GROUP}/${API_VERSION}/${plural}`,
    list: async (query): Promise<ListResult> => {
      const list = (await api.listClusterCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural,
        ...selectors(query),
      })) as { items?: unknown[]; metadata?: { resourceVersion?: string } };
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
  };
}
