import { PodIdentityError, abortReason, parseRetryAfter, systemClock } from '@pod-identity/core';
import { IdentityNotAssignedError } from './errors/identity-not-assigned-error.js';
import { IdentityRefusedError } from './errors/identity-refused-error.js';
import { TokenRequestError } from './errors/token-request-error.js';
import { backoffDelayMs, resolveRetryOptions, type RetryOptions } from './backoff-delay.js';
import { identityQuery, type IdentitySelector } from './identity-selector.js';
import { IMDS_TOKEN_API_VERSION, IMDS_TOKEN_PATH, resolveImdsEndpoint } from './imds-endpoint.js';
import { parseTokenResponse, type PodIdentityToken } from './parse-token-response.js';
import { sendMetadataRequest, type MetadataResponse } from './send-metadata-request.js';

/** Options of {@link getToken}. */
export interface GetTokenOptions {
  /**
   * The token endpoint's scheme, host and port. Default: `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else
   * `http://169.254.169.254` (which NMI intercepts on a pod-identity node).
   */
  endpoint?: string | URL;
  /** Environment to read `AZURE_POD_IDENTITY_AUTHORITY_HOST` from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Cancels the request and any wait between retries; the promise rejects with the signal's reason. */
  abortSignal?: AbortSignal;
  /**
   * Total time for all attempts and waits. Default 90000 ms: long enough to outlast an identity
   * assignment to a scale set right after the pod starts (40–60 s on a VMSS).
   */
  deadlineMs?: number;
  /** Longest one request may take before it counts as a failed attempt. Default 20000 ms. */
  attemptTimeoutMs?: number;
  /** Retry spacing; see {@link RetryOptions}. */
  retry?: RetryOptions;
  /** Source address to send from. NMI identifies the calling pod by it. */
  localAddress?: string;
  /** `api-version` query parameter. Default `2018-02-01`. */
  apiVersion?: string;
  /** Called before each wait between attempts, e.g. to log. Never given the token. */
  onRetry?: (retry: RetryEvent) => void;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Waits `ms`, rejecting with the signal's reason if it aborts. Default a timer. */
  sleep?: (ms: number, abortSignal?: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
}

/** What {@link GetTokenOptions.onRetry} is told before a wait. */
export interface RetryEvent {
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** Its HTTP status, if an answer arrived. */
  status?: number;
  /** Why it failed, without any token. */
  reason: string;
  /** How long the client waits before the next attempt. */
  delayMs: number;
}

const DEFAULT_DEADLINE_MS = 90_000;
const DEFAULT_ATTEMPT_TIMEOUT_MS = 20_000;

/** The last failed attempt, kept to explain the final error. */
interface Failure {
  status?: number;
  imdsError?: string;
  description: string;
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * Acquires an access token for `resource` from IMDS, or from NMI on a pod-identity node, following
 * the retry policy Azure documents for IMDS: 404, 410, 429, 5xx, timeouts and connection errors are
 * retried with exponential backoff and jitter, honouring `Retry-After`, until `maxRetries` or the
 * total deadline; 400, 401 and 403 are not retried.
 *
 * @param resource - the resource (audience) URI, e.g. `https://management.azure.com/`; a scope
 *   ending in `/.default` is accepted and stripped
 * @param identity - which user-assigned identity; omit for the pod's only one
 * @param options - endpoint, deadline, abort signal, retry spacing
 * @throws {@link IdentityNotAssignedError} at once when NMI (or IMDS) answers 400 `Identity not
 *   found` (not `retryable`: no binding gives the pod the identity), or when NMI kept answering 404
 *   until the deadline
 * @throws {@link IdentityRefusedError} on 401 or 403
 * @throws {@link TokenRequestError} on anything else that is not a token
 * @throws {@link ImdsResponseError} when a 200 answer is not a usable token
 * @throws TypeError or RangeError for bad arguments; the signal's reason when aborted
 */
export async function getToken(
  resource: string,
  identity?: IdentitySelector,
  options: GetTokenOptions = {},
): Promise<PodIdentityToken> {
  const target = resourceFromScope(resource);
  const selector = identityQuery(identity);
  const base = resolveImdsEndpoint(options.endpoint, options.env);
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  checkDuration('deadlineMs', deadlineMs);
  checkDuration('attemptTimeoutMs', attemptTimeoutMs);
  const retry = resolveRetryOptions(options.retry);
  const now = options.now ?? Date.now;
  const sleep =
    options.sleep ?? ((ms: number, signal?: AbortSignal) => systemClock.sleep(ms, signal));
  const random = options.random ?? Math.random;
  const { abortSignal } = options;

  const url = new URL(IMDS_TOKEN_PATH, base);
  url.searchParams.set('api-version', options.apiVersion ?? IMDS_TOKEN_API_VERSION);
  url.searchParams.set('resource', target);
  if (selector !== undefined) url.searchParams.set(selector[0], selector[1]);

  const deadlineAt = now() + deadlineMs;
  // The last answer that arrived: a timeout or network error later must not hide NMI's reason.
  let lastAnswer: Failure | undefined;
  for (let attempt = 1; ; attempt++) {
    if (abortSignal?.aborted) throw abortReason(abortSignal);
    const remainingMs = deadlineAt - now();
    const timeoutSignal = AbortSignal.timeout(Math.max(1, Math.min(attemptTimeoutMs, remainingMs)));
    const signal =
      abortSignal === undefined ? timeoutSignal : AbortSignal.any([abortSignal, timeoutSignal]);

    let failure: Failure;
    try {
      const response = await sendMetadataRequest(url, {
        abortSignal: signal,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      });
      if (response.status >= 200 && response.status < 300) {
        return parseTokenResponse(response.body, now(), target);
      }
      failure = failureOf(response, now());
      lastAnswer = failure;
    } catch (error) {
      if (abortSignal?.aborted) throw abortReason(abortSignal);
      if (PodIdentityError.is(error)) throw error;
      failure = timeoutSignal.aborted
        ? {
            description: `no answer within ${Math.min(attemptTimeoutMs, remainingMs)} ms`,
            cause: error,
          }
        : { description: `cannot reach ${base.origin}: ${errorText(error)}`, cause: error };
    }
    if (failure.status !== undefined && !isRetryableStatus(failure.status)) {
      throw finalError(failure, lastAnswer, target, attempt, 'not retried');
    }

    if (attempt > retry.maxRetries) {
      throw finalError(failure, lastAnswer, target, attempt, `gave up after ${attempt} attempts`);
    }
    const delayMs = failure.retryAfterMs ?? backoffDelayMs(attempt, retry, random());
    const leftMs = deadlineAt - now();
    if (delayMs >= leftMs) {
      const why =
        failure.retryAfterMs === undefined
          ? `deadline of ${deadlineMs} ms reached after ${attempt} attempts`
          : `asked to retry after ${failure.retryAfterMs} ms, past the deadline of ${deadlineMs} ms, after ${attempt} attempts`;
      throw finalError(failure, lastAnswer, target, attempt, why);
    }
    options.onRetry?.({
      attempt,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      reason: failure.description,
      delayMs,
    });
    await sleep(delayMs, abortSignal);
  }
}

/** Maps a scope (`https://vault.azure.net/.default`) to the resource IMDS expects. */
export function resourceFromScope(scope: string): string {
  if (typeof scope !== 'string' || scope.trim() === '') {
    throw new TypeError('resource must be a non-empty string');
  }
  const suffix = '/.default';
  const resource = scope.endsWith(suffix) ? scope.slice(0, -suffix.length) : scope;
  if (resource === '') throw new TypeError(`scope ${scope} names no resource`);
  return resource;
}

/** The statuses Azure documents as transient for IMDS: 404 (updating, or NMI still assigning), 410, 429, 5xx. */
function isRetryableStatus(status: number): boolean {
  return status === 404 || status === 410 || status === 429 || (status >= 500 && status <= 599);
}

// The final error: the class and status of the last answer that arrived (so a timeout at the
// deadline still says what NMI last answered, and why), the last attempt's own failure in the text.
function finalError(
  failure: Failure,
  lastAnswer: Failure | undefined,
  resource: string,
  attempts: number,
  why: string,
): Error {
  const answer = failure.status === undefined ? (lastAnswer ?? failure) : failure;
  const details = {
    attempts,
    ...(answer.status === undefined ? {} : { status: answer.status }),
    ...(answer.imdsError === undefined ? {} : { imdsError: answer.imdsError }),
    ...(failure.cause === undefined ? {} : { cause: failure.cause }),
  };
  const describe = (f: Failure): string =>
    `${f.status === undefined ? '' : `${String(f.status)} `}${f.description}`;
  const last =
    answer === failure
      ? describe(failure)
      : `${describe(failure)}; the last answer before it: ${describe(answer)}`;
  if (answer.status === 401 || answer.status === 403) {
    return new IdentityRefusedError(`token for ${resource} refused: ${last}`, details);
  }
  if (isIdentityNotFound(answer)) {
    return new IdentityNotAssignedError(
      `no token for ${resource}: the identity is not bound to this pod and nothing in progress will change that; ${why}; last answer: ${last}`,
      { ...details, retryable: false },
    );
  }
  if (answer.status === 404) {
    return new IdentityNotAssignedError(
      `no token for ${resource}: the identity is not (yet) assigned to this pod; ${why}; last answer: ${last}`,
      details,
    );
  }
  const retryable = answer.status === undefined || isRetryableStatus(answer.status);
  return new TokenRequestError(`no token for ${resource}: ${why}; last answer: ${last}`, {
    ...details,
    retryable,
  });
}

// IMDS's final answer for a user-assigned identity that is not on the VM, which NMI gives (with its
// own reason after these words) when no binding gives the pod the identity.
function isIdentityNotFound(failure: Failure): boolean {
  return (
    failure.status === 400 &&
    failure.imdsError === 'invalid_request' &&
    failure.description.startsWith('Identity not found')
  );
}

/** Describes a non-2xx answer: status, IMDS error code, description and `Retry-After`. */
function failureOf(response: MetadataResponse, nowMs: number): Failure {
  const { imdsError, description } = readErrorBody(response);
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], { now: () => nowMs });
  return {
    status: response.status,
    description,
    ...(imdsError === undefined ? {} : { imdsError }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** Reads an IMDS-shaped error body (`{"error": ..., "error_description": ...}`) or plain text. */
function readErrorBody(response: MetadataResponse): { imdsError?: string; description: string } {
  const text = response.body.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const { error, error_description: description } = parsed as Record<string, unknown>;
      return {
        ...(typeof error === 'string' ? { imdsError: error } : {}),
        description: clip(
          typeof description === 'string' ? description : typeof error === 'string' ? error : text,
        ),
      };
    }
  } catch {
    // Not JSON: NMI's plain-text errors (Go http.Error) land here.
  }
  return { description: clip(text === '' ? 'empty body' : text) };
}

// NMI's reasons name the pod, its selector and what to fix: room for them, but bounded.
function clip(text: string): string {
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code} ${error.message}`;
  }
  return String(error);
}

function checkDuration(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `${name} must be a positive finite number of milliseconds, got ${String(value)}`,
    );
  }
}
