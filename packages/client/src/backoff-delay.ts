/** How the client spaces its retries. */
export interface RetryOptions {
  /** Retries after the first request. Default 10; the deadline usually ends the loop first. */
  maxRetries?: number;
  /** Delay before the first retry, before jitter. Default 1000 ms. */
  initialDelayMs?: number;
  /** Longest backoff delay. Default 30000 ms. A `Retry-After` is honoured as given (the deadline bounds it). */
  maxDelayMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/** The retry policy used when none is given. */
export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = {
  maxRetries: 10,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
};

/**
 * Fills in and checks retry options.
 * @throws RangeError for a negative or non-finite number
 */
export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  const resolved = { ...DEFAULT_RETRY_OPTIONS, ...stripUndefined(options) };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `retry.${key} must be a non-negative finite number, got ${String(value)}`,
      );
    }
  }
  if (!Number.isInteger(resolved.maxRetries)) {
    throw new RangeError(`retry.maxRetries must be an integer, got ${resolved.maxRetries}`);
  }
  return resolved;
}

function stripUndefined(options: RetryOptions): RetryOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/**
 * The delay before retry number `retry` (1 for the first retry): exponential (`initialDelayMs`
 * doubled each time, capped at `maxDelayMs`) with jitter between half and all of it, so that the
 * pods of a rollout do not retry in lock step. This is the shape Azure documents for IMDS.
 *
 * @param retry - 1-based retry number
 * @param options - resolved retry options
 * @param random - a number in [0, 1), e.g. `Math.random()`
 */
export function backoffDelayMs(
  retry: number,
  options: ResolvedRetryOptions,
  random: number,
): number {
  const exponential = options.initialDelayMs * 2 ** Math.max(0, retry - 1);
  const capped = Math.min(options.maxDelayMs, exponential);
  return Math.round(capped * (0.5 + 0.5 * random));
}
