const brand = Symbol.for('pod-identity.error');

/**
 * The closed set of error codes. `switch (error.code)` over it is checked for exhaustiveness.
 * Areas add their code here together with their subclass.
 */
export type PodIdentityErrorCode =
  | 'OBJECT_INVALID'
  | 'CONFIG_INVALID'
  | 'KUBERNETES_API'
  | 'CLOUD_PROVIDER'
  | 'IDENTITY_NOT_FOUND'
  | 'IDENTITY_NOT_ASSIGNED'
  | 'IDENTITY_REFUSED'
  | 'TOKEN_ACQUISITION'
  | 'IMDS_PROTOCOL'
  | 'LEADER_ELECTION'
  | 'TERMINAL';

/** Options every pod-identity error takes. */
export interface PodIdentityErrorOptions {
  /** The error this one wraps. */
  cause?: unknown;
  /** Whether doing the same thing again later may succeed. Default false. */
  retryable?: boolean;
}

/**
 * The root of every error pod-identity throws. Recognise it with {@link PodIdentityError.is}, which
 * works across duplicate copies of the package (a `Symbol.for` brand), unlike `instanceof`.
 * Messages never contain a token or a secret.
 */
export abstract class PodIdentityError extends Error {
  private readonly [brand] = true;
  /** What kind of failure this is. */
  abstract readonly code: PodIdentityErrorCode;
  /** Whether doing the same thing again later may succeed. */
  readonly retryable: boolean;

  constructor(message: string, options: PodIdentityErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }

  /**
   * Whether a value is a pod-identity error, from any copy of this package.
   * @param value - anything caught
   */
  static is(value: unknown): value is PodIdentityError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true
    );
  }
}
