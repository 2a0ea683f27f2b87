// What the planner left out, reported once: a log line and a Warning event per new skip, not one per
// pass, so a binding that stays broken does not flood the event stream.
import { silentLogger, type Logger, type PlanSkip } from '@pod-identity/core';
import type { EventRecorder } from '@pod-identity/core/kubernetes';
import { planSkipEvent } from './plan-skip-event.js';

/** Reports a plan's skips, each new one once. */
export interface SkipReporter {
  /**
   * Reports the skips not reported before (or whose message changed). A full pass (`partial` false)
   * also forgets the ones that went away, so they are reported again if they come back; a scoped
   * pass (`partial` true) saw only part of the cluster and forgets nothing.
   */
  report(skipped: readonly PlanSkip[], partial?: boolean): void;
}

/** Options of {@link createSkipReporter}. */
export interface SkipReporterOptions {
  /** Where Warning events go. */
  recorder: Pick<EventRecorder, 'event'>;
  /** Where warnings are logged. Default silent. */
  logger?: Logger;
}

/**
 * Creates a {@link SkipReporter}.
 * @param options - the recorder and logger
 * @returns the reporter
 */
export function createSkipReporter(options: SkipReporterOptions): SkipReporter {
  const log = options.logger ?? silentLogger;
  const reported = new Map<string, string>();
  return {
    report(skipped, partial = false) {
      const now = new Map<string, string>(partial ? reported : []);
      for (const skip of skipped) {
        const key = `${skip.reason}/${skip.kind}/${skip.object}`;
        now.set(key, skip.message);
        if (reported.get(key) === skip.message) continue;
        log.warn({ reason: skip.reason, kind: skip.kind, object: skip.object }, skip.message);
        const event = planSkipEvent(skip);
        if (event !== undefined)
          options.recorder.event(event.object, 'Warning', event.reason, skip.message);
      }
      reported.clear();
      for (const [key, message] of now) reported.set(key, message);
    },
  };
}
