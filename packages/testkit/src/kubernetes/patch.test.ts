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

  test('replace sets an absent key of an existing object (json-patch v4, as kube-apiserver) but not under an absent parent', () => {
    expect(
      applyJsonPatch({ status: {} }, [{ op: 'replace', path: '/status/status', value: 'A' }]),
    ).toEqual({ status: { status: 'A' } });
    expect(
      codeOf(() => applyJsonPatch({}, [{ op: 'replace', path: '/status/status', value: 'A' }])),
    ).toBe(422);
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
      // Patch items first, in patch order, as kube-apiserver orders a merged list.
      metadata: { finalizers: ['b', 'a'] },
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

  test('strategic merge orders merged lists as kube-apiserver v1.34 does', () => {
    // Each case was run against a real kube-apiserver (the conformance tier) and these are its answers.
    expect(
      strategicMerge(
        { metadata: { finalizers: ['x.io/a'] } },
        { metadata: { finalizers: ['x.io/b'] } },
      ),
    ).toEqual({
      metadata: { finalizers: ['x.io/b', 'x.io/a'] },
    });
    expect(
      strategicMerge(
        { metadata: { finalizers: ['x.io/a', 'x.io/b', 'x.io/c'] } },
        { metadata: { finalizers: ['x.io/d', 'x.io/b'] } },
      ),
    ).toEqual({ metadata: { finalizers: ['x.io/d', 'x.io/a', 'x.io/b', 'x.io/c'] } });
    const names = (doc: unknown): [string, string][] =>
      (doc as { spec: { containers: { name: string; image: string }[] } }).spec.containers.map(
        (c) => [c.name, c.image],
      );
    const pod = {
      spec: {
        containers: [
          { name: 'app', image: 'a' },
          { name: 'side', image: 's' },
        ],
      },
    };
    const added = strategicMerge(pod, { spec: { containers: [{ name: 'new', image: 'n' }] } });
    expect(names(added)).toEqual([
      ['new', 'n'],
      ['app', 'a'],
      ['side', 's'],
    ]);
    const updated = strategicMerge(added, {
      spec: {
        containers: [
          { name: 'side', image: 'x' },
          { name: 'z', image: 'z' },
        ],
      },
    });
    expect(names(updated)).toEqual([
      ['new', 'n'],
      ['app', 'a'],
      ['side', 'x'],
      ['z', 'z'],
    ]);
    const reordered = strategicMerge(updated, {
      spec: {
        containers: [
          { name: 'side', image: 'y' },
          { name: 'app', image: 'x' },
        ],
      },
    });
    expect(names(reordered)).toEqual([
      ['new', 'n'],
      ['side', 'y'],
      ['app', 'x'],
      ['z', 'z'],
    ]);
  });

  test('content types: strategic merge is refused (415) where kube refuses it, e.g. custom resources', () => {
    expect(patchTypeOf('application/merge-patch+json; charset=utf-8', false)).toBe(
      'application/merge-patch+json',
    );
    expect(codeOf(() => patchTypeOf('application/strategic-merge-patch+json', false))).toBe(415);
    expect(codeOf(() => patchTypeOf('text/plain', true))).toBe(415);
  });
});
