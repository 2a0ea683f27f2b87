import { EntraError } from './entra-error.js';

/** Fault injection of the Entra emulator's token endpoint. */
export interface EntraFaults {
  /** Answers the next `count` (default 1) token requests with this status (e.g. 500, 503, 429). */
  failNext(failure: {
    readonly status: number;
    readonly count?: number;
    readonly retryAfterSeconds?: number;
  }): void;
  /** Delays every token response (0 removes it). */
  setLatency(latencyMs: number): void;
  clear(): void;
}

/** The Entra emulator's fault injection, with what the token endpoint asks of it. */
export interface EntraFaultState extends EntraFaults {
  /** Waits the injected latency (if any). */
  delay(): Promise<void>;
  /** Throws the next injected failure, if one is pending. */
  throwPendingFailure(): void;
  /** Cancels the latency timers still running (at stop). */
  cancelTimers(): void;
}

/** Injected failures (each for a number of requests) and a latency, for the token endpoint. */
export function createEntraFaults(): EntraFaultState {
  const pending: { status: number; remaining: number; retryAfterSeconds: number | undefined }[] =
    [];
  const timers = new Set<NodeJS.Timeout>();
  let latencyMs = 0;
  return {
    failNext(failure) {
      const count = failure.count ?? 1;
      if (!Number.isInteger(failure.status) || failure.status < 400 || failure.status > 599) {
        throw new RangeError(`status must be an HTTP error status, got ${failure.status}`);
      }
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`count must be a positive integer, got ${count}`);
      pending.push({
        status: failure.status,
        remaining: count,
        retryAfterSeconds: failure.retryAfterSeconds,
      });
    },
    setLatency(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latencyMs must be >= 0, got ${ms}`);
      latencyMs = ms;
    },
    clear() {
      pending.length = 0;
      latencyMs = 0;
    },
    delay: () =>
      new Promise<void>((resolve) => {
        if (latencyMs <= 0) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, latencyMs);
        timers.add(timer);
      }),
    throwPendingFailure() {
      const failure = pending[0];
      if (!failure) return;
      failure.remaining -= 1;
      if (failure.remaining === 0) pending.shift();
      throw new EntraError(
        failure.status,
        failure.status === 429 ? 'temporarily_unavailable' : 'server_error',
        failure.status === 429 ? 50196 : 50000,
        'Injected failure: there was an error issuing a token.',
        failure.retryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(failure.retryAfterSeconds) },
      );
    },
    cancelTimers() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
