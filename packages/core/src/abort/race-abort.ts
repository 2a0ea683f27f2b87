import { abortReason, type AbortSignalLike } from './abort-reason.js';

/**
 * Waits for a promise that others may share (a single-flight token fetch, a cache sync), or rejects
 * with the caller's abort reason as soon as the caller's signal aborts: the caller stops waiting, the
 * shared work goes on for the others. The listener is removed when either settles.
 *
 * @param promise - the work to wait for
 * @param signal - the caller's signal; without one, the promise itself is returned
 * @returns the promise's value
 * @throws the signal's reason (see {@link abortReason}) when it aborts first; the promise's own
 *   rejection otherwise, as an Error
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error), { cause: error }));
      },
    );
  });
}
