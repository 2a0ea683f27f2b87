import type { Agent } from 'node:http';
import type { TokenCache } from '@pod-identity/core';
import {
  TokenAcquisitionError,
  authorize,
  isFederatedIdentity,
  systemClock,
  type Clock,
  redactClientId,
  tokenCacheKey,
  type AcquiredToken,
  type AuthorizationDecision,
  type AuthorizationPod,
  type AuthorizationView,
  type AzureIdentity,
  type IdentitySelector,
  type PodRecord,
} from '@pod-identity/core';
import {
  createImdsTokenSource,
  identityTokenKey,
  type TokenSource,
} from '@pod-identity/core/azure';
import type { NmiClusterState } from './cluster-state.js';
import type { NmiMetrics } from './nmi-metrics.js';

/** How long standard mode waits for MIC, as the original's retry flags set it. */
export interface IdentityWaitPolicy {
  /** Attempts while no record exists yet (`--retry-attempts-for-created`). */
  readonly retryAttemptsForCreated: number;
  /** Further attempts while the record is `Created` (`--retry-attempts-for-assigned`). */
  readonly retryAttemptsForAssigned: number;
  /** Interval between attempts (`--find-identity-retry-interval`). */
  readonly intervalMs: number;
  /**
   * Longest hold of one request, whatever the attempts allow. The IMDS-faithful answers cap it so a
   * client's own per-try timeout never fires first (Go's azidentity allows one minute a try).
   */
  readonly maxHoldMs?: number;
}

/**
 * How long a request waits for IMDS or Entra, and what it is told when they do not answer in time.
 * The fetch itself goes on (one per identity and resource, shared by every waiting request) and its
 * token is cached, so the pod's retry is served from the cache.
 */
export interface UpstreamWaitPolicy {
  /** The longest a request waits for an upstream token fetch before it is answered 503. */
  readonly timeoutMs: number;
  /** `Retry-After` of every 503 about an unavailable upstream (seconds). */
  readonly retryAfterSeconds: number;
}

/** The default {@link UpstreamWaitPolicy}: 5 s, well under the per-attempt timeouts SDKs give IMDS. */
export const DEFAULT_UPSTREAM_WAIT: UpstreamWaitPolicy = { timeoutMs: 5000, retryAfterSeconds: 2 };

/**
 * What a refusal means to the client, whatever status carries it:
 * - `permanent`: nothing in flight can change the answer (no binding selects the pod, the identity is
 *   not bound to it, the pod is not running, a federated pod's service account does not name it);
 * - `in-flight`: MIC may still create or assign the pod's record, or NMI's caches are still filling;
 * - `azure-refused`: Azure refused the token (IMDS or Entra said no);
 * - `azure-unavailable`: Azure could not be reached or failed (network, 5xx, unreadable secret);
 * - `internal`: NMI could not decide (an unexpected error).
 */
export type RefusalNature =
  'permanent' | 'in-flight' | 'azure-refused' | 'azure-unavailable' | 'internal';

/** What the broker answers: tokens, or a refusal with the status the original used. */
export type BrokerOutcome =
  | {
      readonly kind: 'tokens';
      readonly tokens: readonly AcquiredToken[];
      readonly identity?: AzureIdentity;
    }
  | {
      readonly kind: 'refused';
      /** 403 (Azure refused), 404 (no identity), 500 (unexpected), 503 (unavailable, or waiting with Retry-After). */
      readonly status: 403 | 404 | 500 | 503;
      readonly message: string;
      /** Why, for logs, metrics and events. */
      readonly reason: string;
      /** `Retry-After` seconds, when set. */
      readonly retryAfterSeconds?: number;
      /** What the refusal means, from which the IMDS-faithful answer is chosen. */
      readonly nature: RefusalNature;
    };

/**
 * Tokens of an AzureIdentity served by federation (annotation `aadpodidentity.k8s.io/federated:
 * "true"`) for one pod: a service-account token of that pod exchanged at Entra. Federated mode's
 * broker provides it.
 */
export interface FederatedIdentityTokens {
  /**
   * The pod's tokens of the identity, through the cache; throws a `TokenAcquisitionError` on failure.
   * @param pod - the caller (its service account is the subject)
   * @param identity - a federated identity its binding gives it
   * @param resource - the resource
   * @param abortSignal - the request's signal
   */
  tokensFor(
    pod: BrokerPod,
    identity: AzureIdentity,
    resource: string,
    abortSignal: AbortSignal,
  ): readonly AcquiredToken[] | Promise<readonly AcquiredToken[]>;
  /**
   * Fresh cached tokens, without fetching; `undefined` on a miss.
   * @param pod - the caller
   * @param identity - a federated identity its binding gives it
   * @param resource - the resource
   */
  peekFor(
    pod: BrokerPod,
    identity: AzureIdentity,
    resource: string,
  ): readonly AcquiredToken[] | undefined;
}

/** The caller as the broker reads it: what `authorize()` reads, and its service account. */
export type BrokerPod = AuthorizationPod & Pick<PodRecord, 'serviceAccountName'>;

/** Dependencies of {@link TokenBroker}. */
export interface TokenBrokerOptions {
  readonly state: NmiClusterState;
  readonly cache: TokenCache;
  readonly wait: IdentityWaitPolicy;
  /** Answer 503 + `Retry-After: 20` instead of 404 when MIC may still assign (`--set-retry-after-header`). */
  readonly setRetryAfterHeader: boolean;
  /** Builds the source of an identity's tokens (reads its secret for service principals). */
  readonly sourceFor: (identity: AzureIdentity, abortSignal: AbortSignal) => Promise<TokenSource>;
  /**
   * Answer a refusal that nothing in flight can change at once, without waiting for MIC (the
   * IMDS-faithful answers). Default false: the original waited for every refusal in standard mode.
   */
  readonly failFastWhenPermanent?: boolean;
  /** Settings of the node IMDS source used for exception pods. */
  readonly nodeImds: { endpoint: string; userAgent?: string; agent?: Agent };
  readonly metrics?: NmiMetrics;
  /** How long requests wait for IMDS or Entra. Default {@link DEFAULT_UPSTREAM_WAIT}. */
  readonly upstreamWait?: UpstreamWaitPolicy;
  /** Time source of the upstream wait. Default the system clock. */
  readonly clock?: Clock;
  /**
   * Serves identities federated by annotation; without it (federated mode off) a pod given such an
   * identity is refused, saying so.
   */
  readonly federated?: FederatedIdentityTokens;
}

/** Thrown into a request's wait when the upstream wait ran out. */
class UpstreamWaitExceeded extends Error {
  override readonly name = 'UpstreamWaitExceeded';
}

/** Why the upstream-wait timer is cancelled: the wait is over (made once, not per request). */
const WAIT_OVER = new Error('the upstream wait is over');

/**
 * Reads the caller again as the pod index has it now: the same pod (namespace, name and UID), still
 * owning the request's source, with its current labels; `undefined` when it is gone or was replaced
 * by another pod. Lets a decision that took time (a wait for MIC, a token fetch) be checked against
 * the pod as it is when the answer goes out, not as it was when the request arrived.
 */
export type CallerRecheck = () => AuthorizationPod | undefined;

/** Seconds the original asked clients to wait (enough for MIC to finish a cycle). */
export const RETRY_AFTER_SECONDS = 20;

/**
 * The decision and token half of NMI, independent of HTTP: authorises a pod (waiting for MIC in
 * standard mode as configured), then gets the token through the cache.
 */
export class TokenBroker {
  readonly #options: TokenBrokerOptions;
  readonly #nodeSources = new Map<string, TokenSource>();
  // Informer caches hand out the same object until it changes, so the key is computed once per version.
  readonly #identityKeys = new WeakMap<AzureIdentity, string>();
  readonly #hitCounter: { inc(): void } | undefined;
  readonly #upstreamWait: UpstreamWaitPolicy;
  readonly #clock: Clock;

  /** @param options - state, cache, policies */
  constructor(options: TokenBrokerOptions) {
    this.#options = options;
    this.#upstreamWait = options.upstreamWait ?? DEFAULT_UPSTREAM_WAIT;
    this.#clock = options.clock ?? systemClock;
    if (!(this.#upstreamWait.timeoutMs > 0))
      throw new RangeError('upstreamWait.timeoutMs must be positive');
    if (
      !Number.isInteger(this.#upstreamWait.retryAfterSeconds) ||
      this.#upstreamWait.retryAfterSeconds < 1
    )
      throw new RangeError('upstreamWait.retryAfterSeconds must be a positive integer');
    this.#hitCounter = options.metrics?.cacheRequests.labels({ result: 'hit' });
  }

  /**
   * Decides, waiting for MIC when the decision may still change, at most as long as the policy allows.
   * @param pod - the caller
   * @param requested - the identity the request names
   * @param view - the view to decide from (the host route passes one without exceptions)
   * @param abortSignal - the request's signal
   * @param recheck - reads the caller again after each wait (a pod relabelled or replaced meanwhile)
   */
  async decide(
    pod: AuthorizationPod,
    requested: IdentitySelector,
    view: AuthorizationView,
    abortSignal: AbortSignal,
    recheck?: CallerRecheck,
  ): Promise<AuthorizationDecision> {
    const { wait } = this.#options;
    const started = Date.now();
    let caller = pod;
    for (let first = true; ; first = false) {
      if (!first && recheck !== undefined) {
        const current = recheck();
        if (current === undefined) return callerGone(pod);
        caller = current;
      }
      const decision = authorize(caller, requested, view);
      if (decision.kind !== 'deny' || decision.waitFor === undefined) return decision;
      if (this.#options.failFastWhenPermanent === true && this.#isSettled(decision))
        return decision;
      const attempts =
        decision.waitFor === 'created'
          ? wait.retryAttemptsForCreated
          : wait.retryAttemptsForCreated + wait.retryAttemptsForAssigned;
      const holdMs = Math.min(attempts * wait.intervalMs, wait.maxHoldMs ?? Infinity);
      const remaining = started + holdMs - Date.now();
      if (remaining <= 0) return decision;
      // Wake on the next CRD change (MIC writing the record) or after one interval, like the
      // original's retry loop but without sleeping past the moment the record appears.
      await this.#options.state.changed(Math.min(wait.intervalMs, remaining), abortSignal);
    }
  }

  /**
   * The full answer for a pod's token request.
   * @param pod - the caller
   * @param requested - the identity the request names
   * @param resource - the requested resource
   * @param view - the view to decide from
   * @param abortSignal - the request's signal
   * @param recheck - reads the caller again after waits and before tokens go out; without it the
   *   pod is taken as it was when the request arrived
   */
  async answer(
    pod: BrokerPod,
    requested: IdentitySelector,
    resource: string,
    view: AuthorizationView,
    abortSignal: AbortSignal,
    recheck?: CallerRecheck,
  ): Promise<BrokerOutcome> {
    const decision = await this.decide(pod, requested, view, abortSignal, recheck);
    const outcome = await this.#serve(pod, decision, requested, resource, abortSignal);
    if (outcome.kind !== 'tokens' || recheck === undefined) return outcome;
    // The fetch took time: the tokens go out only if the pod, as it is now, may still have them.
    const current = recheck();
    if (current !== undefined && this.#stillPermits(outcome, authorize(current, requested, view)))
      return outcome;
    const gone = current === undefined ? callerGone(pod) : authorize(current, requested, view);
    return {
      kind: 'refused',
      status: 404,
      message:
        gone.kind === 'deny'
          ? gone.message
          : `pod ${pod.namespace}/${pod.name} changed while its token was fetched`,
      reason: gone.kind === 'deny' ? gone.reason : 'pod-changed',
      nature: gone.kind === 'deny' && !this.#isSettled(gone) ? 'in-flight' : 'permanent',
    };
  }

  // A refusal is final only when the decision says nothing is in flight and NMI's caches hold the
  // whole cluster: before their first list, a missing binding may simply not have arrived yet.
  #isSettled(decision: Extract<AuthorizationDecision, { kind: 'deny' }>): boolean {
    return decision.permanent && this.#options.state.isSynced();
  }

  // Whether a later decision still gives what was served: the same identity (or, for object_id,
  // still a candidate), or node tokens to a pod that is still excepted.
  #stillPermits(
    served: Extract<BrokerOutcome, { kind: 'tokens' }>,
    now: AuthorizationDecision,
  ): boolean {
    if (served.identity === undefined) return now.kind === 'exception';
    const key = this.#identityKey(served.identity);
    if (now.kind === 'identity') return this.#identityKey(now.identity) === key;
    if (now.kind === 'object-id')
      return now.candidates.some((identity) => this.#identityKey(identity) === key);
    return false;
  }

  async #serve(
    pod: BrokerPod,
    decision: AuthorizationDecision,
    requested: IdentitySelector,
    resource: string,
    abortSignal: AbortSignal,
  ): Promise<BrokerOutcome> {
    switch (decision.kind) {
      case 'identity':
        if (isFederatedIdentity(decision.identity) && this.#options.federated === undefined)
          return {
            kind: 'refused',
            status: 404,
            message: `AzureIdentity ${decision.identity.metadata.namespace ?? ''}/${decision.identity.metadata.name} is served by federation (aadpodidentity.k8s.io/federated), but this NMI runs without federated mode (--token-request-kubeconfig)`,
            reason: 'federation-off',
            nature: 'permanent',
          };
        return this.#tokensOf(pod, decision.identity, resource, abortSignal);
      case 'object-id':
        return this.#byObjectId(pod, decision.objectId, decision.candidates, resource, abortSignal);
      case 'exception':
        return this.#nodeTokens(requested, resource, abortSignal);
      case 'deny': {
        const mayChange = decision.waitFor !== undefined;
        const nature = this.#isSettled(decision) ? 'permanent' : 'in-flight';
        if (mayChange && this.#options.setRetryAfterHeader) {
          return {
            kind: 'refused',
            status: 503,
            message: decision.message,
            reason: decision.reason,
            retryAfterSeconds: RETRY_AFTER_SECONDS,
            nature,
          };
        }
        return {
          kind: 'refused',
          status: 404,
          message: decision.message,
          reason: decision.reason,
          nature,
        };
      }
    }
  }

  /**
   * Tokens of an identity through the cache (synchronously on a hit).
   * @param identity - the identity
   * @param resource - the resource
   * @param abortSignal - the request's signal
   */
  tokensOf(
    identity: AzureIdentity,
    resource: string,
    abortSignal: AbortSignal,
  ): readonly AcquiredToken[] | Promise<readonly AcquiredToken[]> {
    const key = tokenCacheKey(this.#identityKey(identity), resource);
    const result = this.#options.cache.lookup(
      key,
      (signal) => this.#fetch(identity, resource, signal),
      { abortSignal },
    );
    this.#options.metrics?.cacheRequests.inc({
      result: result instanceof Promise ? 'miss' : 'hit',
    });
    return result;
  }

  /**
   * The cached tokens of an identity when they are fresh, without fetching (the request fast path);
   * `undefined` on a miss or when a refresh is due, so the caller takes the full path.
   * @param identity - the identity
   * @param resource - the resource
   */
  peek(identity: AzureIdentity, resource: string): readonly AcquiredToken[] | undefined {
    if (isFederatedIdentity(identity)) return undefined;
    const tokens = this.#options.cache.peek(tokenCacheKey(this.#identityKey(identity), resource));
    if (tokens !== undefined) this.#hitCounter?.inc();
    return tokens;
  }

  /**
   * {@link TokenBroker.peek} for a pod: an identity federated by annotation is looked up in the pod's
   * own entry.
   * @param pod - the caller
   * @param identity - the identity `authorize()` chose
   * @param resource - the resource
   */
  peekFor(
    pod: BrokerPod,
    identity: AzureIdentity,
    resource: string,
  ): readonly AcquiredToken[] | undefined {
    if (!isFederatedIdentity(identity)) return this.peek(identity, resource);
    return this.#options.federated?.peekFor(pod, identity, resource);
  }

  // The identity's tokens for the pod: from its own cache entry when the identity is federated.
  #tokensFor(
    pod: BrokerPod,
    identity: AzureIdentity,
    resource: string,
    signal: AbortSignal,
  ): readonly AcquiredToken[] | Promise<readonly AcquiredToken[]> {
    const federated = this.#options.federated;
    return federated !== undefined && isFederatedIdentity(identity)
      ? federated.tokensFor(pod, identity, resource, signal)
      : this.tokensOf(identity, resource, signal);
  }

  #identityKey(identity: AzureIdentity): string {
    let key = this.#identityKeys.get(identity);
    if (key === undefined) {
      key = identityTokenKey(identity);
      this.#identityKeys.set(identity, key);
    }
    return key;
  }

  async #tokensOf(
    pod: BrokerPod,
    identity: AzureIdentity,
    resource: string,
    abortSignal: AbortSignal,
  ): Promise<BrokerOutcome> {
    return this.#withinUpstreamWait(abortSignal, identity.spec.clientID ?? '', async (signal) => ({
      kind: 'tokens',
      tokens: await this.#tokensFor(pod, identity, resource, signal),
      identity,
    }));
  }

  /**
   * Runs a token fetch for a request, waiting at most the upstream wait: past it the request is
   * answered 503 with `Retry-After` while the fetch goes on for the retry. Failures become refusals.
   */
  async #withinUpstreamWait(
    abortSignal: AbortSignal,
    clientId: string,
    run: (signal: AbortSignal) => Promise<BrokerOutcome>,
  ): Promise<BrokerOutcome> {
    const { timeoutMs, retryAfterSeconds } = this.#upstreamWait;
    // One signal for "stop waiting": the request's end or the upstream wait, whichever comes first.
    // Plain listeners rather than AbortSignal.any, and the timer cancelled with a reason made once
    // (a reasonless abort() builds a DOMException with a stack): this runs on every cache miss.
    const waiting = new AbortController();
    const onRequestAbort = (): void => {
      waiting.abort(abortSignal.reason);
    };
    if (abortSignal.aborted) onRequestAbort();
    else abortSignal.addEventListener('abort', onRequestAbort, { once: true });
    const timer = new AbortController();
    this.#clock.sleep(timeoutMs, timer.signal).then(
      () => {
        waiting.abort(new UpstreamWaitExceeded(`no token within ${String(timeoutMs)} ms`));
      },
      () => undefined,
    );
    try {
      return await run(waiting.signal);
    } catch (error) {
      if (waiting.signal.reason instanceof UpstreamWaitExceeded && !abortSignal.aborted) {
        const suffix = clientId === '' ? '' : ` for ${redactClientId(clientId)}`;
        return {
          kind: 'refused',
          status: 503,
          message: `the token${suffix} is still being fetched (no answer from the token endpoint within ${String(timeoutMs)} ms); retry`,
          reason: 'token-unavailable',
          retryAfterSeconds,
          nature: 'azure-unavailable',
        };
      }
      return refusal(error, clientId, retryAfterSeconds);
    } finally {
      abortSignal.removeEventListener('abort', onRequestAbort);
      timer.abort(WAIT_OVER);
    }
  }

  async #fetch(
    identity: AzureIdentity,
    resource: string,
    signal: AbortSignal,
  ): Promise<readonly AcquiredToken[]> {
    const operation = identity.spec.type === 0 ? 'adal_token_msi_userassignedid' : 'adal_token';
    const metrics = this.#options.metrics;
    const end = metrics?.upstreamDuration.startTimer({ operation_type: operation });
    try {
      const source = await this.#options.sourceFor(identity, signal);
      const tokens = await source.getTokens(resource, { abortSignal: signal });
      // The original logged a mismatch; a client_id the IMDS token does not carry is a wrong answer.
      return tokens.map((token) =>
        token.clientId === undefined && identity.spec.clientID !== undefined
          ? { ...token, clientId: identity.spec.clientID }
          : token,
      );
    } catch (error) {
      metrics?.upstreamErrors.inc({ operation_type: operation });
      throw error;
    } finally {
      end?.();
    }
  }

  async #byObjectId(
    pod: BrokerPod,
    objectId: string,
    candidates: readonly AzureIdentity[],
    resource: string,
    abortSignal: AbortSignal,
  ): Promise<BrokerOutcome> {
    const wanted = objectId.toLowerCase();
    return this.#withinUpstreamWait(abortSignal, '', async (signal) => {
      let lastError: unknown;
      for (const identity of candidates) {
        try {
          const tokens = await this.#tokensFor(pod, identity, resource, signal);
          if (tokens[0]?.objectId?.toLowerCase() === wanted)
            return { kind: 'tokens', tokens, identity };
        } catch (error) {
          signal.throwIfAborted();
          lastError = error;
        }
      }
      if (lastError instanceof Error) throw lastError;
      if (lastError !== undefined) throw new Error('token fetch failed', { cause: lastError });
      return {
        kind: 'refused',
        status: 404,
        message: 'no azure identity found for request objectID',
        reason: 'identity-not-bound',
        nature: 'permanent',
      };
    });
  }

  async #nodeTokens(
    requested: IdentitySelector,
    resource: string,
    abortSignal: AbortSignal,
  ): Promise<BrokerOutcome> {
    // An excepted pod gets what IMDS would give it without pod-identity: exactly the selector it sent
    // (none: the node's system-assigned identity).
    const source = this.#nodeSource(requested);
    const operation =
      requested.kind === 'none' ? 'adal_token_msi' : 'adal_token_msi_userassignedid';
    const metrics = this.#options.metrics;
    return this.#withinUpstreamWait(
      abortSignal,
      requested.kind === 'clientId' ? requested.clientId : '',
      async (signal) => {
        const result = this.#options.cache.lookup(
          tokenCacheKey(`node/${source.key}`, resource),
          async (fetchSignal) => {
            const end = metrics?.upstreamDuration.startTimer({ operation_type: operation });
            try {
              return await source.getTokens(resource, { abortSignal: fetchSignal });
            } catch (error) {
              metrics?.upstreamErrors.inc({ operation_type: operation });
              throw error;
            } finally {
              end?.();
            }
          },
          { abortSignal: signal },
        );
        return { kind: 'tokens', tokens: await result };
      },
    );
  }

  #nodeSource(selector: IdentitySelector): TokenSource {
    const key = JSON.stringify(selector);
    let source = this.#nodeSources.get(key);
    if (source === undefined) {
      source = createImdsTokenSource({ ...this.#options.nodeImds, selector });
      if (this.#nodeSources.size > 1000) this.#nodeSources.clear();
      this.#nodeSources.set(key, source);
    }
    return source;
  }
}

function callerGone(pod: AuthorizationPod): Extract<AuthorizationDecision, { kind: 'deny' }> {
  return {
    kind: 'deny',
    reason: 'pod-not-live',
    message: `pod ${pod.namespace}/${pod.name} is gone or was replaced while its request waited`,
    permanent: true,
  };
}

function refusal(error: unknown, clientId: string, retryAfterSeconds: number): BrokerOutcome {
  const suffix = clientId === '' ? '' : ` for ${redactClientId(clientId)}`;
  return tokenFailureOutcome(error, retryAfterSeconds, `failed to get token${suffix}`);
}

/**
 * The answer to a failed token acquisition, on the standard and federated paths alike. As the
 * original: an error from Azure's token endpoint is 403, anything else (network, secret, certificate)
 * is 503, and a 503 always says when to come back; an error that is no TokenAcquisitionError is 500.
 * @param error - what the token source threw
 * @param retryAfterSeconds - the 503's `Retry-After`
 * @param internalMessage - the 500's message (never the error's own text, which may carry secrets)
 */
export function tokenFailureOutcome(
  error: unknown,
  retryAfterSeconds: number,
  internalMessage: string,
): BrokerOutcome {
  if (TokenAcquisitionError.is(error)) {
    return error.failure === 'refused'
      ? {
          kind: 'refused',
          status: 403,
          message: error.message,
          reason: 'token-refused',
          nature: 'azure-refused',
        }
      : {
          kind: 'refused',
          status: 503,
          message: error.message,
          reason: 'token-unavailable',
          retryAfterSeconds,
          nature: 'azure-unavailable',
        };
  }
  return {
    kind: 'refused',
    status: 500,
    message: internalMessage,
    reason: 'internal',
    nature: 'internal',
  };
}
