import {
  authorize,
  raceAbort,
  systemClock,
  type AuthorizationDecision,
  type AzureIdentity,
  type Clock,
  type IdentitySelector,
  type PodRecord,
} from '@pod-identity/core';
import type { FreshAuthorizationView, FreshViewReader } from './fresh-authorization-view.js';
import { WARMING_RETRY_AFTER_SECONDS } from './refusal-response.js';
import type { BrokerOutcome } from './token-broker.js';

/** Bounds of {@link RefusalConfirmer}'s reads of the API server. */
export interface RefusalConfirmationOptions {
  /** Confirmation reads allowed back to back before the budget must refill. Default 10. */
  readonly burst?: number;
  /** Confirmation reads the budget regains per second. Default 5. */
  readonly perSecond?: number;
  /** Pods with a confirmation in progress at once; more are answered as unconfirmed. Default 1000. */
  readonly maxPods?: number;
  /** Time source of the budget. Default the system clock. */
  readonly clock?: Clock;
}

/** The defaults of {@link RefusalConfirmationOptions}. */
export const DEFAULT_REFUSAL_CONFIRMATION: Required<Omit<RefusalConfirmationOptions, 'clock'>> = {
  burst: 10,
  perSecond: 5,
  maxPods: 1000,
};

/** A permanent refusal the broker decided from NMI's caches, to be confirmed before it is sent. */
export interface RefusalToConfirm {
  /** The caller as the request found it. */
  readonly pod: PodRecord;
  readonly requested: IdentitySelector;
  /**
   * The cache's decision for the caller when the refusal was made; `undefined` when the cache no
   * longer has the caller (gone or replaced).
   */
  readonly decision: AuthorizationDecision | undefined;
  /** The host route decides without exceptions; so does its confirmation. */
  readonly ignoreExceptions: boolean;
  /** The request's signal: a request that ends stops waiting (the shared read goes on). */
  readonly abortSignal: AbortSignal;
}

/**
 * What a confirmation found: the API server `agrees` with the cache (send the refusal); it `differs`
 * (the cache has not delivered a binding, label or identity yet); or no read could be made
 * (`unavailable`: failed, timed out or over budget), `why` saying which.
 */
export type RefusalVerdict =
  | { readonly kind: 'agrees' }
  | { readonly kind: 'differs' }
  | { readonly kind: 'unavailable'; readonly why: string };

/** Why a confirmation read did not happen. */
class ConfirmationUnavailable extends Error {
  override readonly name = 'ConfirmationUnavailable';
}

/**
 * Confirms a permanent refusal against the API server before NMI sends it. NMI's informers may
 * deliver a pod before the binding that selects it (or before its relabelling, or before the
 * identity a binding names): the cache then says "no binding selects this pod", a refusal the SDKs
 * treat as final although the pod is correctly configured. So a refusal is final only when a fresh
 * read of the pod and of the objects the decision needs decides the same (see `confirmedAnswer` for
 * what NMI answers otherwise: never a token from the fresh read, never a final refusal unconfirmed).
 *
 * Reads are bounded: one per pod at a time (requests arriving meanwhile share the next read, which
 * starts after they arrived, so each verdict reflects the API server as it was after the request
 * came), at most `burst` back to back and `perSecond` afterwards across all pods, and at most
 * `maxPods` pods waiting at once; past these bounds the verdict is `unavailable` without a read.
 */
export class RefusalConfirmer {
  readonly #read: FreshViewReader;
  readonly #options: Required<Omit<RefusalConfirmationOptions, 'clock'>>;
  readonly #clock: Clock;
  readonly #flights = new Map<string, Flight>();
  #tokens: number;
  #refilledAt: number;

  /**
   * @param read - reads a pod's fresh view from the API server
   * @param options - bounds (see {@link DEFAULT_REFUSAL_CONFIRMATION}) and clock
   */
  constructor(read: FreshViewReader, options: RefusalConfirmationOptions = {}) {
    this.#read = read;
    const { clock = systemClock, ...bounds } = options;
    this.#options = { ...DEFAULT_REFUSAL_CONFIRMATION, ...bounds };
    const { burst, perSecond, maxPods } = this.#options;
    if (!Number.isInteger(burst) || burst < 1)
      throw new RangeError('burst must be a positive integer');
    if (!(perSecond > 0)) throw new RangeError('perSecond must be positive');
    if (!Number.isInteger(maxPods) || maxPods < 1)
      throw new RangeError('maxPods must be a positive integer');
    this.#clock = clock;
    this.#tokens = burst;
    this.#refilledAt = clock.now();
  }

  /**
   * Reads the caller's objects from the API server (sharing reads as described above) and decides
   * again from them.
   * @param refusal - the refusal and the cached decision it came from
   * @returns whether the API server agrees with the cache
   * @throws the request's abort reason when its signal aborts first
   */
  async confirm(refusal: RefusalToConfirm): Promise<RefusalVerdict> {
    let fresh: FreshAuthorizationView;
    try {
      fresh = await raceAbort(this.#shared(refusal.pod), refusal.abortSignal);
    } catch (error) {
      refusal.abortSignal.throwIfAborted();
      return {
        kind: 'unavailable',
        why:
          error instanceof ConfirmationUnavailable
            ? error.message
            : 'the API server could not be read to confirm it',
      };
    }
    return agrees(refusal, fresh) ? { kind: 'agrees' } : { kind: 'differs' };
  }

  // The pod's next read: joins the one queued behind a read in progress, or starts one.
  #shared(pod: PodRecord): Promise<FreshAuthorizationView> {
    const key = `${pod.namespace}/${pod.name}`;
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      if (this.#flights.size >= this.#options.maxPods)
        return Promise.reject(new ConfirmationUnavailable('too many refusals are being confirmed'));
      flight = { running: undefined, queued: undefined };
      this.#flights.set(key, flight);
    }
    const current = flight;
    if (current.running === undefined) return this.#start(key, current, pod);
    // A read already in progress may have started before this request arrived: wait for the next.
    current.queued ??= current.running.then(
      () => this.#startQueued(key, current, pod),
      () => this.#startQueued(key, current, pod),
    );
    return current.queued;
  }

  #startQueued(key: string, flight: Flight, pod: PodRecord): Promise<FreshAuthorizationView> {
    flight.queued = undefined;
    return this.#start(key, flight, pod);
  }

  #start(key: string, flight: Flight, pod: PodRecord): Promise<FreshAuthorizationView> {
    const read = this.#takeBudget()
      ? this.#read(pod, AbortSignal.timeout(READ_TIMEOUT_MS))
      : Promise.reject(new ConfirmationUnavailable('confirmation reads are over their budget'));
    flight.running = read;
    const settle = (): void => {
      if (flight.running !== read) return;
      flight.running = undefined;
      if (flight.queued === undefined) this.#flights.delete(key);
    };
    read.then(settle, settle);
    return read;
  }

  // A token bucket: `burst` reads, refilled at `perSecond`.
  #takeBudget(): boolean {
    const now = this.#clock.now();
    const { burst, perSecond } = this.#options;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#refilledAt) / 1000) * perSecond);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** The longest one confirmation read may take. */
const READ_TIMEOUT_MS = 5000;

interface Flight {
  running: Promise<FreshAuthorizationView> | undefined;
  queued: Promise<FreshAuthorizationView> | undefined;
}

// Whether the fresh view gives the refusal's verdict too. A pod the API server no longer has (or has
// under a new UID) cannot be given a token whatever the cache says.
function agrees(refusal: RefusalToConfirm, fresh: FreshAuthorizationView): boolean {
  const { pod, requested, decision } = refusal;
  if (fresh.pod === undefined || (pod.uid !== undefined && fresh.pod.uid !== pod.uid)) return true;
  if (decision === undefined) return false;
  const view = refusal.ignoreExceptions ? { ...fresh.view, exceptions: () => [] } : fresh.view;
  const now = authorize(fresh.pod, requested, view);
  if (decision.kind === 'deny') return now.kind === 'deny' && now.permanent;
  return sameGrant(decision, now);
}

/**
 * Whether two decisions are the same: the same grant, or refusals for the same reason and equally
 * final. `undefined` (the caller unknown) equals only itself.
 * @param a - a decision
 * @param b - another
 */
export function isSameDecision(
  a: AuthorizationDecision | undefined,
  b: AuthorizationDecision | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind === 'deny')
    return b.kind === 'deny' && a.reason === b.reason && a.permanent === b.permanent;
  return sameGrant(a, b);
}

// Refusals decided after a grant (a federated identity without federated mode, no candidate with the
// requested object ID) stand when the fresh view grants the same.
function sameGrant(a: AuthorizationDecision, b: AuthorizationDecision): boolean {
  switch (a.kind) {
    case 'identity':
      return b.kind === 'identity' && sameIdentity(a.identity, b.identity);
    case 'object-id':
      return (
        b.kind === 'object-id' &&
        a.candidates.length === b.candidates.length &&
        a.candidates.every((identity, i) => {
          const other = b.candidates[i];
          return other !== undefined && sameIdentity(identity, other);
        })
      );
    case 'exception':
      return (
        b.kind === 'exception' &&
        a.exception.metadata.name === b.exception.metadata.name &&
        a.exception.metadata.namespace === b.exception.metadata.namespace
      );
    case 'deny':
      return false;
  }
}

function sameIdentity(a: AzureIdentity, b: AzureIdentity): boolean {
  return (
    a.metadata.namespace === b.metadata.namespace &&
    a.metadata.name === b.metadata.name &&
    a.spec.clientID === b.spec.clientID &&
    a.spec.resourceID === b.spec.resourceID &&
    JSON.stringify(a.metadata.annotations ?? {}) === JSON.stringify(b.metadata.annotations ?? {})
  );
}

/**
 * The transient answer to a refusal NMI could not confirm: `503` + `Retry-After: 1`, reason
 * `refusal-unconfirmed`.
 * @param pod - the caller
 * @param why - why it is not confirmed
 */
export function unconfirmedRefusal(pod: PodRecord, why: string): BrokerOutcome {
  return {
    kind: 'refused',
    status: 503,
    message: `NMI could not yet confirm a refusal for pod ${pod.namespace}/${pod.name}: ${why}; retry`,
    reason: 'refusal-unconfirmed',
    retryAfterSeconds: WARMING_RETRY_AFTER_SECONDS,
    nature: 'in-flight',
  };
}
