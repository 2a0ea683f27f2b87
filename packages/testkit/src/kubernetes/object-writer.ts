import type { JsonObject } from './json.js';
import type { ObjectStore, StoredEvent } from './object-store.js';
import type { ResourceDefinition } from './resource-definition.js';
import type { ResourceRegistry } from './resource-registry.js';

/**
 * The API server's write primitives, for the parts that act on many objects at once (the namespace
 * controller's and the CRD cleanup finalizer's work) without knowing the rest of the server.
 */
export interface ObjectWriter {
  readonly store: ObjectStore;
  readonly resources: ResourceRegistry;
  /** Stores an object at the next resourceVersion and emits its watch event. */
  commit(
    def: ResourceDefinition,
    type: StoredEvent['type'],
    obj: JsonObject,
    previous: JsonObject | undefined,
  ): JsonObject;
  /** Deletes a stored object for good (DELETED), and finishes what waited for it. */
  remove(def: ResourceDefinition, existing: JsonObject): JsonObject;
  /** A DELETE of a stored object, with its graceful and finalizer rules. */
  deleteExisting(
    def: ResourceDefinition,
    existing: JsonObject,
    gracePeriodSeconds: number | undefined,
  ): JsonObject;
}
