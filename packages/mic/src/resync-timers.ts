// MIC's periodic passes: a full pass every `--syncRetryDuration`, and a drift check (steady targets
// read back from ARM) every `--identity-assignment-reconcile-interval`.
import type { Clock } from '@pod-identity/core';

/** One periodic action. */
export interface Resync {
  /** How often. */
  readonly everyMs: number;
  /** What to do (schedule a pass; it must not throw). */
  readonly run: () => void;
}

/**
 * Runs each action every `everyMs` on `clock` until `signal` aborts (a manual clock drives them in
 * tests).
 *
 * @param clock - the time source
 * @param resyncs - the actions
 * @param signal - stops them all
 */
export function startResyncTimers(
  clock: Clock,
  resyncs: readonly Resync[],
  signal: AbortSignal,
): void {
  for (const resync of resyncs) {
    const loop = async (): Promise<void> => {
      for (;;) {
        await clock.sleep(resync.everyMs, signal);
        resync.run();
      }
    };
    // Ends with the signal's abort (the sleep rejects).
    loop().catch(() => undefined);
  }
}
