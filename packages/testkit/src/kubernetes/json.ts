/** A JSON object as it travels on the wire; the emulator never trusts its shape. */
export type JsonObject = Record<string, unknown>;

/** Narrows a JSON value to an object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value`, or `undefined` when it is anything else. */
export function asObject(value: unknown): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

/** The string at `value`, or `undefined` when it is anything else. */
export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The `metadata` object of a Kubernetes object, or an empty one. */
export function metadataOf(obj: JsonObject): JsonObject {
  return asObject(obj.metadata) ?? {};
}

/** A string→string map (labels, annotations), dropping non-string values. */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const obj = asObject(value);
  if (obj === undefined) return out;
  for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Deep copy of a JSON value (stored objects are immutable; writers work on copies). */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}

/** Structural equality of two JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const ak = Object.keys(a).filter((k) => a[k] !== undefined);
    const bk = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ak.length !== bk.length) return false;
    return ak.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Kubernetes timestamp format: RFC 3339 in UTC with whole seconds, as kube-apiserver writes it. */
export function kubeTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Removes a key from a JSON object (JSON documents are dictionaries; their keys are data). */
export function deleteKey(obj: JsonObject, key: string): void {
  Reflect.deleteProperty(obj, key);
}
