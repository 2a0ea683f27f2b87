import {
  authorize,
  type AuthorizationDecision,
  type AuthorizationView,
  type IdentitySelector,
  type PodRecord,
} from '@pod-identity/core';
import type { NmiClusterState } from './cluster-state.js';
import { nextClusterChange } from './next-cluster-change.js';
import { isSameDecision, unconfirmedRefusal, type RefusalConfirmer } from './refusal-confirmer.js';
import type { BrokerOutcome, CallerRecheck } from './token-broker.js';

/** The longest a request waits for NMI's cache to deliver what the API server showed. */
export const CACHE_CATCH_UP_MS = 2000;

/** What {@link confirmedAnswer} needs. */
export interface ConfirmedAnswerOptions {
  readonly confirmer: RefusalConfirmer;
  readonly state: NmiClusterState;
  readonly pod: PodRecord;
  readonly requested: IdentitySelector;
  /** The view the broker decides from (the host route's has no exceptions). */
  readonly view: AuthorizationView;
  readonly recheck: CallerRecheck;
  readonly abortSignal: AbortSignal;
  /** The broker's answer from the cache, asked again once the cache has caught up. */
  readonly answer: () => Promise<BrokerOutcome>;
  /** Default {@link CACHE_CATCH_UP_MS}. */
  readonly catchUpMs?: number;
}

/**
 * The broker's answer, with a permanent refusal confirmed by the API server first. When the API
 * server knows better (the cache has not delivered a binding, label or identity yet), the request
 * waits up to `catchUpMs` for the cache to change its decision and is answered from the cache again;
 * if it does not, or no confirmation read could be made, the answer is `503` + `Retry-After: 1`.
 * Tokens are only ever decided from the cache, with all its checks.
 * @param options - the request, the broker's answer and the confirmer
 */
export async function confirmedAnswer(options: ConfirmedAnswerOptions): Promise<BrokerOutcome> {
  const outcome = await options.answer();
  if (!isPermanentRefusal(outcome)) return outcome;
  // Taken before any wait: the cache's decision that made this refusal.
  const decision = cachedDecision(options);
  const verdict = await options.confirmer.confirm({
    pod: options.pod,
    requested: options.requested,
    decision,
    ignoreExceptions: options.view !== options.state.view,
    abortSignal: options.abortSignal,
  });
  if (verdict.kind === 'agrees') return outcome;
  if (verdict.kind === 'unavailable') return unconfirmedRefusal(options.pod, verdict.why);
  const caughtUp = await untilDecisionChanges(
    options.state,
    () => !isSameDecision(cachedDecision(options), decision),
    options.catchUpMs ?? CACHE_CATCH_UP_MS,
    options.abortSignal,
  );
  const again = caughtUp ? await options.answer() : undefined;
  if (again !== undefined && !isPermanentRefusal(again)) return again;
  return unconfirmedRefusal(
    options.pod,
    "the API server's objects differ from NMI's cache, which is catching up",
  );
}

function isPermanentRefusal(outcome: BrokerOutcome): boolean {
  return outcome.kind === 'refused' && outcome.nature === 'permanent';
}

function cachedDecision(options: ConfirmedAnswerOptions): AuthorizationDecision | undefined {
  const caller = options.recheck();
  return caller === undefined ? undefined : authorize(caller, options.requested, options.view);
}

// Waits, at most `timeoutMs`, until `changed()` holds, checking it on every change of the CRD caches
// or of the pod index. Resolves whether it held.
async function untilDecisionChanges(
  state: NmiClusterState,
  changed: () => boolean,
  timeoutMs: number,
  abortSignal: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!changed()) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return false;
    await nextClusterChange(state, remaining, abortSignal, true);
  }
  return true;
}
