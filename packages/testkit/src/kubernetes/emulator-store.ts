import type { ApiServer } from './api-server.js';
import { ApiStatusError } from './api-status-error.js';
import { asObject, asString, type JsonObject } from './json.js';
import type { ResourceDefinition } from './resource-definition.js';

/** A reference to objects of one kind in the emulator's store. */
export interface KubernetesObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
}

/**
 * Direct access to the emulator's objects for test setup and assertions. Writes go through the same
 * semantics as the API (events, resourceVersions), without HTTP.
 */
export interface KubernetesEmulatorStore {
  /** The latest resourceVersion of the cluster. */
  readonly resourceVersion: string;
  /** One object, or `undefined`. */
  get(ref: KubernetesObjectReference & { readonly name: string }): JsonObject | undefined;
  /** Objects of a kind, in one namespace when `namespace` is given. */
  list(ref: KubernetesObjectReference): JsonObject[];
  /**
   * Creates or replaces an object, including its `status` (written like a controller would, through
   * the status subresource), so e.g. a pod can be put with `status.podIP` in one call.
   */
  put(obj: JsonObject): JsonObject;
  /**
   * Deletes an object like a DELETE call: finalizers hold it, and a scheduled pod is only marked
   * terminating (`deletionTimestamp`) until a delete with `gracePeriodSeconds: 0` — what its
   * kubelet sends — removes it. `false` when it did not exist.
   */
  delete(
    ref: KubernetesObjectReference & { readonly name: string },
    options?: { readonly gracePeriodSeconds?: number },
  ): boolean;
}

/**
 * The {@link KubernetesEmulatorStore} over an {@link ApiServer}: direct calls with API semantics.
 * Failures throw the same `Status` errors the HTTP API answers with (as `Error`s with `code`).
 */
export function createEmulatorStore(api: ApiServer): KubernetesEmulatorStore {
  const defFor = (ref: KubernetesObjectReference): ResourceDefinition => {
    const def = api.resources.resolveKind(ref.apiVersion, ref.kind);
    if (def === undefined)
      throw new TypeError(`the emulator serves no ${ref.kind} in ${ref.apiVersion}`);
    return def;
  };

  return {
    get resourceVersion() {
      return String(api.store.resourceVersion);
    },
    get(ref) {
      const def = defFor(ref);
      const obj = api.store.get(
        def.storageKey,
        def.namespaced ? (ref.namespace ?? 'default') : '',
        ref.name,
      );
      return obj === undefined ? undefined : api.present(def, obj);
    },
    list(ref) {
      const def = defFor(ref);
      return [...api.store.list(def.storageKey, def.namespaced ? ref.namespace : undefined)].map(
        (o) => api.present(def, o),
      );
    },
    put(obj) {
      const apiVersion = asString(obj.apiVersion) ?? '';
      const kind = asString(obj.kind) ?? '';
      const def = defFor({ apiVersion, kind });
      const meta = asObject(obj.metadata) ?? {};
      const name = asString(meta.name) ?? '';
      const namespace = def.namespaced ? (asString(meta.namespace) ?? 'default') : '';
      const existing = api.store.get(def.storageKey, namespace, name);
      const body: JsonObject = { ...obj, metadata: { ...meta } };
      delete (body.metadata as JsonObject).resourceVersion;
      let result =
        existing === undefined
          ? api.create(def, def.namespaced ? namespace : undefined, body)
          : api.update(def, namespace, name, body);
      if (def.statusSubresource && obj.status !== undefined) {
        result = api.update(
          def,
          namespace,
          asString(asObject(result.metadata)?.name) ?? name,
          { ...result, status: obj.status },
          'status',
        );
      }
      return result;
    },
    delete(ref, options = {}) {
      const def = defFor(ref);
      try {
        api.delete(def, ref.namespace ?? 'default', ref.name, {
          gracePeriodSeconds: options.gracePeriodSeconds,
        });
        return true;
      } catch (error) {
        if (error instanceof ApiStatusError && error.code === 404) return false;
        throw error;
      }
    },
  };
}
