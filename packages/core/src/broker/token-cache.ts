import { raceAbort } from '../abort/race-abort.js';
import type { AcquiredToken } from './acquired-token.js';
import { TokenAcquisitionError } from './token-acquisition-error.js';

/** Fetches the token(s) for one cache key. Several tokens only for auxiliary tenants, primary first. */
export type TokenFetcher = (abortSignal: AbortSignal) => Promise<readonly AcquiredToken[]>;

/** Options of {@link TokenCache}. */
export interface TokenCacheOptions {
  /**
   * Most keys held (beyond it, the least recently used idle keys are dropped, down to nine tenths).
   * Default 1000. Keys being fetched are never dropped, so the count may pass it by the number of
   * fetches in flight.
   */
  maxEntries?: number;
  /**
   * Refresh in the background this long before expiry (capped at half the token's lifetime, so
   * short-lived tokens are not refreshed on every request). Default 5 minutes.
   */
  refreshBeforeExpiryMs?: number;
  /** Never hand out a token with less validity left than this; fetch a new one instead. Default 30 s. */
  minValidityMs?: number;
  /**
   * After a failed fetch, callers get the same error for this long without a new upstream call, so a
   * broken identity cannot flood IMDS (20 requests a second per VM) or Entra. Default 1 s.
   */
  errorBackoffMs?: number;
  /** Time source (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/** Per-call options of {@link TokenCache.get}. */
export interface TokenCacheGetOptions {
  /** Stops this caller's wait; the shared fetch goes on for other callers. */
  abortSignal?: AbortSignal;
}

interface Entry {
  tokens: readonly AcquiredToken[] | undefined;
  /** Earliest expiry among the tokens. */
  expiresAt: number;
  refreshAt: number;
  lastUsed: number;
  inflight: Promise<readonly AcquiredToken[]> | undefined;
  error: unknown;
  errorUntil: number;
}

/**
 * Tokens keyed by identity and resource (see {@link tokenCacheKey}). One upstream call at a time per
 * key (concurrent misses share it); tokens refreshed in the background ahead of expiry while the
 * current one is still served; never an expired token; failures remembered only for a short backoff;
 * a bounded number of keys.
 *
 * The hot path is {@link TokenCache.lookup}: a hit returns the tokens synchronously.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #refreshBeforeExpiryMs: number;
  readonly #minValidityMs: number;
  readonly #errorBackoffMs: number;
  readonly #now: () => number;
  readonly #closed = new AbortController();
  #hits = 0;
  #misses = 0;

  /** @param options - sizes and timings */
  constructor(options: TokenCacheOptions = {}) {
    this.#maxEntries = positive(options.maxEntries ?? 1000, 'maxEntries');
    this.#refreshBeforeExpiryMs = nonNegative(
      options.refreshBeforeExpiryMs ?? 300_000,
      'refreshBeforeExpiryMs',
    );
    this.#minValidityMs = nonNegative(options.minValidityMs ?? 30_000, 'minValidityMs');
    this.#errorBackoffMs = nonNegative(options.errorBackoffMs ?? 1000, 'errorBackoffMs');
    this.#now = options.now ?? Date.now;
  }

  /** Number of keys held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Lookups answered from the cache, and lookups that had to wait for a fetch. */
  get stats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /**
   * The tokens for a key: synchronously when a valid token is cached (starting a background refresh if
   * it is due), otherwise a promise of the shared fetch.
   *
   * @param key - identity and resource, from {@link tokenCacheKey}
   * @param fetch - gets fresh tokens; called at most once at a time per key
   * @param options - this caller's abort signal
   * @returns the tokens, primary first
   */
  lookup(
    key: string,
    fetch: TokenFetcher,
    options?: TokenCacheGetOptions,
  ): readonly AcquiredToken[] | Promise<readonly AcquiredToken[]> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      entry.lastUsed = now;
      if (entry.tokens !== undefined && now < entry.expiresAt - this.#minValidityMs) {
        if (now >= entry.refreshAt && entry.inflight === undefined) {
          this.#start(entry, fetch).catch(() => {
            // A failed background refresh keeps the still-valid tokens; #start set a retry time.
          });
        }
        this.#hits += 1;
        return entry.tokens;
      }
      if (entry.inflight === undefined && entry.error !== undefined && now < entry.errorUntil) {
        this.#misses += 1;
        return Promise.reject(asError(entry.error));
      }
      this.#misses += 1;
      return raceAbort(entry.inflight ?? this.#start(entry, fetch), options?.abortSignal);
    }
    this.#misses += 1;
    const created: Entry = {
      tokens: undefined,
      expiresAt: 0,
      refreshAt: 0,
      lastUsed: now,
      inflight: undefined,
      error: undefined,
      errorUntil: 0,
    };
    this.#entries.set(key, created);
    this.#evict();
    return raceAbort(this.#start(created, fetch), options?.abortSignal);
  }

  /**
   * The tokens for a key if they are cached, valid, and not yet due for refresh; never fetches.
   * A broker's fast path: on `undefined` it calls {@link TokenCache.lookup}.
   * @param key - identity and resource
   */
  peek(key: string): readonly AcquiredToken[] | undefined {
    const entry = this.#entries.get(key);
    if (entry?.tokens === undefined) return undefined;
    const now = this.#now();
    if (now >= entry.refreshAt || now >= entry.expiresAt - this.#minValidityMs) return undefined;
    entry.lastUsed = now;
    this.#hits += 1;
    return entry.tokens;
  }

  /**
   * Like {@link TokenCache.lookup}, always as a promise.
   * @param key - identity and resource
   * @param fetch - gets fresh tokens
   * @param options - this caller's abort signal
   */
  get(
    key: string,
    fetch: TokenFetcher,
    options?: TokenCacheGetOptions,
  ): Promise<readonly AcquiredToken[]> {
    try {
      return Promise.resolve(this.lookup(key, fetch, options));
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /**
   * Drops a key (for example when its identity is deleted or its secret changes).
   * @param key - the key
   */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every key whose text starts with `prefix` (every resource of one identity). */
  deletePrefix(prefix: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }

  /** Drops everything and aborts fetches in flight. */
  close(): void {
    this.#closed.abort(new Error('token cache closed'));
    this.#entries.clear();
  }

  #start(entry: Entry, fetch: TokenFetcher): Promise<readonly AcquiredToken[]> {
    const promise = (async () => {
      try {
        // Deferred a tick so that `entry.inflight` is set before any outcome is recorded, even if
        // `fetch` throws synchronously.
        const tokens = await Promise.resolve().then(() => fetch(this.#closed.signal));
        const now = this.#now();
        if (tokens.length === 0) {
          throw new TokenAcquisitionError('unavailable', 'token source returned no token');
        }
        let expiresAt = Infinity;
        let notBefore = -Infinity;
        for (const token of tokens) {
          expiresAt = Math.min(expiresAt, token.expiresOnTimestamp);
          notBefore = Math.max(notBefore, token.notBeforeTimestamp);
        }
        if (!(expiresAt > now)) {
          throw new TokenAcquisitionError('unavailable', 'token source returned an expired token');
        }
        const issuedAt = Math.min(now, notBefore);
        const lead = Math.min(this.#refreshBeforeExpiryMs, (expiresAt - issuedAt) / 2);
        entry.tokens = tokens;
        entry.expiresAt = expiresAt;
        entry.refreshAt = expiresAt - lead;
        entry.error = undefined;
        entry.errorUntil = 0;
        return tokens;
      } catch (error) {
        const now = this.#now();
        if (entry.tokens !== undefined && now < entry.expiresAt - this.#minValidityMs) {
          // Background refresh failed: keep serving, try again after the backoff.
          entry.refreshAt = now + this.#errorBackoffMs;
        } else {
          entry.tokens = undefined;
          entry.error = error;
          entry.errorUntil = now + this.#errorBackoffMs;
        }
        throw error;
      } finally {
        entry.inflight = undefined;
      }
    })();
    entry.inflight = promise;
    return promise;
  }

  #evict(): void {
    if (this.#entries.size <= this.#maxEntries) return;
    // Only on inserting a new key into a full cache: drop the least recently used idle entries, down
    // to nine tenths of the bound at once. A caller asking for ever new resources then costs one
    // sort per tenth of the cache rather than one per request.
    const keep = this.#maxEntries - Math.floor(this.#maxEntries / 10);
    const idle = [...this.#entries].filter(([, e]) => e.inflight === undefined);
    idle.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key] of idle) {
      if (this.#entries.size <= keep) break;
      this.#entries.delete(key);
    }
  }
}

/**
 * The cache key of one identity and resource. `identityKey` must name everything that decides which
 * token comes back (type, client ID, tenant, authority, the credential's secret reference, auxiliary
 * tenants), so two AzureIdentities that claim the same client ID with different credentials never
 * share tokens.
 *
 * @param identityKey - e.g. from `tokenSourceKey()` of `@pod-identity/core/azure`
 * @param resource - the requested resource
 */
export function tokenCacheKey(identityKey: string, resource: string): string {
  // Length-prefixed, so no (identity, resource) pair can spell another pair's key.
  return `${identityKey.length}:${identityKey}${resource}`;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`${name} must be at least 1`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must not be negative`);
  return value;
}

// Rejections carry Errors; a non-Error reason (a string passed to abort()) is wrapped.
function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason), { cause: reason });
}
