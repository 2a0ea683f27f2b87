import { describe, expect, test } from 'vitest';
import { ApiServer } from './api-server.js';
import type { JsonObject } from './json.js';
import { ObjectStore } from './object-store.js';

function names(list: JsonObject): string[] {
  return (list.items as JsonObject[]).map((i) => (i.metadata as { name: string }).name);
}

describe('ApiServer pod-by-node index', () => {
  test('node field selectors follow creates, node changes and deletes, and page consistently', () => {
    const api = new ApiServer(new ObjectStore());
    const pods = api.resources.resolve('', 'v1', 'pods')!;
    const pod = (name: string, nodeName: string): JsonObject => ({
      metadata: { name },
      spec: { nodeName, containers: [{ name: 'c', image: 'i' }] },
    });
    for (const [name, node] of [
      ['a', 'n1'],
      ['b', 'n2'],
      ['c', 'n1'],
      ['d', 'n1'],
    ] as const) {
      api.create(pods, 'default', pod(name, node));
    }
    const onN1 = { fieldSelector: 'spec.nodeName=n1' };
    expect(names(api.list(pods, undefined, onN1))).toEqual(['a', 'c', 'd']);
    const firstPage = api.list(pods, 'default', { ...onN1, limit: 1 });
    expect(names(firstPage)).toEqual(['a']);
    api.update(pods, 'default', 'c', pod('c', 'n2'));
    // Grace 0, as the kubelet deletes: a scheduled pod deleted with {} would only be marked.
    api.delete(pods, 'default', 'd', { gracePeriodSeconds: 0 });
    expect(names(api.list(pods, undefined, onN1))).toEqual(['a']);
    expect(names(api.list(pods, undefined, { fieldSelector: 'spec.nodeName=n2' }))).toEqual([
      'b',
      'c',
    ]);
    // The continuation still sees the snapshot of the first page: c and d on n1.
    const rest = api.list(pods, 'default', {
      ...onN1,
      continue: (firstPage.metadata as { continue: string }).continue,
    });
    expect(names(rest)).toEqual(['c', 'd']);
  });
});

describe('ApiServer exact-version lists', () => {
  test('an Exact list is 410 Expired once its version is compacted, 504 for a future version', () => {
    const store = new ObjectStore();
    const api = new ApiServer(store);
    const configMaps = api.resources.resolve('', 'v1', 'configmaps')!;
    api.create(configMaps, 'default', { metadata: { name: 'a' } });
    const version = store.resourceVersion;
    api.create(configMaps, 'default', { metadata: { name: 'b' } });
    expect(
      names(
        api.list(configMaps, 'default', {
          resourceVersion: String(version),
          resourceVersionMatch: 'Exact',
        }),
      ),
    ).toEqual(['a']);
    store.compact();
    const codeOf = (rv: number): number | undefined => {
      try {
        api.list(configMaps, 'default', {
          resourceVersion: String(rv),
          resourceVersionMatch: 'Exact',
        });
      } catch (error) {
        return (error as { code?: number }).code;
      }
      return undefined;
    };
    expect(codeOf(version)).toBe(410);
    expect(codeOf(store.resourceVersion + 10)).toBe(504);
  });
});

describe('ApiServer graceful pod deletion', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const setup = () => {
    const store = new ObjectStore();
    const api = new ApiServer(store, () => now);
    const pods = api.resources.resolve('', 'v1', 'pods')!;
    const create = (name: string, spec: JsonObject = {}, finalizers?: string[]): void => {
      api.create(pods, 'default', {
        metadata: { name, ...(finalizers === undefined ? {} : { finalizers }) },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }], ...spec },
      });
    };
    const meta = (name: string): JsonObject | undefined =>
      store.get(pods.storageKey, 'default', name)?.metadata as JsonObject | undefined;
    return { api, pods, store, create, meta };
  };

  test('a later delete only shortens the grace, keeping the deadline relative to the mark', () => {
    const { api, pods, store, create, meta } = setup();
    create('a', { terminationGracePeriodSeconds: 20 });
    api.delete(pods, 'default', 'a', {});
    expect(meta('a')).toMatchObject({
      deletionTimestamp: '2030-01-01T00:00:20Z',
      deletionGracePeriodSeconds: 20,
    });
    const version = store.resourceVersion;
    api.delete(pods, 'default', 'a', { gracePeriodSeconds: 60 });
    api.delete(pods, 'default', 'a', {});
    expect(store.resourceVersion).toBe(version);
    api.delete(pods, 'default', 'a', { gracePeriodSeconds: 5 });
    expect(meta('a')).toMatchObject({
      deletionTimestamp: '2030-01-01T00:00:05Z',
      deletionGracePeriodSeconds: 5,
    });
    api.delete(pods, 'default', 'a', { gracePeriodSeconds: 0 });
    expect(meta('a')).toBeUndefined();
  });

  test('negative grace counts as 1 s; finished pods go at once', () => {
    const { api, pods, store, create, meta } = setup();
    create('neg');
    api.delete(pods, 'default', 'neg', { gracePeriodSeconds: -5 });
    expect(meta('neg')).toMatchObject({ deletionGracePeriodSeconds: 1 });
    create('done');
    const pod = store.get(pods.storageKey, 'default', 'done')!;
    api.update(pods, 'default', 'done', { ...pod, status: { phase: 'Succeeded' } }, 'status');
    api.delete(pods, 'default', 'done', {});
    expect(meta('done')).toBeUndefined();
  });

  test('dropping the finalizers of a pod in its grace period does not remove it', () => {
    const { api, pods, store, create, meta } = setup();
    create('held', {}, ['example.com/hold']);
    api.delete(pods, 'default', 'held', {});
    const marked = store.get(pods.storageKey, 'default', 'held')!;
    api.update(pods, 'default', 'held', {
      ...marked,
      metadata: { ...(marked.metadata as JsonObject), finalizers: [] },
    });
    expect(meta('held')).toMatchObject({ deletionGracePeriodSeconds: 30 });
    api.delete(pods, 'default', 'held', { gracePeriodSeconds: 0 });
    expect(meta('held')).toBeUndefined();
  });
});
