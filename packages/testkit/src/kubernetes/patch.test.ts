import { describe, expect, test } from 'vitest';
import { ApiStatusError } from './api-status-error.js';
import { applyJsonPatch, applyMergePatch, patchTypeOf, strategicMerge } from './patch.js';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiStatusError ? error.code : undefined;
  }
  return undefined;
}

describe('JSON patch', () => {
  test('add, replace, remove, move, copy and test, with ~1 escapes', () => {
    const doc = { metadata: { labels: { 'a/b': '1' } }, list: [1, 2] };
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'add', path: '/list/0', value: 0 },
      { op: 'replace', path: '/metadata/labels/a~1b', value: '2' },
      { op: 'copy', from: '/metadata/labels/a~1b', path: '/copied' },
      { op: 'move', from: '/copied', path: '/moved' },
      { op: 'remove', path: '/list/1' },
      { op: 'test', path: '/moved', value: '2' },
    ]);
    expect(out).toEqual({ metadata: { labels: { 'a/b': '2' } }, list: [0, 2, 3], moved: '2' });
    expect(doc.list).toEqual([1, 2]);
  });

  test('a failed test or a missing path is 422; a non-array patch is 400', () => {
    expect(codeOf(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]))).toBe(
      422,
    );
    expect(codeOf(() => applyJsonPatch({}, [{ op: 'remove', path: '/missing' }]))).toBe(422);
    expect(codeOf(() => applyJsonPatch({}, { op: 'add' }))).toBe(400);
  });
});

describe('merge patches', () => {
  test('merge patch: null removes, objects merge, arrays replace', () => {
    expect(
      applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [9] }),
    ).toEqual({
      a: { c: 2, d: 3 },
      l: [9],
    });
  });

  test('strategic merge: keyed lists merge by key, finalizers as a set, directives apply', () => {
    const pod = {
      metadata: { finalizers: ['a'] },
      spec: {
        containers: [
          { name: 'app', image: 'v1' },
          { name: 'side', image: 's' },
        ],
      },
    };
    expect(
      strategicMerge(pod, {
        metadata: { finalizers: ['b', 'a'] },
        spec: {
          containers: [
            { name: 'app', image: 'v2' },
            { name: 'side', $patch: 'delete' },
          ],
        },
      }),
    ).toEqual({
      metadata: { finalizers: ['a', 'b'] },
      spec: { containers: [{ name: 'app', image: 'v2' }] },
    });
    expect(
      strategicMerge(pod, {
        metadata: {
          '$deleteFromPrimitiveList/finalizers': ['a'],
        },
      }),
    ).toMatchObject({ metadata: { finalizers: [] } });
    expect(strategicMerge({ spec: { x: 1, y: 2 } }, { spec: { $patch: 'replace', z: 3 } })).toEqual(
      {
        spec: { z: 3 },
      },
    );
  });

  test('content types: strategic merge is refused (415) where kube refuses it, e.g. custom resources', () => {
    expect(patchTypeOf('application/merge-patch+json; charset=utf-8', false)).toBe(
      'application/merge-patch+json',
    );
    expect(codeOf(() => patchTypeOf('application/strategic-merge-patch+json', false))).toBe(415);
    expect(codeOf(() => patchTypeOf('text/plain', true))).toBe(415);
  });
});
