/**
 * Seeds for the chaos tier: every scenario draws its random choices from a generator seeded from
 * `CHAOS_SEED` (or a fresh seed, printed), so a failing run can be replayed exactly as far as the
 * scenario's own choices go (the daemons' timing still varies).
 *
 * @module
 */
import { randomInt } from 'node:crypto';

/** A seeded pseudo-random generator (mulberry32). */
export interface SeededRandom {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

/** The run's seed: `CHAOS_SEED` when set, else a fresh one. */
export function runSeed(): number {
  const given = process.env.CHAOS_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError(`CHAOS_SEED must be an integer in 0…4294967295, got ${given}`);
    return seed;
  }
  return randomInt(0, 0xffffffff);
}

/**
 * A generator for one scenario: the run's seed mixed with the scenario's name, so scenarios do not
 * share a sequence and one can be replayed alone.
 * @param seed - the run's seed
 * @param scenario - the scenario's name
 */
export function seededRandom(seed: number, scenario: string): SeededRandom {
  let state = seed >>> 0;
  for (const char of scenario)
    state = (Math.imul(state ^ char.charCodeAt(0), 0x9e3779b1) + 1) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (n) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}
