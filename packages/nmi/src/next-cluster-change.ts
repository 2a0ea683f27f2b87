import type { NmiClusterState } from './cluster-state.js';

/**
 * Resolves on the next change of the node's pod index (and, with `crds`, of the CRD caches), or after
 * `timeoutMs`; rejects with the signal's reason when it aborts. Lets a request wait for an informer
 * to deliver without polling.
 * @param state - the cluster state
 * @param timeoutMs - longest wait
 * @param abortSignal - the request's signal
 * @param crds - also wake on identity, binding, assigned identity or exception changes
 */
export function nextClusterChange(
  state: NmiClusterState,
  timeoutMs: number,
  abortSignal: AbortSignal,
  crds: boolean,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (abortSignal.aborted) {
      reject(abortSignal.reason as Error);
      return;
    }
    const stop = new AbortController();
    const end = (): void => {
      clearTimeout(timer);
      unsubscribe();
      stop.abort();
      abortSignal.removeEventListener('abort', onAbort);
    };
    const done = (): void => {
      end();
      resolve();
    };
    const onAbort = (): void => {
      end();
      reject(abortSignal.reason as Error);
    };
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    const unsubscribe = state.pods.subscribe(done);
    if (crds) state.changed(timeoutMs, stop.signal).then(done, () => undefined);
    abortSignal.addEventListener('abort', onAbort, { once: true });
  });
}
