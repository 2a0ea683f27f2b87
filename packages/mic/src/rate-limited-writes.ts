// MIC's `--clientQps`: a client-side limit on its Kubernetes writes. As in the original, whose record
// client (a REST client of its own) and clientset (events) each had their own client-go token bucket,
// the record writes and the core writes (events, ledger ConfigMaps) each have their own bucket, so an
// event or a ledger write never holds a record write back. Reads, watches and lease renewals are not
// limited.
import type { Clock } from '@pod-identity/core';
import {
  createRateLimiter,
  type AssignedIdentityClient,
  type OwnershipLedger,
  type RateLimiter,
} from '@pod-identity/core/kubernetes';

/** MIC's write limiters: one per client, as client-go gives each client its own token bucket. */
export interface MicWriteLimiters {
  /** AzureAssignedIdentity writes. */
  readonly records: RateLimiter;
  /** Events and ownership-ledger ConfigMaps (the core API group). */
  readonly core: RateLimiter;
}

/**
 * The write limiters for `--clientQps`: each a token bucket of `qps` per second with a burst of twice
 * the rate (client-go's defaults, 5 and 10), so a pod that arrives after a quiet spell does not wait
 * behind the pace of a burst.
 * @param qps - writes per second of each client; `Infinity` for none
 * @param clock - time source. Default the system clock
 * @returns the limiters
 */
export function createMicWriteLimiters(qps: number, clock?: Clock): MicWriteLimiters {
  const burst = Number.isFinite(qps) ? Math.max(1, Math.floor(2 * qps)) : undefined;
  const limiter = (): RateLimiter =>
    createRateLimiter({
      qps,
      ...(burst === undefined ? {} : { burst }),
      ...(clock === undefined ? {} : { clock }),
    });
  return { records: limiter(), core: limiter() };
}

/**
 * The record client with every write waiting for the limiter first.
 * @param inner - the record client
 * @param limiter - the write limiter
 * @returns the limited client
 */
export function rateLimitedRecords(
  inner: AssignedIdentityClient,
  limiter: RateLimiter,
): AssignedIdentityClient {
  return {
    create: async (record, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.create(record, callOptions);
    },
    replace: async (record, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.replace(record, callOptions);
    },
    setState: async (namespace, name, state, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.setState(namespace, name, state, callOptions);
    },
    delete: async (namespace, name, callOptions) => {
      await limiter.acquire(callOptions?.abortSignal);
      return inner.delete(namespace, name, callOptions);
    },
  };
}

/**
 * The ownership ledger with each change waiting for the limiter first.
 * @param inner - the ledger
 * @param limiter - the write limiter
 * @returns the limited ledger
 */
export function rateLimitedLedger(inner: OwnershipLedger, limiter: RateLimiter): OwnershipLedger {
  return {
    load: (loadOptions) => inner.load(loadOptions),
    snapshot: () => inner.snapshot(),
    add: async (target, identities) => {
      if (identities.length > 0) await limiter.acquire();
      return inner.add(target, identities);
    },
    remove: async (target, identities) => {
      if (identities.length > 0) await limiter.acquire();
      return inner.remove(target, identities);
    },
  };
}
