import { badRequestError, ApiStatusError } from './api-status-error.js';
import { cloneJson, deleteKey, isJsonObject, jsonEqual, type JsonObject } from './json.js';

/** The patch content types kube-apiserver accepts (server-side apply is not emulated). */
export const PatchType = {
  JsonPatch: 'application/json-patch+json',
  MergePatch: 'application/merge-patch+json',
  StrategicMergePatch: 'application/strategic-merge-patch+json',
  ApplyPatch: 'application/apply-patch+yaml',
} as const;

/** One of {@link PatchType}'s values. */
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

function unsupportedMediaType(): ApiStatusError {
  return new ApiStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
  );
}

/** Maps a request's `Content-Type` to a patch type, or throws kube's 415. */
export function patchTypeOf(contentType: string | undefined, strategicAllowed: boolean): PatchType {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (base === PatchType.JsonPatch || base === PatchType.MergePatch) return base;
  if (base === PatchType.StrategicMergePatch && strategicAllowed) return base;
  throw unsupportedMediaType();
}

// Patch application failures are 422 in kube, built by NewGenericServerResponse, which replaces
// the patch library's own text ("doc is missing path", "testing value … failed") by a fixed message
// and sends no causes; undecodable patches are 400. The library's text is kept as the error's cause
// for the emulator's own debugging, never sent.
const PATCH_FAILED_MESSAGE = 'the server rejected our request due to an error in our request';
function patchFailed(detail: string): ApiStatusError {
  const error = new ApiStatusError(422, 'Invalid', PATCH_FAILED_MESSAGE, {});
  error.cause = detail;
  return error;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchFailed(`invalid JSON pointer: "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw patchFailed(`invalid array index: ${token}`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length))
    throw patchFailed(`array index out of bounds: ${token}`);
  return i;
}

function getAt(doc: unknown, path: string[]): unknown {
  let cur = doc;
  for (const token of path) {
    if (Array.isArray(cur)) {
      cur = cur[arrayIndex(token, cur.length, false)];
    } else if (isJsonObject(cur) && Object.hasOwn(cur, token)) {
      cur = cur[token];
    } else {
      throw patchFailed(`doc is missing path: "/${path.join('/')}": missing value`);
    }
  }
  return cur;
}

function parentOf(doc: unknown, path: string[]): { parent: unknown; last: string } {
  const last = path[path.length - 1];
  if (last === undefined) throw patchFailed('cannot operate on the document root');
  return { parent: getAt(doc, path.slice(0, -1)), last };
}

function addAt(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isJsonObject(parent)) parent[last] = value;
  else throw patchFailed(`doc is missing path: "/${path.join('/')}"`);
  return doc;
}

function removeAt(doc: unknown, path: string[]): unknown {
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    return (parent as unknown[]).splice(i, 1)[0];
  }
  if (isJsonObject(parent) && Object.hasOwn(parent, last)) {
    const removed = parent[last];
    deleteKey(parent, last);
    return removed;
  }
  throw patchFailed(`Unable to remove nonexistent key: ${last}: missing value`);
}

/** Applies an RFC 6902 JSON patch to a copy of `target`. */
export function applyJsonPatch(target: JsonObject, patch: unknown): unknown {
  if (!Array.isArray(patch)) {
    throw badRequestError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  let doc: unknown = cloneJson(target);
  for (const raw of patch) {
    if (!isJsonObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequestError('invalid JSON patch operation: each operation needs "op" and "path"');
    }
    const path = decodePointer(raw.path);
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, path, cloneJson(raw.value));
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'replace':
        if (path.length === 0) doc = cloneJson(raw.value);
        else {
          // kube-apiserver applies JSON patches with evanphx/json-patch v4, whose `replace` checks
          // only that the parent exists: an absent key of an existing object is set, as `add` would.
          const { parent, last } = parentOf(doc, path);
          if (Array.isArray(parent))
            parent[arrayIndex(last, parent.length, false)] = cloneJson(raw.value);
          else if (isJsonObject(parent)) parent[last] = cloneJson(raw.value);
          else
            throw patchFailed(`replace operation does not apply: doc is missing path: ${raw.path}`);
        }
        break;
      case 'move':
      case 'copy': {
        if (typeof raw.from !== 'string') throw badRequestError(`"from" is required for ${raw.op}`);
        const from = decodePointer(raw.from);
        const value = raw.op === 'move' ? removeAt(doc, from) : cloneJson(getAt(doc, from));
        doc = addAt(doc, path, value);
        break;
      }
      case 'test':
        if (!jsonEqual(getAt(doc, path), raw.value)) {
          throw patchFailed(`testing value /${path.join('/')} failed: test failed`);
        }
        break;
      default:
        throw badRequestError(`Unexpected kind: ${raw.op}`);
    }
  }
  return doc;
}

/** Applies an RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const out: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) deleteKey(out, key);
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

// Strategic merge: the merge keys of the list fields our components and tests touch, by field name.
// kube reads them from Go struct tags; lists not named here are replaced wholesale, like atomic lists.
const mergeKeys: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  conditions: 'type',
  ownerReferences: 'uid',
  imagePullSecrets: 'name',
  addresses: 'type',
  taints: 'key',
  hostAliases: 'ip',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  podIPs: 'ip',
};
// Primitive lists with `patchStrategy:"merge"` (a set union); `$deleteFromPrimitiveList` removes.
const mergedPrimitiveLists = new Set(['finalizers']);

function mergeList(field: string, target: unknown, patch: unknown[]): unknown[] {
  const current: unknown[] = Array.isArray(target) ? (target as unknown[]) : [];
  if (mergedPrimitiveLists.has(field)) {
    const out = [...current];
    for (const item of patch) if (!out.some((x) => jsonEqual(x, item))) out.push(item);
    return orderLikeKube(out, patch, current, (x) => x);
  }
  const key = mergeKeys[field];
  if (key === undefined) return patch.map((x) => cloneJson(x));
  const out: unknown[] = [...current];
  for (const item of patch) {
    if (!isJsonObject(item)) {
      out.push(cloneJson(item));
      continue;
    }
    const index = out.findIndex((x) => isJsonObject(x) && jsonEqual(x[key], item[key]));
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = strategicMerge(out[index], item);
    } else {
      out.push(strategicMerge(undefined, item));
    }
  }
  return orderLikeKube(out, patch, current, (x) => (isJsonObject(x) ? x[key] : x));
}

/**
 * Orders a merged list the way apimachinery's strategic merge does (`normalizeElementOrder` and
 * `mergeSortedSlice` in k8s.io/apimachinery/pkg/util/strategicpatch): the items named in the patch,
 * in patch order, interleaved with the live list's other items, in live order; a live item goes
 * first only when both it and the patch item it is compared with are in the live list and it came
 * earlier there. So a new item lands before the remaining live items: patching `["b"]` onto
 * finalizers `["a"]` gives `["b", "a"]` on kube-apiserver (checked against v1.34).
 */
function orderLikeKube(
  merged: unknown[],
  patch: unknown[],
  live: unknown[],
  identity: (item: unknown) => unknown,
): unknown[] {
  const indexIn = (list: unknown[], item: unknown): number =>
    list.findIndex((x) => jsonEqual(identity(x), identity(item)));
  const fromPatch = merged
    .filter((x) => indexIn(patch, x) >= 0)
    .sort((a, b) => indexIn(patch, a) - indexIn(patch, b));
  const liveOnly = merged.filter((x) => indexIn(patch, x) < 0);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < liveOnly.length || j < fromPatch.length) {
    if (j >= fromPatch.length) out.push(liveOnly[i++]);
    else if (i >= liveOnly.length) out.push(fromPatch[j++]);
    else {
      const l = indexIn(live, liveOnly[i]);
      const r = indexIn(live, fromPatch[j]);
      if (l >= 0 && r >= 0 && l < r) out.push(liveOnly[i++]);
      else out.push(fromPatch[j++]);
    }
  }
  return out;
}

/**
 * Applies a strategic merge patch for the fields this project uses: maps merge as in a merge patch,
 * keyed lists (containers by name, conditions by type, ownerReferences by uid, …) merge by key,
 * `finalizers` merges as a set, and `$patch: replace|delete`, `$deleteFromPrimitiveList/<field>`
 * and `$retainKeys` directives work.
 */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  if (patch.$patch === 'replace') {
    const rest = cloneJson(patch);
    deleteKey(rest, '$patch');
    return rest;
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isJsonObject(target) ? { ...target } : {};
  const retainKeys = Array.isArray(patch.$retainKeys) ? patch.$retainKeys : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        out[field] = current.filter((x) => !value.some((v) => jsonEqual(v, x)));
      }
      continue;
    }
    if (value === null) deleteKey(out, key);
    else if (Array.isArray(value)) out[key] = mergeList(key, out[key], value);
    else {
      const merged = strategicMerge(out[key], value);
      if (merged === undefined) deleteKey(out, key);
      else out[key] = merged;
    }
  }
  if (retainKeys !== undefined) {
    for (const key of Object.keys(out)) if (!retainKeys.includes(key)) deleteKey(out, key);
  }
  return out;
}

/** Applies a patch of the given type to `target` and returns the patched document. */
export function applyPatch(type: PatchType, target: JsonObject, patch: unknown): unknown {
  switch (type) {
    case PatchType.JsonPatch:
      return applyJsonPatch(target, patch);
    case PatchType.MergePatch:
      if (!isJsonObject(patch)) throw badRequestError('merge patch must be a JSON object');
      return applyMergePatch(target, patch);
    case PatchType.StrategicMergePatch:
      if (!isJsonObject(patch))
        throw badRequestError('strategic merge patch must be a JSON object');
      return strategicMerge(target, patch);
    case PatchType.ApplyPatch:
      throw unsupportedMediaType();
  }
}
