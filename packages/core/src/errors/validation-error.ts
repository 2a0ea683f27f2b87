import { PodIdentityError, type PodIdentityErrorOptions } from './pod-identity-error.js';

/**
 * An object (a custom resource, a resource ID, a provider ID, a name) that is not what the wire
 * contract says. `field` names the offending field as a JSON path such as `spec.resourceID`.
 */
export class ValidationError extends PodIdentityError {
  override readonly name = 'ValidationError';
  readonly code = 'OBJECT_INVALID';
  /** Path of the offending field, e.g. `spec.clientPassword.name`; `''` for the whole value. */
  readonly field: string;

  constructor(field: string, message: string, options?: PodIdentityErrorOptions) {
    super(field === '' ? message : `${field}: ${message}`, options);
    this.field = field;
  }

  /** Whether a value is a {@link ValidationError} from any copy of this package. */
  static override is(value: unknown): value is ValidationError {
    return PodIdentityError.is(value) && value.code === 'OBJECT_INVALID';
  }
}
