import { crdStorageKey } from './object-meta.js';
import type { JsonObject } from './json.js';
import {
  apiVersionOf,
  builtinResources,
  definitionsFromCrd,
  type ResourceDefinition,
} from './resource-definition.js';

function keyOf(def: Pick<ResourceDefinition, 'group' | 'version' | 'plural'>): string {
  return `${def.group}/${def.version}/${def.plural}`;
}

/**
 * The resources the API server serves: the built-in ones, and the versions of every established
 * CustomResourceDefinition, which start serving when the CRD is created and stop when it is deleted.
 */
export class ResourceRegistry {
  readonly #resources = new Map<string, ResourceDefinition>();

  constructor() {
    for (const def of builtinResources) this.#resources.set(keyOf(def), def);
  }

  /** The served resource for a group/version/plural, if any. */
  resolve(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.#resources.get(`${group}/${version}/${plural}`);
  }

  /** The served resource of an object's `apiVersion` and `kind`, if any. */
  resolveKind(apiVersion: string, kind: string): ResourceDefinition | undefined {
    for (const def of this.#resources.values()) {
      if (apiVersionOf(def) === apiVersion && def.kind === kind) return def;
    }
    return undefined;
  }

  /** A built-in resource, which is always served. */
  builtin(group: string, plural: string): ResourceDefinition {
    const def = builtinResources.find((d) => d.group === group && d.plural === plural);
    if (def === undefined) throw new Error(`no built-in resource ${plural}`);
    return def;
  }

  /** Every served resource (all versions). */
  definitions(): ResourceDefinition[] {
    return [...this.#resources.values()];
  }

  /** Distinct storage (one definition per storage key) of every served resource. */
  storageDefinitions(): ResourceDefinition[] {
    const seen = new Map<string, ResourceDefinition>();
    for (const def of this.#resources.values())
      if (!seen.has(def.storageKey)) seen.set(def.storageKey, def);
    return [...seen.values()];
  }

  /** Serves (again) the versions a CRD defines, replacing what an earlier copy of it defined. */
  serve(crd: JsonObject): void {
    const defs = definitionsFromCrd(crd);
    const first = defs[0];
    if (first === undefined) return;
    this.#forget(first.storageKey);
    for (const def of defs) this.#resources.set(keyOf(def), def);
  }

  /**
   * Stops serving a deleted CRD's resources.
   * @returns their storage key
   */
  stopServing(crd: JsonObject): string {
    const storageKey = crdStorageKey(crd);
    this.#forget(storageKey);
    return storageKey;
  }

  #forget(storageKey: string): void {
    for (const [key, def] of this.#resources) {
      if (def.custom && def.storageKey === storageKey) this.#resources.delete(key);
    }
  }
}
