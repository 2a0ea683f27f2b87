/** What {@link abortReason} and {@link raceAbort} read of a signal: DOM's `AbortSignal` and Azure's `AbortSignalLike` fit. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** Why it was aborted (absent on signals older than Node 17.2 or from polyfills). */
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * The reason an aborted signal carries, as an Error: the caller's own Error, else a `DOMException`
 * named `AbortError` (what `AbortController.abort()` gives by default) with a string reason as its
 * message.
 *
 * @param signal - an aborted signal
 * @returns the error to reject or throw with
 */
export function abortReason(signal: Pick<AbortSignalLike, 'reason'>): Error {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(
    typeof reason === 'string' ? reason : 'The operation was aborted.',
    'AbortError',
  );
}
