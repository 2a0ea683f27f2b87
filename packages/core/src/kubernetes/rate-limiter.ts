import { ValidationError } from '../errors/validation-error.js';
import { systemClock, type Clock } from '../work-queue/clock.js';

/** A client-side rate limit on API requests; see {@link createRateLimiter}. */
export interface RateLimiter {
  /**
   * Resolves when the caller may send one request: at once while the bucket has a token, otherwise
   * in arrival order at `qps` per second. Rejects with the signal's reason if it aborts first (the
   * token is then given back).
   */
  acquire(abortSignal?: AbortSignal): Promise<void>;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained requests per second; `Infinity` for no limit. Must be positive. */
  qps: number;
  /** Requests allowed at once after a quiet period. Default `max(1, floor(qps))`, as client-go's flags. */
  burst?: number;
  clock?: Clock;
}

/**
 * Creates a token bucket, as client-go's client-side QPS limit (the original MIC's `--clientQps`,
 * with burst equal to the QPS): `burst` requests go at once, then one every `1000 / qps` ms.
 * Waiters are served first come, first served, since each reserves its slot when it arrives.
 *
 * @param options - rate and burst
 * @returns the limiter
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { qps } = options;
  if (Number.isNaN(qps) || qps <= 0) {
    throw new ValidationError('qps', `must be a positive number, got ${String(qps)}`);
  }
  if (qps === Number.POSITIVE_INFINITY) return { acquire: () => Promise.resolve() };
  const burst = options.burst ?? Math.max(1, Math.floor(qps));
  if (!Number.isInteger(burst) || burst < 1) {
    throw new ValidationError('burst', `must be a positive integer, got ${String(burst)}`);
  }
  const clock = options.clock ?? systemClock;
  const intervalMs = 1000 / qps;
  let tokens = burst;
  let updatedAt = clock.now();

  return {
    async acquire(abortSignal) {
      abortSignal?.throwIfAborted();
      const now = clock.now();
      tokens = Math.min(burst, tokens + (now - updatedAt) / intervalMs);
      updatedAt = now;
      // Reserve now (tokens may go negative): later callers queue behind this one.
      tokens -= 1;
      if (tokens >= 0) return;
      try {
        await clock.sleep(-tokens * intervalMs, abortSignal);
      } catch (error) {
        tokens += 1;
        throw error;
      }
    },
  };
}
