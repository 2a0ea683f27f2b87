import { PodIdentityError } from '../errors/pod-identity-error.js';

/** The ARM operations MIC makes, as the original's `cloud_provider_operations_*` metrics label them. */
export type CloudProviderOperation = 'vmss_get' | 'vmss_update' | 'vm_get' | 'vm_update';

/** Options of {@link CloudProviderError}. */
export interface CloudProviderErrorOptions {
  cause?: unknown;
  /** HTTP status ARM answered, if it answered. */
  statusCode?: number;
  /** ARM error code, e.g. `TooManyRequests`, `LinkedAuthorizationFailed`. */
  armCode?: string;
  /** When ARM asked to wait (`Retry-After`) or the target is still throttled: how long, in ms. */
  retryAfterMs?: number;
}

/**
 * An ARM call for a scale set or VM failed. `retryAfterMs` carries ARM's `Retry-After` so that a work
 * queue requeues that target (and only it) after that delay.
 */
export class CloudProviderError extends PodIdentityError {
  override readonly name = 'CloudProviderError';
  readonly code = 'CLOUD_PROVIDER';
  /** Which call failed. */
  readonly operation: CloudProviderOperation;
  /** HTTP status, when ARM answered. */
  readonly statusCode: number | undefined;
  /** ARM error code, when ARM sent one. */
  readonly armCode: string | undefined;
  /** How long to wait before calling ARM for this target again, when known. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    operation: CloudProviderOperation,
    options: CloudProviderErrorOptions = {},
  ) {
    const status = options.statusCode;
    super(message, {
      cause: options.cause,
      retryable:
        status === undefined || status === 408 || status === 409 || status === 429 || status >= 500,
    });
    this.operation = operation;
    this.statusCode = status;
    this.armCode = options.armCode;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Whether a value is a {@link CloudProviderError} from any copy of this package. */
  static override is(value: unknown): value is CloudProviderError {
    return PodIdentityError.is(value) && value.code === 'CLOUD_PROVIDER';
  }
}
