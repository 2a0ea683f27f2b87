import {
  createTokenEndpointFaults,
  retryAfterHeader,
  type TokenEndpointFaults,
} from '../http/token-endpoint-faults.js';
import { ImdsError } from './imds-error.js';

/** The retryable statuses IMDS documents (404/410 updating, 429 throttled, 5xx transient). */
export type ImdsRetryableStatus = 404 | 410 | 429 | 500 | 502 | 503 | 504;

/** Options of {@link ImdsFaults.failNext}. */
export interface ImdsFailure {
  readonly status: ImdsRetryableStatus;
  /** How many token requests fail; default 1. */
  readonly count?: number;
  /** Adds `Retry-After: <seconds>`. */
  readonly retryAfterSeconds?: number;
}

/** Fault injection of one IMDS emulator; applies to the token endpoint. */
export interface ImdsFaults {
  /** Answers the next token requests with a retryable error status. */
  failNext(failure: ImdsFailure): void;
  /** Delays every token response by `latencyMs` (0 removes it). */
  setLatency(latencyMs: number): void;
  clear(): void;
}

const ERROR_BODIES: Readonly<Record<ImdsRetryableStatus, [string, string]>> = {
  404: ['not_found', 'IMDS endpoint is updating'],
  410: ['service_unavailable', 'IMDS endpoint is updating'],
  429: ['too_many_requests', 'Too many requests, retry later'],
  500: ['server_error', 'An unexpected error occurred while fetching the access token'],
  502: ['server_error', 'Bad gateway'],
  503: ['service_unavailable', 'The managed identity service is temporarily unavailable'],
  504: ['server_error', 'Timed out fetching the access token'],
};

/** The IMDS emulator's token-endpoint faults: only the statuses IMDS documents as retryable. */
export function createImdsFaults(): TokenEndpointFaults<ImdsRetryableStatus> {
  return createTokenEndpointFaults<ImdsRetryableStatus>((status) => {
    if (!(status in ERROR_BODIES))
      throw new RangeError(`not a retryable IMDS status: ${String(status)}`);
  });
}

/** Throws the IMDS error of the next injected failure, if one is queued. */
export function throwInjectedImdsFailure(faults: TokenEndpointFaults<ImdsRetryableStatus>): void {
  const failure = faults.takeFailure();
  if (!failure) return;
  const [error, description] = ERROR_BODIES[failure.status];
  throw new ImdsError(failure.status, error, description, retryAfterHeader(failure));
}
