import { EntraError } from './entra-error.js';
import {
  createTokenEndpointFaults,
  retryAfterHeader,
  type TokenEndpointFaults,
} from '../http/token-endpoint-faults.js';

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

/** The Entra emulator's token-endpoint faults: any HTTP error status. */
export function createEntraFaults(): TokenEndpointFaults<number> {
  return createTokenEndpointFaults<number>((status) => {
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new RangeError(`status must be an HTTP error status, got ${status}`);
  });
}

/** Throws the Entra error of the next injected failure, if one is queued. */
export function throwInjectedEntraFailure(faults: TokenEndpointFaults<number>): void {
  const failure = faults.takeFailure();
  if (!failure) return;
  throw new EntraError(
    failure.status,
    failure.status === 429 ? 'temporarily_unavailable' : 'server_error',
    failure.status === 429 ? 50196 : 50000,
    'Injected failure: there was an error issuing a token.',
    retryAfterHeader(failure),
  );
}
