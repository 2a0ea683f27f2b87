import { PodIdentityError } from '../errors/pod-identity-error.js';

/** A Kubernetes API call failed. `statusCode` is the HTTP status when the API server answered. */
export class KubernetesApiError extends PodIdentityError {
  override readonly name = 'KubernetesApiError';
  readonly code = 'KUBERNETES_API';
  /** HTTP status, when the API server answered. */
  readonly statusCode: number | undefined;
  /** The Kubernetes `Status.reason`, e.g. `Conflict`, `AlreadyExists`, `NotFound`. */
  readonly reason: string | undefined;

  constructor(
    message: string,
    options: { cause?: unknown; statusCode?: number; reason?: string } = {},
  ) {
    const status = options.statusCode;
    super(message, {
      cause: options.cause,
      retryable: status === undefined || status === 409 || status === 429 || status >= 500,
    });
    this.statusCode = status;
    this.reason = options.reason;
  }

  /** Whether a value is a {@link KubernetesApiError} from any copy of this package. */
  static override is(value: unknown): value is KubernetesApiError {
    return PodIdentityError.is(value) && value.code === 'KUBERNETES_API';
  }
}

/**
 * Wraps what a client-node call threw (an `ApiException` with `code` and a `Status` body, or a
 * network error) in a {@link KubernetesApiError}.
 * @param error - what was thrown
 * @param what - the operation, for the message, e.g. `create AzureAssignedIdentity default/x`
 */
export function toKubernetesApiError(error: unknown, what: string): KubernetesApiError {
  if (KubernetesApiError.is(error)) return error;
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    body?: unknown;
    message?: unknown;
  };
  const statusCode = typeof record.code === 'number' ? record.code : undefined;
  let reason: string | undefined;
  let detail = typeof record.message === 'string' ? record.message : String(error);
  const body: unknown = typeof record.body === 'string' ? safeJson(record.body) : record.body;
  if (typeof body === 'object' && body !== null) {
    const status = body as { reason?: unknown; message?: unknown };
    if (typeof status.reason === 'string') reason = status.reason;
    if (typeof status.message === 'string') detail = status.message;
  }
  return new KubernetesApiError(`${what}: ${detail}`, {
    cause: error,
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(reason === undefined ? {} : { reason }),
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
