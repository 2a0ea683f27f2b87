import { PodIdentityError } from '../errors/pod-identity-error.js';

/**
 * How an error body is written: `json` is IMDS's `{"error":…,"error_description":…}` object, `text`
 * is the plain-text line (Go's `http.Error`) that the original NMI wrote for its own checks.
 */
export type ImdsErrorBodyFormat = 'json' | 'text';

/** Options of {@link ImdsProtocolError}. */
export interface ImdsProtocolErrorOptions {
  /** The OAuth-style error code of a JSON body. Default `invalid_request`. */
  error?: string;
  /** Body format. Default `text`. */
  format?: ImdsErrorBodyFormat;
  /** Extra response headers, e.g. `Allow` on a 405. */
  headers?: Readonly<Record<string, string>>;
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * A request that breaks the IMDS wire contract (missing `Metadata: true`, no `resource`, a malformed
 * path or query). Carries the HTTP status and body that IMDS and the original NMI answer with;
 * {@link formatImdsError} turns it into a response. Never retryable: the same request fails again.
 */
export class ImdsProtocolError extends PodIdentityError {
  override readonly name = 'ImdsProtocolError';
  readonly code = 'IMDS_PROTOCOL';
  /** HTTP status to answer with (400, 405, 414). */
  readonly status: number;
  /** OAuth-style error code used by JSON bodies, e.g. `invalid_request`. */
  readonly error: string;
  /** The human-readable description (the whole body of a text error). */
  readonly description: string;
  /** Body format. */
  readonly format: ImdsErrorBodyFormat;
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * @param status - HTTP status
   * @param description - error description; never contains a token or secret
   * @param options - error code, format, headers, cause
   */
  constructor(status: number, description: string, options: ImdsProtocolErrorOptions = {}) {
    super(description, { cause: options.cause, retryable: false });
    this.status = status;
    this.description = description;
    this.error = options.error ?? 'invalid_request';
    this.format = options.format ?? 'text';
    this.headers = options.headers ?? {};
  }

  /** Whether a value is an {@link ImdsProtocolError} from any copy of this package. */
  static override is(value: unknown): value is ImdsProtocolError {
    return PodIdentityError.is(value) && value.code === 'IMDS_PROTOCOL';
  }
}
