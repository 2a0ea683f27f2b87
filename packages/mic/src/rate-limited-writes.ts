// MIC's `--clientQps`: its Kubernetes writes (records, ledger, events) share one client-side limit,
// as the original's client-go client did. Reads, watches and lease renewals are not limited.
import type {
  AssignedIdentityClient,
  OwnershipLedger,
  RateLimiter,
} from '@pod-identity/core/kubernetes';

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
