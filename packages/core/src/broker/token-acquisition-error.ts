import { PodIdentityError } from '../errors/pod-identity-error.js';

/**
 * Why a token could not be had:
 * - `refused`: Azure answered and said no (IMDS 400 "Identity not found", Entra `invalid_client`…);
 *   the original NMI answered these 403;
 * - `unavailable`: no usable answer (network error, timeout, 5xx, throttling, unreadable credentials);
 *   the original answered 503, and retrying later may help.
 */
export type TokenAcquisitionFailure = 'refused' | 'unavailable';

/** Options of {@link TokenAcquisitionError}. */
export interface TokenAcquisitionErrorOptions {
  /** The HTTP status the token endpoint answered, if it answered. */
  status?: number;
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * A token source failed to get a token. The message names the identity by redacted client ID at most
 * and never contains a token or secret.
 */
export class TokenAcquisitionError extends PodIdentityError {
  override readonly name = 'TokenAcquisitionError';
  readonly code = 'TOKEN_ACQUISITION';
  /** Whether Azure refused or could not be reached. */
  readonly failure: TokenAcquisitionFailure;
  /** The token endpoint's HTTP status, when it answered. */
  readonly status: number | undefined;

  /**
   * @param failure - refused or unavailable
   * @param message - what failed
   * @param options - status and cause
   */
  constructor(
    failure: TokenAcquisitionFailure,
    message: string,
    options: TokenAcquisitionErrorOptions = {},
  ) {
    super(message, { cause: options.cause, retryable: failure === 'unavailable' });
    this.failure = failure;
    this.status = options.status;
  }

  /** Whether a value is a {@link TokenAcquisitionError} from any copy of this package. */
  static override is(value: unknown): value is TokenAcquisitionError {
    return PodIdentityError.is(value) && value.code === 'TOKEN_ACQUISITION';
  }
}
