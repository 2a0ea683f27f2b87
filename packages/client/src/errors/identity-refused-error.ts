import { PodIdentityError } from '@pod-identity/core';
import type { TokenRequestErrorDetails } from './token-request-error.js';

/**
 * The token endpoint refused this pod the identity it asked for (401 or 403): the pod is not
 * allowed to use it, or the token issuer refused it. Waiting does not help; a change to the
 * bindings, the exceptions or the identity does. Never `retryable`.
 */
export class IdentityRefusedError extends PodIdentityError {
  override readonly name = 'IdentityRefusedError';
  readonly code = 'IDENTITY_REFUSED';
  /** The HTTP status of the answer. */
  readonly status: number | undefined;
  /** The `error` field of the IMDS-shaped error body, if any. */
  readonly imdsError: string | undefined;
  /** How many requests were sent. */
  readonly attempts: number;

  constructor(message: string, details: Omit<TokenRequestErrorDetails, 'retryable'>) {
    super(message, { cause: details.cause, retryable: false });
    this.status = details.status;
    this.imdsError = details.imdsError;
    this.attempts = details.attempts;
  }

  /** Whether a value is an {@link IdentityRefusedError} from any copy of this package. */
  static override is(value: unknown): value is IdentityRefusedError {
    return PodIdentityError.is(value) && value.code === 'IDENTITY_REFUSED';
  }
}
