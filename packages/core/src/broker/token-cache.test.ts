import { describe, expect, it } from 'vitest';
import type { AcquiredToken } from './acquired-token.js';
import { TokenAcquisitionError } from './token-acquisition-error.js';
import { TokenCache, tokenCacheKey, type TokenFetcher } from './token-cache.js';

const HOUR = 3_600_000;

function setup(options: ConstructorParameters<typeof TokenCache>[0] = {}) {
  let now = 1_000_000;
  const cache = new TokenCache({ now: () => now, ...options });
  let calls = 0;
  let lifetimeMs = HOUR;
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let gate = false;
  const fetcher: TokenFetcher = async () => {
    calls += 1;
    const n = calls;
    if (gate) {
      await new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    }
    const token: AcquiredToken = {
      accessToken: `t${n}`,
      expiresOnTimestamp: now + lifetimeMs,
      notBeforeTimestamp: now,
      resource: 'r',
    };
    return [token];
  };
  return {
    cache,
    fetcher,
    advance: (ms: number) => (now += ms),
    calls: () => calls,
    setLifetime: (ms: number) => (lifetimeMs = ms),
    hold: () => (gate = true),
    release: () => {
      gate = false;
      for (const p of pending.splice(0)) p.resolve();
    },
    failHeld: (e: Error) => {
      gate = false;
      for (const p of pending.splice(0)) p.reject(e);
    },
  };
}

const first = async (value: readonly AcquiredToken[] | Promise<readonly AcquiredToken[]>) =>
  (await value)[0]?.accessToken;

describe('TokenCache', () => {
  it('fetches once, then answers hits synchronously', async () => {
    const t = setup();
    expect(await first(t.cache.lookup('k', t.fetcher))).toBe('t1');
    const hit = t.cache.lookup('k', t.fetcher);
    expect(Array.isArray(hit)).toBe(true);
    expect(await first(hit)).toBe('t1');
    expect(t.calls()).toBe(1);
    expect(t.cache.stats).toEqual({ hits: 1, misses: 1 });
  });

  it('shares one upstream call among concurrent misses (single flight)', async () => {
    const t = setup();
    t.hold();
    const waits = Array.from({ length: 50 }, () => t.cache.get('k', t.fetcher));
    await Promise.resolve();
    t.release();
    const tokens = await Promise.all(waits);
    expect(new Set(tokens.map((x) => x[0]?.accessToken))).toEqual(new Set(['t1']));
    expect(t.calls()).toBe(1);
  });

  it('keys by identity and resource', async () => {
    const t = setup();
    await t.cache.get(tokenCacheKey('id1', 'r1'), t.fetcher);
    await t.cache.get(tokenCacheKey('id1', 'r2'), t.fetcher);
    await t.cache.get(tokenCacheKey('id2', 'r1'), t.fetcher);
    expect(t.calls()).toBe(3);
    // No pair of (identity, resource) can spell another pair's key.
    expect(tokenCacheKey('a', 'b\u0000c')).not.toBe(tokenCacheKey('a\u0000b', 'c'));
    expect(tokenCacheKey('a:', 'b')).not.toBe(tokenCacheKey('a', ':b'));
  });

  it('refreshes in the background ahead of expiry while serving the current token', async () => {
    const t = setup({ refreshBeforeExpiryMs: 5 * 60_000 });
    await t.cache.get('k', t.fetcher);
    t.advance(HOUR - 4 * 60_000); // inside the refresh window, still valid
    t.hold();
    expect(await first(t.cache.lookup('k', t.fetcher))).toBe('t1');
    expect(t.calls()).toBe(2);
    expect(await first(t.cache.lookup('k', t.fetcher))).toBe('t1'); // refresh in flight: no second call
    expect(t.calls()).toBe(2);
    t.release();
    await new Promise((r) => setImmediate(r));
    expect(await first(t.cache.lookup('k', t.fetcher))).toBe('t2');
  });

  it('never serves an expired token, nor one about to expire', async () => {
    const t = setup({ minValidityMs: 30_000 });
    await t.cache.get('k', t.fetcher);
    t.advance(HOUR - 10_000);
    expect(await first(t.cache.get('k', t.fetcher))).toBe('t2');
    t.advance(2 * HOUR);
    expect(await first(t.cache.get('k', t.fetcher))).toBe('t3');
  });

  it('refreshes short-lived tokens at half their lifetime, not on every request', async () => {
    const t = setup({ refreshBeforeExpiryMs: 5 * 60_000, minValidityMs: 0 });
    t.setLifetime(2 * 60_000);
    await t.cache.get('k', t.fetcher);
    t.advance(30_000);
    await t.cache.get('k', t.fetcher);
    expect(t.calls()).toBe(1);
    t.advance(40_000);
    await t.cache.get('k', t.fetcher);
    expect(t.calls()).toBe(2);
  });

  it('remembers a failure only for the backoff, then tries again', async () => {
    const t = setup({ errorBackoffMs: 1000 });
    const failing: TokenFetcher = () => Promise.reject(new TokenAcquisitionError('refused', 'no'));
    await expect(t.cache.get('k', failing)).rejects.toThrow('no');
    await expect(t.cache.get('k', t.fetcher)).rejects.toThrow('no'); // within backoff: no call
    expect(t.calls()).toBe(0);
    t.advance(1001);
    expect(await first(t.cache.get('k', t.fetcher))).toBe('t1');
  });

  it('keeps serving a valid token when a background refresh fails', async () => {
    const t = setup({ refreshBeforeExpiryMs: 5 * 60_000, errorBackoffMs: 1000 });
    await t.cache.get('k', t.fetcher);
    t.advance(HOUR - 60_000);
    t.hold();
    void t.cache.lookup('k', t.fetcher);
    await new Promise((r) => setImmediate(r));
    t.failHeld(new Error('imds down'));
    await new Promise((r) => setImmediate(r));
    expect(await first(t.cache.get('k', t.fetcher))).toBe('t1');
    expect(t.calls()).toBe(2); // no retry inside the backoff
    t.advance(1001);
    await first(t.cache.get('k', t.fetcher));
    expect(t.calls()).toBe(3);
  });

  it('refuses tokens that arrive already expired or an empty answer', async () => {
    const t = setup();
    const expired: TokenFetcher = () =>
      Promise.resolve([
        { accessToken: 'x', expiresOnTimestamp: 1, notBeforeTimestamp: 0, resource: 'r' },
      ]);
    await expect(t.cache.get('a', expired)).rejects.toBeInstanceOf(TokenAcquisitionError);
    await expect(t.cache.get('b', () => Promise.resolve([]))).rejects.toBeInstanceOf(
      TokenAcquisitionError,
    );
    await expect(
      t.cache.get('c', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
  });

  it('holds at most maxEntries keys, dropping the least recently used', async () => {
    const t = setup({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) {
      await t.cache.get(k, t.fetcher);
      t.advance(1);
    }
    void t.cache.lookup('a', t.fetcher); // a is now recent; b is the oldest
    t.advance(1);
    await t.cache.get('d', t.fetcher);
    expect(t.cache.size).toBe(3);
    const before = t.calls();
    await t.cache.get('a', t.fetcher);
    expect(t.calls()).toBe(before);
    await t.cache.get('b', t.fetcher);
    expect(t.calls()).toBe(before + 1);
  });

  it('drops a tenth of a full cache at once, so a stream of new keys sorts once per tenth', async () => {
    const t = setup({ maxEntries: 20 });
    for (let i = 0; i < 20; i += 1) {
      await t.cache.get(`k${String(i)}`, t.fetcher);
      t.advance(1);
    }
    await t.cache.get('new-1', t.fetcher);
    expect(t.cache.size).toBe(18); // k0..k2 went, the least recently used
    await t.cache.get('new-2', t.fetcher);
    await t.cache.get('new-3', t.fetcher);
    expect(t.cache.size).toBe(20); // no eviction until the bound is passed again
    const before = t.calls();
    await t.cache.get('k3', t.fetcher);
    expect(t.calls()).toBe(before); // still cached
    await t.cache.get('k0', t.fetcher);
    expect(t.calls()).toBe(before + 1); // dropped
  });

  it('lets one caller stop waiting without cancelling the shared fetch', async () => {
    const t = setup();
    t.hold();
    const controller = new AbortController();
    const abandoned = t.cache.get('k', t.fetcher, { abortSignal: controller.signal });
    const patient = t.cache.get('k', t.fetcher);
    controller.abort(new Error('client went away'));
    await expect(abandoned).rejects.toThrow('client went away');
    await Promise.resolve();
    t.release();
    expect((await patient)[0]?.accessToken).toBe('t1');
  });

  it('validates its options', () => {
    expect(() => new TokenCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new TokenCache({ errorBackoffMs: -1 })).toThrow(RangeError);
  });
});
