import type { Selection } from './list-pages.js';
import { asObject, asString, type JsonObject } from './json.js';
import { objectKey, type ObjectKey, type ObjectStore } from './object-store.js';
import type { ResourceDefinition } from './resource-definition.js';

function podNodeName(pod: JsonObject): string {
  return asString(asObject(pod.spec)?.nodeName) ?? '';
}

const byKey = (a: ObjectKey, b: ObjectKey): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * An index of pods by `spec.nodeName`, kept from the store's events: every NMI lists and watches
 * `spec.nodeName=<its node>`, and a scan of all pods per node would make start-up quadratic in
 * cluster size.
 */
export class PodsByNode {
  readonly #keys = new Map<string, Map<string, ObjectKey>>();

  constructor(store: ObjectStore) {
    store.subscribe('/pods', (event) => {
      const key: ObjectKey = {
        key: objectKey(event.namespace, event.name),
        namespace: event.namespace,
        name: event.name,
      };
      const before = event.previous === undefined ? '' : podNodeName(event.previous);
      const after = event.type === 'DELETED' ? '' : podNodeName(event.object);
      if (before === after) return;
      if (before !== '') this.#keys.get(before)?.delete(key.key);
      if (after !== '') {
        let keys = this.#keys.get(after);
        if (keys === undefined) {
          keys = new Map();
          this.#keys.set(after, keys);
        }
        keys.set(key.key, key);
      }
    });
  }

  /**
   * The sorted keys of the pods a selection can match when it names a node (`spec.nodeName=<node>`),
   * or `undefined` when it names none (or the resource is not pods) and every key is a candidate.
   */
  candidateKeys(
    def: ResourceDefinition,
    scope: string | undefined,
    selection: Selection,
  ): readonly ObjectKey[] | undefined {
    if (def.storageKey !== '/pods') return undefined;
    const byNode = selection.fields.requirements.find(
      (r) => r.field === 'spec.nodeName' && !r.negate && r.value !== '',
    );
    if (byNode === undefined) return undefined;
    const keys = [...(this.#keys.get(byNode.value)?.values() ?? [])].filter(
      (k) => scope === undefined || k.namespace === scope,
    );
    return keys.sort(byKey);
  }
}
