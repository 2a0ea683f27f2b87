import type { FieldError } from './api-status-error.js';
import { cloneJson, deleteKey, isJsonObject, type JsonObject } from './json.js';

// The fields kube keeps at the root of every object and of every x-kubernetes-embedded-resource.
const objectEnvelope = new Set(['apiVersion', 'kind', 'metadata']);

function schemaAt(value: unknown): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

function preservesUnknown(schema: JsonObject): boolean {
  return schema['x-kubernetes-preserve-unknown-fields'] === true;
}

function isEmbedded(schema: JsonObject): boolean {
  return schema['x-kubernetes-embedded-resource'] === true;
}

/**
 * Drops the fields a structural schema does not declare, as kube-apiserver prunes custom resources:
 * unknown properties go unless `x-kubernetes-preserve-unknown-fields` or `additionalProperties`
 * keep them; `apiVersion`, `kind` and `metadata` survive at the root and in embedded resources.
 * Each dropped field's path (`spec.ClientID`, `spec.list[0].x`) goes to `dropped`, as kube tracks
 * them for its `unknown field` warnings.
 */
function prune(
  value: unknown,
  schema: JsonObject,
  envelope: boolean,
  path: string,
  dropped: string[],
): void {
  if (Array.isArray(value)) {
    const items = schemaAt(schema.items);
    if (items !== undefined) {
      value.forEach((item: unknown, index) => {
        prune(item, items, isEmbedded(items), `${path}[${String(index)}]`, dropped);
      });
    }
    return;
  }
  if (!isJsonObject(value)) return;
  const properties = schemaAt(schema.properties) ?? {};
  const additional = schema.additionalProperties;
  const keepUnknown = preservesUnknown(schema) || additional === true;
  for (const key of Object.keys(value)) {
    // At a resource's root and in embedded resources kube never prunes the envelope through the
    // schema, even when the schema declares it (`metadata: {type: object}` without properties, as
    // the shipped CRDs and controller-gen write it): apiVersion/kind strings and the metadata object
    // are kept whole (apiextensions pruning treats the root as an embedded resource).
    if (
      envelope &&
      (key === 'metadata'
        ? isJsonObject(value[key])
        : objectEnvelope.has(key) && typeof value[key] === 'string')
    ) {
      continue;
    }
    const propSchema = schemaAt(properties[key]) ?? schemaAt(additional);
    if (propSchema !== undefined) {
      prune(value[key], propSchema, isEmbedded(propSchema), join(path, key), dropped);
    } else if (!keepUnknown && !(envelope && objectEnvelope.has(key))) {
      deleteKey(value, key);
      dropped.push(join(path, key));
    }
  }
}

/** Fills `default`s of absent properties (kube defaults custom resources on write and read). */
function applyDefaults(value: unknown, schema: JsonObject): void {
  if (Array.isArray(value)) {
    const items = schemaAt(schema.items);
    if (items !== undefined) for (const item of value) applyDefaults(item, items);
    return;
  }
  if (!isJsonObject(value)) return;
  const properties = schemaAt(schema.properties) ?? {};
  for (const [key, raw] of Object.entries(properties)) {
    const propSchema = schemaAt(raw);
    if (propSchema === undefined) continue;
    if (value[key] === undefined && propSchema.default !== undefined) {
      value[key] = cloneJson(propSchema.default);
    }
    if (value[key] !== undefined) applyDefaults(value[key], propSchema);
  }
  const additional = schemaAt(schema.additionalProperties);
  if (additional !== undefined) {
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(properties, key)) applyDefaults(value[key], additional);
    }
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  const actual = jsonType(value);
  if (type === 'number') return actual === 'number' || actual === 'integer';
  return actual === type;
}

function validate(value: unknown, schema: JsonObject, path: string, errors: FieldError[]): void {
  const type = typeof schema.type === 'string' ? schema.type : undefined;
  if (value === null) {
    if (schema.nullable === true || type === undefined) return;
    errors.push({
      type: 'FieldValueTypeInvalid',
      field: path,
      value: 'null',
      detail: `${path} in body must be of type ${type}: "null"`,
    });
    return;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (typeof value !== 'string' && !Number.isInteger(value)) {
      errors.push({
        type: 'FieldValueTypeInvalid',
        field: path,
        value: jsonType(value),
        detail: `${path} in body must be of type integer,string: "${jsonType(value)}"`,
      });
    }
    return;
  }
  if (type !== undefined && !typeMatches(type, value)) {
    const actual = jsonType(value) === 'integer' ? 'number' : jsonType(value);
    errors.push({
      type: 'FieldValueTypeInvalid',
      field: path,
      value: actual,
      detail: `${path} in body must be of type ${type}: "${actual}"`,
    });
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) {
    errors.push({
      type: 'FieldValueNotSupported',
      field: path,
      value,
      detail: `supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) {
      errors.push({
        type: 'FieldValueInvalid',
        field: path,
        value,
        detail: `${path} in body should be greater than or equal to ${schema.minimum}`,
      });
    }
    if (typeof schema.maximum === 'number' && value > schema.maximum) {
      errors.push({
        type: 'FieldValueInvalid',
        field: path,
        value,
        detail: `${path} in body should be less than or equal to ${schema.maximum}`,
      });
    }
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) {
      errors.push({
        type: 'FieldValueInvalid',
        field: path,
        value,
        detail: `${path} in body should be at least ${schema.minLength} chars long`,
      });
    }
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) {
      errors.push({
        type: 'FieldValueTooLong',
        field: path,
        value,
        detail: `may not be more than ${schema.maxLength} bytes`,
      });
    }
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: path,
        value,
        detail: `${path} in body should match '${schema.pattern}'`,
      });
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
      errors.push({
        type: 'FieldValueInvalid',
        field: path,
        value: value.length,
        detail: `${path} in body should have at least ${schema.minItems} items`,
      });
    }
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
      errors.push({
        type: 'FieldValueTooMany',
        field: path,
        value: value.length,
        detail: `must have at most ${schema.maxItems} items`,
      });
    }
    const items = schemaAt(schema.items);
    if (items !== undefined) {
      value.forEach((item, i) => {
        validate(item, items, `${path}[${i}]`, errors);
      });
    }
    return;
  }
  if (!isJsonObject(value)) return;
  const properties = schemaAt(schema.properties) ?? {};
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === 'string' && value[key] === undefined) {
        errors.push({ type: 'FieldValueRequired', field: join(path, key), detail: '' });
      }
    }
  }
  if (isEmbedded(schema)) {
    for (const key of ['apiVersion', 'kind']) {
      if (typeof value[key] !== 'string' || value[key] === '') {
        errors.push({
          type: 'FieldValueRequired',
          field: join(path, key),
          detail: 'must not be empty',
        });
      }
    }
  }
  for (const [key, child] of Object.entries(value)) {
    const propSchema = schemaAt(properties[key]) ?? schemaAt(schema.additionalProperties);
    if (propSchema !== undefined && child !== undefined)
      validate(child, propSchema, join(path, key), errors);
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Prunes, defaults and validates a custom resource against its CRD version's `openAPIV3Schema`, in
 * kube-apiserver's order (prune → default → validate). Mutates `obj`; returns the field errors for a
 * 422. `metadata` is validated by the caller, not by the schema. The paths of pruned fields are
 * appended, sorted, to `dropped` when given.
 */
export function applyStructuralSchema(
  obj: JsonObject,
  schema: JsonObject,
  dropped?: string[],
): FieldError[] {
  const pruned: string[] = [];
  prune(obj, schema, true, '', pruned);
  // kube sorts them (sort.Strings: byte order, which is code-unit order for these ASCII paths).
  dropped?.push(...pruned.sort());
  applyDefaults(obj, schema);
  const errors: FieldError[] = [];
  const properties = schemaAt(schema.properties) ?? {};
  const rootWithoutEnvelope: JsonObject = { ...schema, properties: { ...properties } };
  const rootProps = rootWithoutEnvelope.properties as JsonObject;
  for (const key of objectEnvelope) deleteKey(rootProps, key);
  const body: JsonObject = {};
  for (const [key, v] of Object.entries(obj)) if (!objectEnvelope.has(key)) body[key] = v;
  const required = Array.isArray(schema.required)
    ? schema.required.filter((k) => typeof k === 'string' && !objectEnvelope.has(k))
    : undefined;
  validate(body, { ...rootWithoutEnvelope, required }, '', errors);
  return errors;
}
