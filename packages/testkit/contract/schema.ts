/**
 * A small validator over the part of JSON Schema / OpenAPI 2.0 that the contract fixtures use. Each
 * fixture is written by hand from a published definition (it names its source); no specification
 * file is copied.
 */
export type Schema = (
  | {
      readonly type: 'string';
      readonly enum?: readonly string[];
      readonly format?: StringFormat;
      readonly pattern?: RegExp;
    }
  | { readonly type: 'integer' | 'number' | 'boolean'; readonly minimum?: number }
  | { readonly type: 'array'; readonly items: Schema; readonly minItems?: number }
  | ObjectSchema
  | { readonly type: 'any' }
) & {
  /** A property the server sets: refused in a request body. */
  readonly readOnly?: boolean;
  /** `null` accepted (`x-nullable`, or a documented null such as a removed map entry). */
  readonly nullable?: boolean;
};

/** String formats the fixtures use. */
export type StringFormat = 'uuid' | 'date-time' | 'uri' | 'arm-id' | 'jwt';

/**
 * An object. `closed` objects list every property their definition has (a property outside the list
 * is a violation); open ones list the properties that were extracted and accept others unchecked.
 */
export interface ObjectSchema {
  readonly type: 'object';
  readonly readOnly?: boolean;
  readonly nullable?: boolean;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  /** Schema of the values of a map (`additionalProperties` in OpenAPI). */
  readonly values?: Schema;
  readonly closed?: boolean;
}

/** Where a value broke its schema, as a JSON path and a reason. */
export interface Violation {
  readonly path: string;
  readonly message: string;
}

/** Whether readOnly properties are allowed: in responses yes, in request bodies no. */
export type Direction = 'request' | 'response';

const FORMATS: Readonly<Record<StringFormat, (value: string) => boolean>> = {
  uuid: (value) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value),
  'date-time': (value) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value)),
  uri: (value) => URL.canParse(value),
  'arm-id': (value) =>
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+\/.+/i.test(value),
  jwt: (value) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value),
};

/** Validates `value` against `schema`; returns every violation found (empty when it conforms). */
export function validate(
  value: unknown,
  schema: Schema,
  direction: Direction,
  path = '$',
): Violation[] {
  if (value === null && schema.nullable === true) return [];
  if (direction === 'request' && schema.readOnly === true)
    return [{ path, message: 'read-only property sent in a request' }];
  switch (schema.type) {
    case 'any':
      return [];
    case 'string':
      return validateString(value, schema, path);
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (schema.type === 'integer' && !Number.isInteger(value)))
        return [{ path, message: `expected ${schema.type}, got ${describe(value)}` }];
      if (schema.minimum !== undefined && value < schema.minimum)
        return [{ path, message: `expected >= ${schema.minimum}, got ${value}` }];
      return [];
    case 'boolean':
      return typeof value === 'boolean'
        ? []
        : [{ path, message: `expected boolean, got ${describe(value)}` }];
    case 'array': {
      if (!Array.isArray(value))
        return [{ path, message: `expected array, got ${describe(value)}` }];
      const violations = value.flatMap((item, index) =>
        validate(item, schema.items, direction, `${path}[${index}]`),
      );
      if (schema.minItems !== undefined && value.length < schema.minItems)
        violations.push({ path, message: `expected at least ${schema.minItems} items` });
      return violations;
    }
    case 'object':
      return validateObject(value, schema, direction, path);
  }
}

function validateString(
  value: unknown,
  schema: Extract<Schema, { type: 'string' }>,
  path: string,
): Violation[] {
  if (typeof value !== 'string')
    return [{ path, message: `expected string, got ${describe(value)}` }];
  if (schema.enum && !schema.enum.includes(value))
    return [
      { path, message: `expected one of ${schema.enum.join(', ')}, got ${JSON.stringify(value)}` },
    ];
  if (schema.format && !FORMATS[schema.format](value))
    return [{ path, message: `expected format ${schema.format}, got ${JSON.stringify(value)}` }];
  if (schema.pattern && !schema.pattern.test(value))
    return [
      {
        path,
        message: `expected to match ${String(schema.pattern)}, got ${JSON.stringify(value)}`,
      },
    ];
  return [];
}

function validateObject(
  value: unknown,
  schema: ObjectSchema,
  direction: Direction,
  path: string,
): Violation[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return [{ path, message: `expected object, got ${describe(value)}` }];
  const record = value as Record<string, unknown>;
  const violations: Violation[] = [];
  for (const name of schema.required ?? [])
    if (!(name in record))
      violations.push({ path, message: `missing required property '${name}'` });
  for (const [name, item] of Object.entries(record)) {
    const property = schema.properties?.[name];
    const itemPath = `${path}.${name}`;
    if (property) violations.push(...validate(item, property, direction, itemPath));
    else if (schema.values) violations.push(...validate(item, schema.values, direction, itemPath));
    else if (schema.closed)
      violations.push({ path: itemPath, message: 'property not defined by the specification' });
  }
  return violations;
}

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

/** A closed object schema (the definition's whole property list). */
export const closedObject = (
  properties: Readonly<Record<string, Schema>>,
  required: readonly string[] = [],
): ObjectSchema => ({ type: 'object', properties, required, closed: true });

/** Shorthands. */
export const str: Schema = { type: 'string' };
export const roStr: Schema = { type: 'string', readOnly: true };
export const bool: Schema = { type: 'boolean' };
export const int: Schema = { type: 'integer' };
export const anything: Schema = { type: 'any' };
export const stringMap: Schema = { type: 'object', values: str };
