import { PodIdentityError } from '@pod-identity/core';
import type { TokenRequestErrorDetails } from './token-request-error.js';

/**
 * The identity is (still) not assigned to this pod: NMI kept answering 404 (or 503 with
 * `Retry-After`) until the deadline. Right after a pod starts this is normal while the controller
 * assigns the identity to the node's scale set (tens of seconds on a VMSS); it stays so when no
 * binding selects the pod. Always `retryable`.
 */
export class IdentityNotAssignedError extends PodIdentityError {
  override readonly name = 'IdentityNotAssignedError';
  readonly code = 'IDENTITY_NOT_ASSIGNED';
  /** The HTTP status of the last answer. */
  readonly status: number | undefined;
  /** The `error` field of the last IMDS-shaped error body, if any. */
  readonly imdsError: string | undefined;
  /** How many requests were sent before giving up. */
  readonly attempts: number;

  constructor(message: string, details: Omit<TokenRequestErrorDetails, 'retryable'>) {
    super(message, { cause: details.cause, retryable: true });
    this.status = details.status;
    this.imdsError = details.imdsError;
    this.attempts = details.attempts;
  }

  /** Whether a value is an {@link IdentityNotAssignedError} from any copy of this package. */
  static override is(value: unknown): value is IdentityNotAssignedError {
    return PodIdentityError.is(value) && value.code === 'IDENTITY_NOT_ASSIGNED';
  }
}
