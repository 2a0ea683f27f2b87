// LIST as kube-apiserver serves it: selectors, `limit`/`continue` pages that stay consistent with the
// first page, and `resourceVersionMatch=Exact` lists, both rebuilt from the event history.
import {
  ApiStatusError,
  badRequestError,
  expiredError,
  invalidError,
  type FieldError,
} from './api-status-error.js';
import type { FieldSelector } from './field-selector.js';
import { isJsonObject, type JsonObject } from './json.js';
import type { LabelSelector } from './label-selector.js';
import { objectKey, type ObjectKey, type ObjectStore } from './object-store.js';
import { apiVersionOf, type ResourceDefinition } from './resource-definition.js';

/** List parameters kube accepts on collection GETs (and DELETE collection). */
export interface ListParameters {
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly limit?: number | undefined;
  readonly continue?: string | undefined;
  /** With `resourceVersionMatch=Exact`, the version to list at. */
  readonly resourceVersion?: string | undefined;
  /** `Exact` lists at `resourceVersion` (410 once compacted); `NotOlderThan` serves the latest. */
  readonly resourceVersionMatch?: string | undefined;
}

/** Parsed selectors of a list or watch. */
export interface Selection {
  readonly labels: LabelSelector;
  readonly fields: FieldSelector;
}

/** What {@link listPage} lists: the keys it may serve and how it reads, filters and presents them. */
export interface ListSource {
  readonly store: ObjectStore;
  readonly def: ResourceDefinition;
  /** The namespace listed, or `undefined` for all. */
  readonly scope: string | undefined;
  /** The current keys that can match, sorted. */
  readonly keys: readonly ObjectKey[];
  /** Whether the selection filters anything out (kube then reports no `remainingItemCount`). */
  readonly filtered: boolean;
  matches(obj: JsonObject): boolean;
  /** An item as the list serves it. */
  present(obj: JsonObject): JsonObject;
}

type Lookup = (k: ObjectKey) => JsonObject | undefined;

interface ContinueToken {
  readonly rv: number;
  readonly start: string;
}

const EXPIRED_CONTINUE_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start }),
  ).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (isJsonObject(parsed) && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through to kube's error
  }
  throw badRequestError(
    `continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`,
  );
}

function listOptionsError(
  type: FieldError['type'],
  detail: string,
  value?: string,
): ApiStatusError {
  return invalidError({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
    {
      type,
      field: 'resourceVersionMatch',
      ...(value === undefined ? {} : { value }),
      detail,
    },
  ]);
}

/** kube's checks of `resourceVersionMatch` against the other list parameters. */
function checkVersionMatch(params: ListParameters): string {
  const match = params.resourceVersionMatch ?? '';
  if (match === '') return match;
  if (match !== 'Exact' && match !== 'NotOlderThan') {
    throw listOptionsError(
      'FieldValueNotSupported',
      'supported values: "Exact", "NotOlderThan", ""',
      match,
    );
  }
  if ((params.resourceVersion ?? '') === '') {
    throw listOptionsError(
      'FieldValueForbidden',
      'resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
  }
  if ((params.continue ?? '') !== '') {
    throw listOptionsError(
      'FieldValueForbidden',
      'resourceVersionMatch is forbidden when continue is provided',
    );
  }
  return match;
}

/**
 * The keys and object lookup of a resource as it was at `rv`, rebuilt by undoing the events
 * committed since (410 Expired when they have been compacted, 504 for a version not reached yet).
 */
function snapshotAt(
  source: ListSource,
  rv: number,
  lookup: Lookup,
  expiredMessage: string,
): { keys: readonly ObjectKey[]; lookup: Lookup } {
  const { store, def, scope, keys } = source;
  if (rv > store.resourceVersion) {
    // kube waits briefly for a future version, then gives up with 504 Timeout.
    throw new ApiStatusError(
      504,
      'Timeout',
      `Too large resource version: ${rv}, current: ${store.resourceVersion}`,
    );
  }
  const events = store.eventsAfter(def.storageKey, rv);
  if (events === 'expired') throw expiredError(expiredMessage);
  const before = new Map<string, { k: ObjectKey; obj: JsonObject | undefined }>();
  for (const event of events) {
    if (scope !== undefined && event.namespace !== scope) continue;
    const key = objectKey(event.namespace, event.name);
    if (!before.has(key)) {
      before.set(key, {
        k: { key, namespace: event.namespace, name: event.name },
        obj: event.type === 'ADDED' ? undefined : event.previous,
      });
    }
  }
  if (before.size === 0) return { keys, lookup };
  const present = new Set(keys.map((k) => k.key));
  const extra = [...before.values()].filter((e) => e.obj !== undefined && !present.has(e.k.key));
  const merged =
    extra.length === 0
      ? keys
      : [...keys, ...extra.map((e) => e.k)].sort((a, b) =>
          a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
        );
  return {
    keys: merged,
    lookup: (k) => {
      const changed = before.get(k.key);
      return changed === undefined ? lookup(k) : changed.obj;
    },
  };
}

/** Where a list starts: its resourceVersion, keys and lookup, and the key it continues after. */
function listStart(
  source: ListSource,
  params: ListParameters,
): { rv: number; keys: readonly ObjectKey[]; lookup: Lookup; after: string | undefined } {
  const { store, def } = source;
  const current: Lookup = (k) => store.get(def.storageKey, k.namespace, k.name);
  const match = checkVersionMatch(params);
  if (match === 'Exact') {
    const exact = Number(params.resourceVersion);
    if (!Number.isInteger(exact) || exact < 0) {
      throw badRequestError(`invalid resource version: ${params.resourceVersion ?? ''}`);
    }
    const at = snapshotAt(
      source,
      exact,
      current,
      'The resourceVersion for the provided list is too old.',
    );
    return { rv: exact, ...at, after: undefined };
  }
  if (params.continue !== undefined && params.continue !== '') {
    const token = decodeContinue(params.continue);
    const at = snapshotAt(source, token.rv, current, EXPIRED_CONTINUE_MESSAGE);
    return { rv: token.rv, ...at, after: token.start };
  }
  return { rv: store.resourceVersion, keys: source.keys, lookup: current, after: undefined };
}

/** The index of the first key after `after` (binary search over the sorted keys). */
function firstAfter(keys: readonly ObjectKey[], after: string | undefined): number {
  if (after === undefined) return 0;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid]?.key ?? '') <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One LIST page: the selected items from the continuation point (or the start), at most `limit` of
 * them, with a `continue` token while more remain. Pages are consistent: a continuation is served as
 * of the first page's resourceVersion, rebuilt from the event history (410 once compacted).
 *
 * @param source - what is listed
 * @param params - the list parameters
 * @returns the `<Kind>List` object
 */
export function listPage(source: ListSource, params: ListParameters): JsonObject {
  const { def } = source;
  const { rv, keys, lookup, after } = listStart(source, params);
  const limit = params.limit !== undefined && params.limit > 0 ? params.limit : undefined;
  const items: JsonObject[] = [];
  let lastKey = '';
  let next: string | undefined;
  let remaining = 0;
  for (let i = firstAfter(keys, after); i < keys.length; i += 1) {
    const k = keys[i];
    if (k === undefined) continue;
    const obj = lookup(k);
    if (obj === undefined || !source.matches(obj)) continue;
    if (limit !== undefined && items.length === limit) {
      next = encodeContinue({ rv, start: lastKey });
      remaining = keys.length - i;
      break;
    }
    items.push(obj);
    lastKey = k.key;
  }
  const metadata: JsonObject = { resourceVersion: String(rv) };
  if (next !== undefined) {
    metadata.continue = next;
    // kube reports remainingItemCount only when it can count without filtering.
    if (!source.filtered) metadata.remainingItemCount = remaining;
  }
  return {
    kind: `${def.kind}List`,
    apiVersion: apiVersionOf(def),
    metadata,
    items: items.map((obj) => source.present(obj)),
  };
}
