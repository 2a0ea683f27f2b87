import { PodIdentityError } from '@pod-identity/core';

/**
 * A 200 answer from the token endpoint that is not a token: not JSON, no `access_token`, or no
 * usable expiry. The body itself is never put in the message (it might hold a token).
 */
export class ImdsResponseError extends PodIdentityError {
  override readonly name = 'ImdsResponseError';
  readonly code = 'IMDS_PROTOCOL';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause, retryable: false });
  }

  /** Whether a value is an {@link ImdsResponseError} from any copy of this package. */
  static override is(value: unknown): value is ImdsResponseError {
    return PodIdentityError.is(value) && value.code === 'IMDS_PROTOCOL';
  }
}
