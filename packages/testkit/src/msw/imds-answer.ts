import { formatTextError, type ImdsResponse } from '@pod-identity/core';

/**
 * Why the emulated node broker refuses a token request:
 * - `not-bound`: no binding gives the pod this identity, and nothing in progress will (NMI's final
 *   refusal);
 * - `not-assigned`: the controller has not assigned the pod's identity to the node so far;
 * - `forbidden`: Azure refused the token (the identity does not exist or may not be used);
 * - `unavailable`: Azure could not be reached or failed;
 * - `unknown-pod`: the caller is no running pod on the node.
 */
export type ImdsRefusalReason =
  'not-bound' | 'not-assigned' | 'forbidden' | 'unavailable' | 'unknown-pod';

/** A refusal, before it is given a wire shape by an {@link ImdsRefusalFormatter}. */
export interface ImdsRefusal {
  readonly reason: ImdsRefusalReason;
  /** The message of the answer; each reason has a default. */
  readonly message?: string;
  /** Sent as `Retry-After` (seconds) when set. */
  readonly retryAfterSeconds?: number;
}

/** What the emulated endpoint answers one token request with. */
export type ImdsAnswer =
  | {
      readonly kind: 'token';
      /** The access token; default a JWT-shaped token naming the resource and identity. */
      readonly accessToken?: string;
      /** Lifetime from now; default the handlers' `expiresInSeconds`. */
      readonly expiresInSeconds?: number;
      /** Answer only after this long (a slow node broker or Azure). */
      readonly delayMs?: number;
    }
  | (ImdsRefusal & {
      readonly kind: 'refusal';
      /** Answer only after this long. */
      readonly delayMs?: number;
    });

/** Turns a refusal into the HTTP response the application sees. */
export type ImdsRefusalFormatter = (refusal: ImdsRefusal) => ImdsResponse;

const DEFAULT_MESSAGES: Readonly<Record<ImdsRefusalReason, string>> = {
  'not-bound': 'no azure identity found for request: no binding gives it to the pod',
  'not-assigned': 'no azure identity found for request',
  forbidden: 'failed to get token: the identity was refused by Azure',
  unavailable: 'failed to get token: Azure could not be reached',
  'unknown-pod': 'no running pod found with the request address',
};

// NMI's answers (--refusal-style=imds, its default): status, OAuth error code, default Retry-After.
const NMI_ANSWERS: Readonly<
  Record<ImdsRefusalReason, { status: number; error: string; retryAfterSeconds?: number }>
> = {
  'not-bound': { status: 400, error: 'invalid_request' },
  'not-assigned': { status: 503, error: 'temporarily_unavailable', retryAfterSeconds: 5 },
  forbidden: { status: 403, error: 'access_denied' },
  unavailable: { status: 503, error: 'temporarily_unavailable', retryAfterSeconds: 5 },
  'unknown-pod': { status: 503, error: 'temporarily_unavailable', retryAfterSeconds: 1 },
};

/**
 * The refusals as pod-identity's NMI answers them (its default `--refusal-style=imds`), in IMDS's
 * JSON error shape: `not-bound` is IMDS's final `400` `{"error":"invalid_request",
 * "error_description":"Identity not found: …"}` (no `Retry-After`); `not-assigned`, `unavailable`
 * and `unknown-pod` are `503` with `Retry-After` (5, 5 and 1 s unless the refusal gives one);
 * `forbidden` is `403`. Pass another formatter to the handlers to emulate a different broker, or
 * {@link originalNmiRefusalResponse} for NMI's `--refusal-style=original`.
 *
 * @param refusal - the refusal
 * @returns the response
 */
export function nmiRefusalResponse(refusal: ImdsRefusal): ImdsResponse {
  const answer = NMI_ANSWERS[refusal.reason];
  const message = refusal.message ?? DEFAULT_MESSAGES[refusal.reason];
  const retryAfter =
    answer.retryAfterSeconds === undefined
      ? undefined
      : (refusal.retryAfterSeconds ?? answer.retryAfterSeconds);
  return {
    status: answer.status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    },
    body: `${JSON.stringify({
      error: answer.error,
      error_description:
        refusal.reason === 'not-bound' ? `Identity not found: ${message}` : message,
    })}\n`,
  };
}

const ORIGINAL_STATUSES: Readonly<Record<ImdsRefusalReason, number>> = {
  'not-bound': 404,
  'not-assigned': 404,
  forbidden: 403,
  unavailable: 503,
  'unknown-pod': 500,
};

/**
 * The refusals as the original NMI answered them (and pod-identity's NMI with
 * `--refusal-style=original`): Go's `http.Error` text shape with 404 (no identity; 503 when a
 * `Retry-After` is given, as `--set-retry-after-header` does), 403 (refused by Azure), 503 (Azure
 * unavailable) and 500 (unknown pod).
 *
 * @param refusal - the refusal
 * @returns the response
 */
export function originalNmiRefusalResponse(refusal: ImdsRefusal): ImdsResponse {
  const status =
    (refusal.reason === 'not-assigned' || refusal.reason === 'not-bound') &&
    refusal.retryAfterSeconds !== undefined
      ? 503
      : ORIGINAL_STATUSES[refusal.reason];
  return formatTextError(
    status,
    refusal.message ?? DEFAULT_MESSAGES[refusal.reason],
    refusal.retryAfterSeconds === undefined
      ? {}
      : { 'retry-after': String(refusal.retryAfterSeconds) },
  );
}

/** Options of a refusal shorthand: its message, `Retry-After` and delay. */
type RefusalOptions = Omit<ImdsRefusal, 'reason'> & { readonly delayMs?: number };

const refusal =
  (reason: ImdsRefusalReason) =>
  (options: RefusalOptions = {}): ImdsAnswer => ({ kind: 'refusal', reason, ...options });

/** Shorthands for {@link ImdsAnswer}s. */
export const imdsAnswer = {
  /** A token (optionally with its own value, lifetime or delay). */
  token: (options: Omit<Extract<ImdsAnswer, { kind: 'token' }>, 'kind'> = {}): ImdsAnswer => ({
    kind: 'token',
    ...options,
  }),
  /** No binding gives the pod the identity: NMI's final refusal. */
  notBound: refusal('not-bound'),
  /** The identity is not assigned yet; the broker asks to come back (`retryAfterSeconds`). */
  notAssigned: refusal('not-assigned'),
  /** Azure refused the token. */
  forbidden: refusal('forbidden'),
  /** Azure could not be reached. */
  unavailable: refusal('unavailable'),
  /** The caller is no running pod on the node. */
  unknownPod: refusal('unknown-pod'),
} as const;
