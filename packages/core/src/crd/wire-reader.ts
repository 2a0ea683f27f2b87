// Internal to the CRD parsers: small readers over `unknown` that either return a typed value or
// throw a ValidationError naming the field by its JSON path. Nothing here is exported from the
// package; the parsers are.
import { ValidationError } from '../errors/validation-error.js';

/** A JSON object as the parsers see it: own enumerable properties of a plain object. */
export type WireObject = Record<string, unknown>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * The JSON path of `key` under `parent`: `spec.clientID`, or `metadata.labels["app.kubernetes.io/name"]`
 * for keys that are not identifiers.
 */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') {
    return `${parent}[${key}]`;
  }
  if (!IDENTIFIER.test(key)) {
    return `${parent}[${JSON.stringify(key)}]`;
  }
  return parent === '' ? key : `${parent}.${key}`;
}

/** A short description of a wrong value's type for error messages (never the value: it may be secret). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'a non-finite number';
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is WireObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads own properties only, so `constructor` or `__proto__` never resolve to inherited values. */
export function own(object: WireObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Requires a plain JSON object (what JSON.parse or a YAML parser gives). */
export function expectObject(value: unknown, path: string): WireObject {
  if (!isPlainObject(value)) {
    throw new ValidationError(path, `must be an object, got ${describeType(value)}`);
  }
  return value;
}

/** An optional object: absent and `null` (Go's nil) read as undefined. */
export function optionalObject(
  parent: WireObject,
  key: string,
  path: string,
): WireObject | undefined {
  const value = own(parent, key);
  if (value === undefined || value === null) return undefined;
  return expectObject(value, childPath(path, key));
}

/** A required object. */
export function requiredObject(parent: WireObject, key: string, path: string): WireObject {
  const value = optionalObject(parent, key, path);
  if (value === undefined) {
    throw new ValidationError(childPath(path, key), 'is required');
  }
  return value;
}

/** An optional string: absent and `null` (an empty YAML value) read as undefined. */
export function optionalString(parent: WireObject, key: string, path: string): string | undefined {
  const value = own(parent, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new ValidationError(childPath(path, key), `must be a string, got ${describeType(value)}`);
  }
  return value;
}

/** A required, non-empty string. */
export function requiredString(parent: WireObject, key: string, path: string): string {
  const value = optionalString(parent, key, path);
  if (value === undefined) {
    throw new ValidationError(childPath(path, key), 'is required');
  }
  if (value === '') {
    throw new ValidationError(childPath(path, key), 'must not be empty');
  }
  return value;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** An optional integer (`int32` unless `wide`); `null` reads as undefined. */
export function optionalInteger(
  parent: WireObject,
  key: string,
  path: string,
  wide = false,
): number | undefined {
  const value = own(parent, key);
  if (value === undefined || value === null) return undefined;
  const at = childPath(path, key);
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValidationError(at, `must be an integer, got ${describeType(value)}`);
  }
  if (wide ? !Number.isSafeInteger(value) : value < INT32_MIN || value > INT32_MAX) {
    throw new ValidationError(at, `must be a ${wide ? 'safe' : '32-bit'} integer, got ${value}`);
  }
  return value;
}

/** An optional map of string to string; each entry is checked by `check`, which may throw. */
export function optionalStringMap(
  parent: WireObject,
  key: string,
  path: string,
  check?: (entryKey: string, entryValue: string, entryPath: string) => void,
): Record<string, string> | undefined {
  const object = optionalObject(parent, key, path);
  if (object === undefined) return undefined;
  const mapPath = childPath(path, key);
  const entries: [string, string][] = [];
  for (const entryKey of Object.keys(object)) {
    const entryValue = own(object, entryKey);
    const entryPath = childPath(mapPath, entryKey);
    if (typeof entryValue !== 'string') {
      throw new ValidationError(entryPath, `must be a string, got ${describeType(entryValue)}`);
    }
    check?.(entryKey, entryValue, entryPath);
    entries.push([entryKey, entryValue]);
  }
  // fromEntries defines own properties, so a key such as `__proto__` stays a plain key.
  return Object.fromEntries(entries);
}

/** An optional array of strings; `null` (Go's nil slice) is kept as null so it round-trips. */
export function optionalStringArray(
  parent: WireObject,
  key: string,
  path: string,
  check?: (item: string, itemPath: string) => void,
): string[] | null | undefined {
  const value = own(parent, key);
  if (value === undefined) return undefined;
  if (value === null) return null;
  const at = childPath(path, key);
  if (!Array.isArray(value)) {
    throw new ValidationError(at, `must be an array of strings, got ${describeType(value)}`);
  }
  return value.map((item: unknown, index) => {
    const itemPath = childPath(at, index);
    if (typeof item !== 'string') {
      throw new ValidationError(itemPath, `must be a string, got ${describeType(item)}`);
    }
    check?.(item, itemPath);
    return item;
  });
}

/**
 * Field names in use before v1.6.0 of the original (when field names were matched
 * case-insensitively), mapped to the current names. Since v1.6.0 names are case-sensitive, and since
 * v1.8.0 the API server prunes these keys, so an object still using them silently loses the field.
 */
export type LegacyFieldNames = Readonly<Record<string, string>>;

/**
 * Rejects keys outside `known`: a pre-1.6 name is reported as such with its current name, another
 * case variant of a known name with a "did you mean", anything else as unknown.
 */
export function rejectUnknownKeys(
  object: WireObject,
  path: string,
  known: readonly string[],
  legacy: LegacyFieldNames = {},
): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const at = childPath(path, key);
    const current = Object.hasOwn(legacy, key) ? legacy[key] : undefined;
    if (current !== undefined) {
      throw new ValidationError(
        at,
        `${JSON.stringify(key)} is the pre-1.6 name of this field; field names are case-sensitive since v1.6.0 and the API server drops this one: rename it to ${JSON.stringify(current)}`,
      );
    }
    const lower = key.toLowerCase();
    const variant = known.find((name) => name.toLowerCase() === lower);
    if (variant !== undefined) {
      throw new ValidationError(
        at,
        `unknown field ${JSON.stringify(key)}; field names are case-sensitive: did you mean ${JSON.stringify(variant)}?`,
      );
    }
    throw new ValidationError(
      at,
      `unknown field ${JSON.stringify(key)}; expected one of ${known.map((name) => JSON.stringify(name)).join(', ')}`,
    );
  }
}

/**
 * The end of a "required" message when every field a pre-1.6 manifest would have spelled with a
 * capital is missing: the API server drops those spellings under a structural schema, which leaves
 * exactly this shape.
 * @param oldNames - how the old manifest spelled them, e.g. `ClientID and ResourceID`
 */
export function prunedLegacyHint(oldNames: string): string {
  return ` (an object written for AAD Pod Identity before v1.6 spells it ${oldNames}, which the API server drops: write today's names; \`pod-identity upgrade-types\` finds and rewrites such objects)`;
}

/** Returns a copy of `object` without its undefined-valued keys, keeping key order. */
export function withoutUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
