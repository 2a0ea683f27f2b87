import { describe, expect, test } from 'vitest';
import { applyStructuralSchema } from './structural-schema.js';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['port'],
      properties: {
        port: { 'x-kubernetes-int-or-string': true },
        mode: { type: 'string', default: 'auto' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        note: { type: 'string', nullable: true },
        items: {
          type: 'array',
          maxItems: 2,
          items: { type: 'object', properties: { id: { type: 'integer' } } },
        },
      },
    },
  },
};

describe('applyStructuralSchema', () => {
  test('prunes unknown fields inside arrays and maps, keeps the envelope, fills defaults', () => {
    const obj = {
      apiVersion: 'x.io/v1',
      kind: 'X',
      metadata: { name: 'n' },
      spec: { port: 'http', labels: { a: 'b' }, items: [{ id: 1, junk: true }], junk: 1 },
      junk: 2,
    };
    expect(applyStructuralSchema(obj, schema)).toEqual([]);
    expect(obj).toEqual({
      apiVersion: 'x.io/v1',
      kind: 'X',
      metadata: { name: 'n' },
      spec: { port: 'http', mode: 'auto', labels: { a: 'b' }, items: [{ id: 1 }] },
    });
  });

  test('keeps metadata whole where the schema declares it without properties, as kube-apiserver does', () => {
    // The shipped CRDs (and controller-gen's) declare `metadata: {type: object}` at the root and
    // inside embedded resources; kube-apiserver v1.34 still stores every metadata field (checked in
    // conformance/crds.test.ts), while a nested object of that schema is pruned to {}.
    const declared = {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        spec: {
          type: 'object',
          properties: {
            metadata: { type: 'object' },
            ref: {
              type: 'object',
              'x-kubernetes-embedded-resource': true,
              properties: { metadata: { type: 'object' } },
            },
          },
        },
      },
    };
    const meta = { name: 'n', namespace: 'ns', labels: { a: 'b' }, resourceVersion: '7' };
    const obj = {
      apiVersion: 'x.io/v1',
      kind: 'X',
      metadata: { ...meta },
      spec: {
        metadata: { creationTimestamp: null },
        ref: { apiVersion: 'x.io/v1', kind: 'Y', metadata: { ...meta } },
      },
    };
    expect(applyStructuralSchema(obj, declared)).toEqual([]);
    expect(obj.metadata).toEqual(meta);
    expect(obj.spec.ref).toEqual({ apiVersion: 'x.io/v1', kind: 'Y', metadata: meta });
    expect(obj.spec.metadata).toEqual({});
  });

  test('reports type, required, nullable and size errors with kube field paths', () => {
    const obj = { spec: { port: 1.5, labels: { a: 1 }, note: null, items: [{ id: 'x' }, {}, {}] } };
    const errors = applyStructuralSchema(obj, schema);
    expect(errors.map((e) => `${e.type} ${e.field}`).sort()).toEqual([
      'FieldValueTooMany spec.items',
      'FieldValueTypeInvalid spec.items[0].id',
      'FieldValueTypeInvalid spec.labels.a',
      'FieldValueTypeInvalid spec.port',
    ]);
    const missing = applyStructuralSchema({ spec: {} }, schema);
    expect(missing.map((e) => `${e.type} ${e.field}`)).toEqual(['FieldValueRequired spec.port']);
  });
});
