// The broker's upstream wait: a request never waits for IMDS or Entra longer than the policy says,
// every 503 carries Retry-After, and the fetch a request stopped waiting for still fills the cache.
import {
  TokenAcquisitionError,
  TokenCache,
  type AcquiredToken,
  type AuthorizationView,
  type AzureIdentity,
  type AzureIdentityBinding,
  createManualClock,
  type Clock,
} from '@pod-identity/core';
import { describe, expect, it } from 'vitest';
import type { NmiClusterState } from './cluster-state.js';
import { TokenBroker } from './token-broker.js';

const identity = {
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { name: 'id', namespace: 'apps' },
  spec: {
    type: 0,
    resourceID:
      '/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/id',
    clientID: '00000000-0000-0000-0000-00000000000a',
  },
} as AzureIdentity;
const binding = {
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentityBinding',
  metadata: { name: 'b', namespace: 'apps' },
  spec: { azureIdentity: 'id', selector: 'app' },
} as AzureIdentityBinding;
const view: AuthorizationView = {
  mode: 'managed',
  exceptions: () => [],
  assignedIdentities: () => [],
  bindings: () => [binding],
  identities: () => [identity],
};
const pod = { namespace: 'apps', name: 'p', phase: 'Running', labels: { aadpodidbinding: 'app' } };
const token: AcquiredToken = {
  accessToken: 'header.payload.signature',
  expiresOnTimestamp: Date.now() + 3_600_000,
  notBeforeTimestamp: Date.now(),
  resource: 'https://management.azure.com/',
  tokenType: 'Bearer',
};

function broker(getTokens: () => Promise<readonly AcquiredToken[]>, clock: Clock): TokenBroker {
  return new TokenBroker({
    state: { changed: () => Promise.resolve() } as unknown as NmiClusterState,
    cache: new TokenCache({ errorBackoffMs: 0 }),
    wait: { retryAttemptsForCreated: 0, retryAttemptsForAssigned: 0, intervalMs: 1 },
    setRetryAfterHeader: false,
    sourceFor: () => Promise.resolve({ key: 'k', getTokens }),
    nodeImds: { endpoint: 'http://127.0.0.1:1' },
    upstreamWait: { timeoutMs: 5000, retryAfterSeconds: 3 },
    clock,
  });
}

const ask = (b: TokenBroker) =>
  b.answer(
    pod,
    { kind: 'none' },
    'https://management.azure.com/',
    view,
    new AbortController().signal,
  );

/** A broker whose upstream answers only when the test calls `finish()`; `fetches()` counts fetches. */
function slowUpstream(): {
  clock: ReturnType<typeof createManualClock>;
  b: TokenBroker;
  finish: () => (tokens: readonly AcquiredToken[]) => void;
  fetches: () => number;
} {
  const clock = createManualClock();
  let finish: (tokens: readonly AcquiredToken[]) => void = () => undefined;
  let fetches = 0;
  const b = broker(() => {
    fetches += 1;
    return new Promise((resolve) => (finish = resolve));
  }, clock);
  return { clock, b, finish: () => finish, fetches: () => fetches };
}

describe('TokenBroker upstream wait', () => {
  it('answers 503 with Retry-After once the wait runs out, and serves the late token on the retry', async () => {
    const { clock, b, finish, fetches } = slowUpstream();
    const first = ask(b);
    await clock.whenSleeping(1); // the fetch started and the wait is running
    await clock.advance(4999);
    expect(clock.pendingSleeps()).toBe(1); // still waiting
    await clock.advance(1);
    expect(await first).toMatchObject({ kind: 'refused', status: 503, retryAfterSeconds: 3 });
    finish()([token]); // IMDS answers after the request gave up
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await ask(b)).toMatchObject({ kind: 'tokens', tokens: [token] });
    expect(fetches()).toBe(1);
    expect(clock.pendingSleeps()).toBe(0);
  });

  it('sends Retry-After with the 503 of an upstream that failed', async () => {
    const clock = createManualClock();
    const b = broker(
      () => Promise.reject(new TokenAcquisitionError('unavailable', 'IMDS answered 500')),
      clock,
    );
    expect(await ask(b)).toMatchObject({
      kind: 'refused',
      status: 503,
      reason: 'token-unavailable',
      retryAfterSeconds: 3,
    });
    expect(clock.pendingSleeps()).toBe(0);
  });

  it('keeps 403 for a token endpoint that refused, without Retry-After', async () => {
    const b = broker(
      () => Promise.reject(new TokenAcquisitionError('refused', 'AADSTS700016')),
      createManualClock(),
    );
    const outcome = await ask(b);
    expect(outcome).toMatchObject({ kind: 'refused', status: 403 });
    expect(outcome.kind === 'refused' && outcome.retryAfterSeconds).toBeUndefined();
  });

  it('stops waiting as soon as the request goes away, cancels its timer, and the fetch still fills the cache', async () => {
    const { clock, b, finish, fetches } = slowUpstream();
    const request = new AbortController();
    const gone = new Error('client closed the connection');
    const first = b.answer(
      pod,
      { kind: 'none' },
      'https://management.azure.com/',
      view,
      request.signal,
    );
    await clock.whenSleeping(1);
    request.abort(gone);
    // Not the upstream wait's 503: the caller is gone, so its own reason ends the wait.
    expect(await first).toMatchObject({ kind: 'refused' });
    expect(await first).not.toMatchObject({ status: 503, reason: 'token-unavailable' });
    expect(clock.pendingSleeps()).toBe(0);
    finish()([token]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await ask(b)).toMatchObject({ kind: 'tokens', tokens: [token] });
    expect(fetches()).toBe(1);
  });

  it('answers a request whose signal had already aborted without waiting for the upstream', async () => {
    const clock = createManualClock();
    const b = broker(() => new Promise(() => undefined), clock);
    const request = new AbortController();
    request.abort(new Error('gone'));
    const outcome = await b.answer(
      pod,
      { kind: 'none' },
      'https://management.azure.com/',
      view,
      request.signal,
    );
    expect(outcome).toMatchObject({ kind: 'refused' });
    expect(clock.pendingSleeps()).toBe(0);
  });
});
