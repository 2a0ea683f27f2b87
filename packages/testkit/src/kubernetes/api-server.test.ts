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
    const pods = api.resolve('', 'v1', 'pods')!;
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
    api.delete(pods, 'default', 'd', {});
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
    const configMaps = api.resolve('', 'v1', 'configmaps')!;
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
