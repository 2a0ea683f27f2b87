import { describe, expect, it } from 'vitest';
import { checkWalkthroughOutput, runWalkthrough } from '@pod-identity/example-walkthrough';

// `pnpm demo` runs this walkthrough with the demo pod as a child process and checks its output with
// the same function; here the pod runs in-process (its sockets bound to its pod IP), needing no build.
describe('the walkthrough', () => {
  it('passes every step and prints what the walkthrough shows', { timeout: 120_000 }, async () => {
    const lines: string[] = [];
    const result = await runWalkthrough({
      write: (line) => lines.push(line),
      podRunner: 'in-process',
    });
    expect(result.failure).toBeUndefined();
    expect(result).toMatchObject({ ok: true, passed: 11, total: 11 });
    const unmet = checkWalkthroughOutput(lines).filter((e) => !e.met);
    expect(
      unmet.map((e) => e.description),
      lines.join('\n'),
    ).toEqual([]);
  });
});

describe('checkWalkthroughOutput', () => {
  it('notices a missing demo line and a failed step', () => {
    const lines = [
      '[6/11] Run the demo pod',
      '  demo | successfully doARMOperations vm count 0',
      '  FAILED: boom',
      'walkthrough FAILED at step 6',
    ];
    const unmet = checkWalkthroughOutput(lines)
      .filter((e) => !e.met)
      .map((e) => e.description);
    expect(unmet).toContain('step 6: the demo acquired a token');
    expect(unmet).toContain('the 11 steps in order');
    expect(unmet).toContain('no step failed');
    expect(unmet).not.toContain('step 6: listed the VMs through ARM');
  });
});
