// The confirmer's verdicts and bounds: requests for one pod share reads, and each is judged from a
// read that started after it arrived; the budget caps reads whatever the callers do; a read that
// fails or is over budget is no confirmation.
import {
  authorize,
  createManualClock,
  type AuthorizationView,
  type AzureIdentity,
  type AzureIdentityBinding,
  type PodRecord,
} from '@pod-identity/core';
import { describe, expect, it } from 'vitest';
import type { FreshAuthorizationView } from './fresh-authorization-view.js';
import {
  RefusalConfirmer,
  type RefusalToConfirm,
  type RefusalVerdict,
} from './refusal-confirmer.js';

const pod: PodRecord = {
  namespace: 'apps',
  name: 'web',
  uid: 'u1',
  phase: 'Running',
  podIPs: ['10.0.0.5'],
  hostNetwork: false,
  labels: { aadpodidbinding: 'web' },
};
const identity = {
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { name: 'id', namespace: 'apps' },
  spec: { type: 0, resourceID: 'r', clientID: 'c' },
} as AzureIdentity;
const binding = {
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentityBinding',
  metadata: { name: 'b', namespace: 'apps' },
  spec: { azureIdentity: 'id', selector: 'web' },
} as AzureIdentityBinding;
const viewOf = (bindings: AzureIdentityBinding[]): AuthorizationView => ({
  mode: 'managed',
  forceNamespaced: true,
  exceptions: () => [],
  assignedIdentities: () => [],
  bindings: () => bindings,
  bindingsSelecting: () => bindings,
  identities: () => [identity],
});
const unbound = viewOf([]);
const bound = viewOf([binding]);

// The refusal of the cache that has no binding yet.
function refusal(abortSignal = new AbortController().signal): RefusalToConfirm {
  return {
    pod,
    requested: { kind: 'none' },
    decision: authorize(pod, { kind: 'none' }, unbound),
    ignoreExceptions: false,
    abortSignal,
  };
}

// A reader whose reads the test completes one by one.
function controlledReader() {
  const pending: { resolve: (view: FreshAuthorizationView) => void; reject: (e: Error) => void }[] =
    [];
  return {
    read: () =>
      new Promise<FreshAuthorizationView>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
    pending,
    get reads() {
      return pending.length;
    },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('RefusalConfirmer', () => {
  it('sends the refusal when the API server agrees, a retry when it knows better', async () => {
    const agreeing = new RefusalConfirmer(() => Promise.resolve({ pod, view: unbound }));
    expect(await agreeing.confirm(refusal())).toEqual({ kind: 'agrees' });
    const knowing = new RefusalConfirmer(() => Promise.resolve({ pod, view: bound }));
    expect(await knowing.confirm(refusal())).toEqual({ kind: 'differs' });
  });

  it('stands by the refusal of a pod the API server no longer has', async () => {
    const confirmer = new RefusalConfirmer(() => Promise.resolve({ pod: undefined, view: bound }));
    expect(await confirmer.confirm(refusal())).toEqual({ kind: 'agrees' });
  });

  it('answers a retry, never the final refusal, when the read fails', async () => {
    const confirmer = new RefusalConfirmer(() => Promise.reject(new Error('API server down')));
    expect(await confirmer.confirm(refusal())).toEqual({
      kind: 'unavailable',
      why: 'the API server could not be read to confirm it',
    });
  });

  it('makes one read for the first request and one more for all that came during it', async () => {
    const reader = controlledReader();
    const confirmer = new RefusalConfirmer(reader.read);
    const first = confirmer.confirm(refusal());
    await turn();
    expect(reader.reads).toBe(1);
    // These arrived while the first read was running, which may have read the API server before
    // they came: they share the next read instead.
    const during = Array.from({ length: 9 }, () => confirmer.confirm(refusal()));
    await turn();
    expect(reader.reads).toBe(1);
    reader.pending[0]!.resolve({ pod, view: unbound });
    expect(await first).toEqual({ kind: 'agrees' });
    await turn();
    expect(reader.reads).toBe(2);
    reader.pending[1]!.resolve({ pod, view: bound });
    for (const verdict of await Promise.all(during)) expect(verdict).toEqual({ kind: 'differs' });
    expect(reader.reads).toBe(2);
  });

  it('keeps to its budget, and answers a retry without reading when it is spent', async () => {
    const clock = createManualClock();
    let reads = 0;
    const confirmer = new RefusalConfirmer(
      () => {
        reads += 1;
        return Promise.resolve({ pod, view: unbound });
      },
      { burst: 3, perSecond: 2, clock },
    );
    const verdicts: RefusalVerdict[] = [];
    for (let i = 0; i < 10; i += 1) verdicts.push(await confirmer.confirm(refusal()));
    expect(reads).toBe(3);
    expect(verdicts.filter((v) => v.kind === 'agrees')).toHaveLength(3);
    expect(verdicts.filter((v) => v.kind === 'unavailable')).toEqual(
      Array.from({ length: 7 }, () => ({
        kind: 'unavailable',
        why: 'confirmation reads are over their budget',
      })),
    );
    await clock.advance(1000);
    for (let i = 0; i < 10; i += 1) await confirmer.confirm(refusal());
    expect(reads).toBe(5);
  });

  it('lets a request that ends stop waiting while the shared read goes on', async () => {
    const reader = controlledReader();
    const confirmer = new RefusalConfirmer(reader.read);
    const ended = new AbortController();
    const leaving = confirmer.confirm(refusal(ended.signal));
    const staying = confirmer.confirm(refusal());
    ended.abort(new Error('client closed the connection'));
    await expect(leaving).rejects.toThrow('client closed the connection');
    reader.pending[0]!.resolve({ pod, view: unbound });
    await turn();
    reader.pending[1]!.resolve({ pod, view: unbound });
    expect(await staying).toEqual({ kind: 'agrees' });
  });
});
