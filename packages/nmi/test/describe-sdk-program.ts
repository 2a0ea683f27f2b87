// The two checks every out-of-process SDK test makes against NMI (Python, Go, Java): the bound
// identity's token, checked by its claims and counted in NMI's metrics, and a refusal for an identity
// on the node that is not bound to the pod, ending on NMI's first answer (one 400) with NMI's reason
// where the application sees it.
import type { SdkOutcome } from '@pod-identity/test-support/sdk-runtimes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf } from './nmi-test-support.js';
import { startSdkFixture, type SdkFixture } from './sdk-fixture.js';

/** What the SDK application saw when it failed. */
export type SdkFailure = Extract<SdkOutcome, { ok: false }>;

/** One SDK's test: how to make its program, run it, and what its refusal looks like. */
export interface SdkProgramSuite<P> {
  /** The describe block's title (the SDK and its version). */
  readonly title: string;
  /** Builds (or finds in the cache) the program. */
  readonly prepare: () => Promise<P>;
  /** How long {@link SdkProgramSuite.prepare} may take on an empty cache. */
  readonly prepareTimeoutMs: number;
  /** Asks for `scope`'s token as `clientId`, from the fixture's pod towards its NMI. */
  readonly getToken: (
    program: P,
    fixture: SdkFixture,
    scope: string,
    clientId: string,
  ) => Promise<SdkOutcome>;
  /** Checks what the application saw of NMI's 400 (the fixture's pod is default/sdk). */
  readonly checkRefusal: (failure: SdkFailure) => void;
}

const SCOPE = 'https://management.azure.com/.default';

/**
 * Declares the SDK's tests against a fixture of its own.
 * @param suite - the SDK
 */
export function describeSdkProgram<P>(suite: SdkProgramSuite<P>): void {
  let fixture: SdkFixture;
  let program: P;

  beforeAll(async () => {
    [program, fixture] = await Promise.all([suite.prepare(), startSdkFixture()]);
  }, suite.prepareTimeoutMs);

  afterAll(async () => {
    await fixture.close();
  });

  describe(suite.title, () => {
    it('gets the bound identity’s token', { timeout: 120_000 }, async () => {
      const before = await fixture.answered(200);
      const outcome = await suite.getToken(program, fixture, SCOPE, fixture.app.clientId);
      if (!outcome.ok) throw new Error(`${outcome.type}: ${outcome.message}`);
      const claims = claimsOf(outcome.token);
      expect(claims.appid).toBe(fixture.app.clientId);
      expect(claims.aud).toBe('https://management.azure.com');
      // From NMI, not from anywhere else.
      expect((await fixture.answered(200)) - before).toBe(1);
    });

    it(
      'fails on NMI’s first answer for an identity not bound to the pod, with NMI’s reason',
      { timeout: 120_000 },
      async () => {
        const before = await fixture.answered(400);
        const outcome = await suite.getToken(program, fixture, SCOPE, fixture.other.clientId);
        expect(outcome.ok).toBe(false);
        if (outcome.ok) return;
        suite.checkRefusal(outcome);
        // One request: no retry of a final answer.
        expect((await fixture.answered(400)) - before).toBe(1);
      },
    );
  });
}
