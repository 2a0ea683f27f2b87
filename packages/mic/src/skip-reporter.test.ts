import type { PlanSkip } from '@pod-identity/core';
import { describe, expect, it } from 'vitest';
import { createSkipReporter } from './skip-reporter.js';

const skip = (object: string, message: string): PlanSkip => ({
  reason: 'invalid-identity',
  kind: 'AzureIdentity',
  object,
  message,
});

describe('createSkipReporter', () => {
  it('records each skip once, again when its message changes or after it went away', () => {
    const events: string[] = [];
    const reporter = createSkipReporter({
      recorder: {
        event: (object, type, reason, message) =>
          events.push(`${object.name} ${type} ${reason}: ${message}`),
      },
    });
    reporter.report([skip('default/id-a', 'bad resourceID')]);
    reporter.report([skip('default/id-a', 'bad resourceID')]);
    expect(events).toEqual(['id-a Warning invalid identity: bad resourceID']);
    reporter.report([skip('default/id-a', 'no clientID')]);
    expect(events).toHaveLength(2);
    // A scoped pass saw part of the cluster: it forgets nothing.
    reporter.report([], true);
    reporter.report([skip('default/id-a', 'no clientID')]);
    expect(events).toHaveLength(2);
    // A full pass without it: gone, so its return is news.
    reporter.report([]);
    reporter.report([skip('default/id-a', 'no clientID')]);
    expect(events).toHaveLength(3);
  });
});
