import { PodIdentityError } from '@pod-identity/core';
import type { TokenRequestErrorDetails } from './token-request-error.js';

/**
 * The identity is not assigned to this pod. Either finally: NMI (or IMDS) answered 400 `Identity not
 * found` (no binding gives the pod this identity; NMI's reason, with what to fix, is in the message),
 * on the first answer and not `retryable`; or not yet: NMI kept answering 404 until the deadline,
 * normal right after a pod starts while the controller assigns the identity to the node's scale set
 * (tens of seconds on a VMSS), `retryable`.
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

  /**
   * @param message - the message, with the last answer's reason
   * @param details - the last answer; `retryable` defaults to true (still being assigned)
   */
  constructor(message: string, details: TokenRequestErrorDetails) {
    super(message, { cause: details.cause, retryable: details.retryable ?? true });
    this.status = details.status;
    this.imdsError = details.imdsError;
    this.attempts = details.attempts;
  }

  /** Whether a value is an {@link IdentityNotAssignedError} from any copy of this package. */
  static override is(value: unknown): value is IdentityNotAssignedError {
    return PodIdentityError.is(value) && value.code === 'IDENTITY_NOT_ASSIGNED';
  }
}
