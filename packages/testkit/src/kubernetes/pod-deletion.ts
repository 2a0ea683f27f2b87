// kube's graceful deletion of pods (the pod strategy's CheckGracefulDelete with rest.BeforeDelete):
// a scheduled, still running pod is only marked — deletionTimestamp = now + grace and
// deletionGracePeriodSeconds = grace, one MODIFIED event — and stays until its kubelet deletes it
// again with grace 0 once the containers stopped. A later delete may only shorten the grace.
// Whenever the grace is 0 (unscheduled or finished pods, an explicit 0), kube still writes the
// mark first and then removes the pod: watchers see MODIFIED, then DELETED.
import { asObject, asString, kubeTimestamp, metadataOf, type JsonObject } from './json.js';
import { finalizersOf, isTerminating } from './object-meta.js';

// What kube defaults a pod's spec.terminationGracePeriodSeconds to.
const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

// kube treats a negative grace period as 1 s on the delete path (0 would skip the kubelet).
function atLeastOneIfNegative(seconds: number): number {
  return seconds < 0 ? 1 : seconds;
}

/** What a DELETE does to a pod: nothing more, remove it now, or write this deletion mark. */
export type PodDeletion =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'remove' }
  | { readonly kind: 'mark'; readonly marked: JsonObject };

/** A later delete of a pod already marked: it may only shorten a pending grace. */
function deletionOfTerminating(existing: JsonObject, asked: number | undefined): PodDeletion {
  const meta = metadataOf(existing);
  const current =
    typeof meta.deletionGracePeriodSeconds === 'number' ? meta.deletionGracePeriodSeconds : 0;
  if (current > 0) {
    // Pending graceful deletion: nothing to do unless the caller shortens the grace.
    if (asked === undefined || asked >= current) return { kind: 'unchanged' };
    const since = Date.parse(asString(meta.deletionTimestamp) ?? '') - current * 1000;
    return {
      kind: 'mark',
      marked: {
        ...existing,
        metadata: {
          ...meta,
          deletionTimestamp: kubeTimestamp(new Date(since + asked * 1000)),
          deletionGracePeriodSeconds: asked,
        },
      },
    };
  }
  // Already at grace 0 (held by finalizers): kube deletes at once if nothing holds it.
  return finalizersOf(existing).length > 0 ? { kind: 'unchanged' } : { kind: 'remove' };
}

/**
 * What a DELETE with `gracePeriodSeconds` (the DeleteOptions', if any) does to a stored pod at `now`.
 * @param existing - the stored pod
 * @param gracePeriodSeconds - the grace the caller asked for
 * @param now - the API server's time
 */
export function podDeletion(
  existing: JsonObject,
  gracePeriodSeconds: number | undefined,
  now: Date,
): PodDeletion {
  const asked =
    gracePeriodSeconds === undefined ? undefined : atLeastOneIfNegative(gracePeriodSeconds);
  if (isTerminating(existing)) return deletionOfTerminating(existing, asked);
  const spec = asObject(existing.spec) ?? {};
  const phase = asString(asObject(existing.status)?.phase);
  let grace =
    asked ??
    atLeastOneIfNegative(
      typeof spec.terminationGracePeriodSeconds === 'number'
        ? spec.terminationGracePeriodSeconds
        : DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
    );
  // Nothing runs an unscheduled pod, and a finished pod has nothing left to stop.
  if ((asString(spec.nodeName) ?? '') === '' || phase === 'Succeeded' || phase === 'Failed') {
    grace = 0;
  }
  return {
    kind: 'mark',
    marked: {
      ...existing,
      metadata: {
        ...metadataOf(existing),
        deletionTimestamp: kubeTimestamp(new Date(now.getTime() + grace * 1000)),
        deletionGracePeriodSeconds: grace,
      },
    },
  };
}
