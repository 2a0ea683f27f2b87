import type { KubernetesEmulatorStore } from './emulator-store.js';
import { asObject, asString, type JsonObject } from './json.js';

/** What token requests and reviews read of a pod. */
export interface TokenPodView {
  readonly uid: string;
  readonly nodeName: string;
  readonly serviceAccountName: string;
  readonly deletionTimestamp: string | undefined;
  /** The audiences of the pod's projected service-account token volumes. */
  readonly audiencesMounted: readonly string[];
}

/** A pod as token requests and reviews see it. */
export function tokenPodView(pod: JsonObject): TokenPodView {
  const meta = asObject(pod.metadata) ?? {};
  const spec = asObject(pod.spec) ?? {};
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const audiencesMounted: string[] = [];
  for (const volume of volumes) {
    const sources = asObject(asObject(volume)?.projected)?.sources;
    if (!Array.isArray(sources)) continue;
    for (const source of sources) {
      const audience = asString(asObject(asObject(source)?.serviceAccountToken)?.audience);
      if (audience !== undefined) audiencesMounted.push(audience);
    }
  }
  return {
    uid: asString(meta.uid) ?? '',
    nodeName: asString(spec.nodeName) ?? '',
    serviceAccountName: asString(spec.serviceAccountName) ?? 'default',
    deletionTimestamp: asString(meta.deletionTimestamp),
    audiencesMounted,
  };
}

/** The stored pod, if there is one. */
export function getPod(
  store: KubernetesEmulatorStore,
  namespace: string,
  name: string,
): JsonObject | undefined {
  return store.get({ apiVersion: 'v1', kind: 'Pod', namespace, name });
}

/** The strings of a JSON array (`spec.audiences`), or `undefined` when it is not an array. */
export function stringsOf(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((a): a is string => typeof a === 'string') : undefined;
}
