import type { KubeConfig } from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  ASSIGNED_IDENTITY_FINALIZER,
  CrdKinds,
  type AssignedIdentityState,
} from '../crd/constants.js';
import type { AzureAssignedIdentity } from '../crd/types.js';
import { toKubernetesApiError } from './kubernetes-api-error.js';
import { lazyClientNode } from './load-client-node.js';

/** Options every call takes. */
export interface CallOptions {
  abortSignal?: AbortSignal;
}

/** Typed writes of AzureAssignedIdentity records, as MIC makes them. */
export interface AssignedIdentityClient {
  /** POSTs a new record. */
  create(record: AzureAssignedIdentity, options?: CallOptions): Promise<AzureAssignedIdentity>;
  /** PUTs a record (its `metadata.resourceVersion` makes it conditional). */
  replace(record: AzureAssignedIdentity, options?: CallOptions): Promise<AzureAssignedIdentity>;
  /**
   * Sets `status.status` with a merge patch, `{"status":{"status":…}}`. The original sent a JSON
   * patch `replace` of `/status/status`, which the API server refuses (422) for a record without a
   * `status` object, such as the legacy records of the time before assignment states; a merge patch
   * sets the field whether or not it (or `status`) is there, and changes nothing else.
   */
  setState(
    namespace: string,
    name: string,
    state: Exclude<AssignedIdentityState, ''>,
    options?: CallOptions,
  ): Promise<AzureAssignedIdentity>;
  /**
   * Deletes a record and, if the API server keeps it for MIC's finalizer, removes the finalizer.
   * A record already gone counts as deleted.
   */
  delete(namespace: string, name: string, options?: CallOptions): Promise<void>;
}

const coordinates = {
  group: API_GROUP,
  version: API_VERSION,
  plural: CrdKinds.AzureAssignedIdentity.plural,
};

/**
 * Creates the AzureAssignedIdentity client on client-node's `CustomObjectsApi`.
 * @param kubeConfig - API server connection
 */
export function createAssignedIdentityClient(kubeConfig: KubeConfig): AssignedIdentityClient {
  const client = lazyClientNode((m) => ({
    api: kubeConfig.makeApiClient(m.CustomObjectsApi),
    jsonPatch: m.setHeaderOptions('Content-Type', m.PatchStrategy.JsonPatch),
    mergePatch: m.setHeaderOptions('Content-Type', m.PatchStrategy.MergePatch),
  }));

  const removeFinalizer = async (record: AzureAssignedIdentity): Promise<void> => {
    const finalizers = record.metadata.finalizers ?? [];
    const index = finalizers.indexOf(ASSIGNED_IDENTITY_FINALIZER);
    if (index < 0) return;
    // `test` makes the patch fail rather than drop someone else's finalizer if the list moved.
    await (
      await client()
    ).api.patchNamespacedCustomObject(
      {
        ...coordinates,
        namespace: record.metadata.namespace ?? '',
        name: record.metadata.name,
        body: [
          { op: 'test', path: `/metadata/finalizers/${index}`, value: ASSIGNED_IDENTITY_FINALIZER },
          { op: 'remove', path: `/metadata/finalizers/${index}` },
        ],
      },
      (await client()).jsonPatch,
    );
  };

  return {
    async create(record) {
      const what = `create AzureAssignedIdentity ${record.metadata.namespace ?? ''}/${record.metadata.name}`;
      try {
        return (await (
          await client()
        ).api.createNamespacedCustomObject({
          ...coordinates,
          namespace: record.metadata.namespace ?? '',
          body: record,
        })) as AzureAssignedIdentity;
      } catch (error) {
        throw toKubernetesApiError(error, what);
      }
    },
    async replace(record) {
      const what = `update AzureAssignedIdentity ${record.metadata.namespace ?? ''}/${record.metadata.name}`;
      try {
        return (await (
          await client()
        ).api.replaceNamespacedCustomObject({
          ...coordinates,
          namespace: record.metadata.namespace ?? '',
          name: record.metadata.name,
          body: record,
        })) as AzureAssignedIdentity;
      } catch (error) {
        throw toKubernetesApiError(error, what);
      }
    },
    async setState(namespace, name, state) {
      try {
        return (await (
          await client()
        ).api.patchNamespacedCustomObject(
          { ...coordinates, namespace, name, body: { status: { status: state } } },
          (await client()).mergePatch,
        )) as AzureAssignedIdentity;
      } catch (error) {
        throw toKubernetesApiError(
          error,
          `update AzureAssignedIdentity ${namespace}/${name} status to ${state}`,
        );
      }
    },
    async delete(namespace, name) {
      const what = `delete AzureAssignedIdentity ${namespace}/${name}`;
      try {
        const remaining = (await (
          await client()
        ).api.deleteNamespacedCustomObject({
          ...coordinates,
          namespace,
          name,
        })) as Partial<AzureAssignedIdentity> | undefined;
        if (remaining?.metadata?.deletionTimestamp !== undefined) {
          await removeFinalizer(remaining as AzureAssignedIdentity);
        }
      } catch (error) {
        const wrapped = toKubernetesApiError(error, what);
        if (wrapped.statusCode === 404) return;
        throw wrapped;
      }
    },
  };
}
