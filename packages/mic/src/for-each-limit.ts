/**
 * Runs `fn` over `items` with at most `limit` calls in flight (MIC's `--createDeleteBatch`). Every
 * item is tried even after a failure; the first failure is thrown at the end.
 *
 * @param items - the work
 * @param limit - the most calls at once
 * @param fn - what to do with one item
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const failure: { error?: unknown; failed: boolean } = { failed: false };
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await fn(item);
      } catch (error) {
        if (!failure.failed) {
          failure.failed = true;
          failure.error = error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure.failed) {
    throw failure.error instanceof Error ? failure.error : new Error(String(failure.error));
  }
}
