/** An injected failure the token endpoint is to answer with. */
export interface InjectedFailure<Status extends number> {
  readonly status: Status;
  readonly retryAfterSeconds: number | undefined;
}

/** Fault injection of an emulator's token endpoint (IMDS, Entra), with what the endpoint asks of it. */
export interface TokenEndpointFaults<Status extends number> {
  /** Queues a failure for the next `count` (default 1) token requests. */
  failNext(failure: {
    readonly status: Status;
    readonly count?: number;
    readonly retryAfterSeconds?: number;
  }): void;
  /** Delays every token response (0 removes it). */
  setLatency(latencyMs: number): void;
  clear(): void;
  /** Waits the injected latency (if any). */
  delay(): Promise<void>;
  /** The failure this request is to answer with, if one is queued (each counts one request down). */
  takeFailure(): InjectedFailure<Status> | undefined;
  /** Cancels the latency timers still running (at stop). */
  cancelTimers(): void;
}

/**
 * Queued failures (each for a number of requests) and a latency for a token endpoint. `checkStatus`
 * throws a RangeError for a status the endpoint cannot be made to answer.
 */
export function createTokenEndpointFaults<Status extends number>(
  checkStatus: (status: Status) => void,
): TokenEndpointFaults<Status> {
  const pending: { status: Status; remaining: number; retryAfterSeconds: number | undefined }[] =
    [];
  const timers = new Set<NodeJS.Timeout>();
  let latencyMs = 0;
  return {
    failNext(failure) {
      const count = failure.count ?? 1;
      checkStatus(failure.status);
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
      latencyMs <= 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              timers.delete(timer);
              resolve();
            }, latencyMs);
            timers.add(timer);
          }),
    takeFailure() {
      const failure = pending[0];
      if (!failure) return undefined;
      failure.remaining -= 1;
      if (failure.remaining === 0) pending.shift();
      return { status: failure.status, retryAfterSeconds: failure.retryAfterSeconds };
    },
    cancelTimers() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** The `Retry-After` header of an injected failure, when it has one. */
export function retryAfterHeader(
  failure: InjectedFailure<number>,
): Readonly<Record<string, string>> {
  return failure.retryAfterSeconds === undefined
    ? {}
    : { 'retry-after': String(failure.retryAfterSeconds) };
}

/** What a test may do with the faults: the endpoint's own hooks (delay, take a failure) left out. */
export function publicFaults<Status extends number>(
  faults: TokenEndpointFaults<Status>,
): Pick<TokenEndpointFaults<Status>, 'failNext' | 'setLatency' | 'clear'> {
  return {
    failNext: (failure) => {
      faults.failNext(failure);
    },
    setLatency: (latencyMs) => {
      faults.setLatency(latencyMs);
    },
    clear: () => {
      faults.clear();
    },
  };
}
