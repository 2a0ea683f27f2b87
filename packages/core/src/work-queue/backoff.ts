/** Options of {@link exponentialBackoff}. */
export interface BackoffOptions {
  /** Delay before the first retry. Default 100 ms. */
  initialDelayMs?: number;
  /** Upper bound of any delay. Default 60 s. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay randomised away (0 to 1), so that retries spread out. Default 0.2. */
  jitter?: number;
  /** Random source in [0, 1). Default `Math.random`; pass a fixed one in tests. */
  random?: () => number;
}

/** Gives the delay before retry number `attempt` (1-based). */
export type Backoff = (attempt: number) => number;

/**
 * Exponential backoff with jitter: `initialDelayMs * factor^(attempt-1)`, capped at `maxDelayMs`,
 * minus up to `jitter` of itself.
 * @param options - delays, growth, jitter and the random source
 * @returns the backoff function
 * @throws RangeError for negative delays, a factor below 1 or a jitter outside [0, 1]
 */
export function exponentialBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 60_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  if (!(initial >= 0) || !(max >= initial)) {
    throw new RangeError('backoff delays must satisfy 0 <= initialDelayMs <= maxDelayMs');
  }
  if (!(factor >= 1)) throw new RangeError('backoff factor must be at least 1');
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError('backoff jitter must be within [0, 1]');
  return (attempt) => {
    const exponent = Math.max(0, Math.min(attempt - 1, 64));
    const base = Math.min(max, initial * factor ** exponent);
    return Math.round(base * (1 - jitter * random()));
  };
}
