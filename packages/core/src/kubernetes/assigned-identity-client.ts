import {
  API_GROUP,
  API_VERSION,
  ASSIGNED_IDENTITY_FINALIZER,
  CrdKinds,
  type AssignedIdentityState,
} from '../crd/constants.js';
import type { AzureAssignedIdentity } from '../crd/types.js';
import type { KubeConnection } from './kube-connection.js';
import { kubeHttpClientFor } from './kube-http-client.js';
import { toKubernetesApiError } from './kubernetes-api-error.js';

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

const PLURAL = CrdKinds.AzureAssignedIdentity.plural;

function recordsPath(namespace: string): string {
  return `/apis/${API_GROUP}/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`;
}

function recordPath(namespace: string, name: string): string {
  return `${recordsPath(namespace)}/${encodeURIComponent(name)}`;
}

/**
 * Creates the AzureAssignedIdentity client on the lean JSON client (records are plain wire JSON, so
 * nothing of client-node's is needed).
 * @param kubeConfig - API server connection: a client-node `KubeConfig` or a lean `KubeConnection`
 */
export function createAssignedIdentityClient(kubeConfig: KubeConnection): AssignedIdentityClient {
  const client = kubeHttpClientFor(kubeConfig);

  const removeFinalizer = async (record: AzureAssignedIdentity): Promise<void> => {
    const finalizers = record.metadata.finalizers ?? [];
    const index = finalizers.indexOf(ASSIGNED_IDENTITY_FINALIZER);
    if (index < 0) return;
    const path = recordPath(record.metadata.namespace ?? '', record.metadata.name);
    try {
      // `test` makes the patch fail rather than drop someone else's finalizer if the list moved.
      await client.request('PATCH', path, {
        body: [
          {
            op: 'test',
            path: `/metadata/finalizers/${String(index)}`,
            value: ASSIGNED_IDENTITY_FINALIZER,
          },
          { op: 'remove', path: `/metadata/finalizers/${String(index)}` },
        ],
        contentType: 'application/json-patch+json',
      });
    } catch (error) {
      const onlyOurs = finalizers.length === 1;
      if (!onlyOurs || toKubernetesApiError(error, '').statusCode !== 422) throw error;
      // The API server validates the whole object on every write, and one without validation
      // ratcheting (before Kubernetes 1.30) refuses even this patch when a field stored earlier no
      // longer fits the schema (a record written under a schema-less CRD, say). Being deleted, the
      // record's content matters to no one once MIC released it: its spec and status go with the
      // finalizer, on the resourceVersion it was read at (a record changed since: 409, retried).
      await client.request('PATCH', path, {
        body: {
          metadata: { finalizers: null, resourceVersion: record.metadata.resourceVersion },
          spec: null,
          status: null,
        },
        contentType: 'application/merge-patch+json',
      });
    }
  };

  return {
    async create(record) {
      const namespace = record.metadata.namespace ?? '';
      const what = `create AzureAssignedIdentity ${namespace}/${record.metadata.name}`;
      try {
        return await client.request<AzureAssignedIdentity>('POST', recordsPath(namespace), {
          body: record,
        });
      } catch (error) {
        throw toKubernetesApiError(error, what);
      }
    },
    async replace(record) {
      const namespace = record.metadata.namespace ?? '';
      const what = `update AzureAssignedIdentity ${namespace}/${record.metadata.name}`;
      try {
        return await client.request<AzureAssignedIdentity>(
          'PUT',
          recordPath(namespace, record.metadata.name),
          { body: record },
        );
      } catch (error) {
        throw toKubernetesApiError(error, what);
      }
    },
    async setState(namespace, name, state) {
      try {
        return await client.request<AzureAssignedIdentity>('PATCH', recordPath(namespace, name), {
          body: { status: { status: state } },
          contentType: 'application/merge-patch+json',
        });
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
        const remaining = await client.request<Partial<AzureAssignedIdentity> | undefined>(
          'DELETE',
          recordPath(namespace, name),
        );
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
