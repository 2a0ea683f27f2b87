import { PodIdentityError } from '@pod-identity/core';

/** What every token-request failure says about the last answer it saw. */
export interface TokenRequestErrorDetails {
  /** The HTTP status of the last answer, if one arrived. */
  status?: number;
  /** The `error` field of the last IMDS-shaped error body (e.g. `invalid_request`), if any. */
  imdsError?: string;
  /** How many requests were sent before giving up. */
  attempts: number;
  /** The error this one wraps (a network error, a parse error). */
  cause?: unknown;
  /** Whether trying again later may succeed. */
  retryable?: boolean;
}

/**
 * A token could not be acquired from IMDS or NMI for a reason other than the two an application
 * usually wants to tell apart ({@link IdentityNotAssignedError}, {@link IdentityRefusedError}):
 * the endpoint was unreachable, kept failing with 410, 429 or 5xx until the deadline, or rejected
 * the request as malformed (400).
 */
export class TokenRequestError extends PodIdentityError {
  override readonly name = 'TokenRequestError';
  readonly code = 'TOKEN_ACQUISITION';
  /** The HTTP status of the last answer, if one arrived. */
  readonly status: number | undefined;
  /** The `error` field of the last IMDS-shaped error body, if any. */
  readonly imdsError: string | undefined;
  /** How many requests were sent before giving up. */
  readonly attempts: number;

  constructor(message: string, details: TokenRequestErrorDetails) {
    super(message, { cause: details.cause, retryable: details.retryable ?? false });
    this.status = details.status;
    this.imdsError = details.imdsError;
    this.attempts = details.attempts;
  }

  /** Whether a value is a {@link TokenRequestError} from any copy of this package. */
  static override is(value: unknown): value is TokenRequestError {
    return PodIdentityError.is(value) && value.code === 'TOKEN_ACQUISITION';
  }
}
