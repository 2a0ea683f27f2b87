import { formatTextError, type ImdsResponse } from '@pod-identity/core';

/**
 * Why the emulated node broker refuses a token request:
 * - `not-assigned`: the pod has no such identity (yet): no binding selects it, or the controller has
 *   not assigned it to the node so far;
 * - `forbidden`: Azure refused the token (the identity does not exist or may not be used);
 * - `unavailable`: Azure could not be reached or failed;
 * - `unknown-pod`: the caller is no running pod on the node.
 */
export type ImdsRefusalReason = 'not-assigned' | 'forbidden' | 'unavailable' | 'unknown-pod';

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
  'not-assigned': 'no azure identity found for request',
  forbidden: 'failed to get token: the identity was refused by Azure',
  unavailable: 'failed to get token: Azure could not be reached',
  'unknown-pod': 'no running pod found with the request address',
};

const NMI_STATUSES: Readonly<Record<ImdsRefusalReason, number>> = {
  'not-assigned': 404,
  forbidden: 403,
  unavailable: 503,
  'unknown-pod': 500,
};

/**
 * The refusals as pod-identity's NMI answers them today: Go's `http.Error` text shape with 404 (not
 * assigned; 503 when a `Retry-After` is given, as NMI's `--set-retry-after-header` does), 403
 * (refused by Azure), 503 (Azure unavailable) and 500 (unknown pod). Pass another formatter to the
 * handlers to emulate a different broker.
 *
 * @param refusal - the refusal
 * @returns the response
 */
export function nmiRefusalResponse(refusal: ImdsRefusal): ImdsResponse {
  const status =
    refusal.reason === 'not-assigned' && refusal.retryAfterSeconds !== undefined
      ? 503
      : NMI_STATUSES[refusal.reason];
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
  /** The identity is not assigned (yet); with `retryAfterSeconds`, the broker asks to come back. */
  notAssigned: refusal('not-assigned'),
  /** Azure refused the token. */
  forbidden: refusal('forbidden'),
  /** Azure could not be reached. */
  unavailable: refusal('unavailable'),
  /** The caller is no running pod on the node. */
  unknownPod: refusal('unknown-pod'),
} as const;
