import { PodIdentityError, type PodIdentityErrorOptions } from './pod-identity-error.js';

/**
 * Reconciling this key again cannot help until something changes; a work queue drops the key
 * instead of requeueing it with backoff (the controller-runtime contract).
 */
export class TerminalError extends PodIdentityError {
  override readonly name = 'TerminalError';
  readonly code = 'TERMINAL';

  constructor(message: string, options?: Omit<PodIdentityErrorOptions, 'retryable'>) {
    super(message, { ...options, retryable: false });
  }

  /** Whether a value is a {@link TerminalError} from any copy of this package. */
  static override is(value: unknown): value is TerminalError {
    return PodIdentityError.is(value) && value.code === 'TERMINAL';
  }
}
