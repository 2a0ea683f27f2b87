import type { DeleteParameters, ListParameters } from './api-server.js';
import { badRequestError } from './api-status-error.js';
import { asObject, asString } from './json.js';

/** An integer query parameter; `undefined` when absent or empty, 400 when not an integer. */
export function intParam(query: URLSearchParams, key: string): number | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw badRequestError(`invalid value for ${key}: ${raw}`);
  return Number(raw);
}

/** A list's (or deletecollection's) selectors, paging and resourceVersion parameters. */
export function listParams(query: URLSearchParams): ListParameters {
  return {
    labelSelector: query.get('labelSelector') ?? undefined,
    fieldSelector: query.get('fieldSelector') ?? undefined,
    limit: intParam(query, 'limit'),
    continue: query.get('continue') ?? undefined,
    resourceVersion: query.get('resourceVersion') ?? undefined,
    resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
  };
}

/** A delete's preconditions, propagation policy and grace period, from the query or `DeleteOptions`. */
export function deleteParams(query: URLSearchParams, body: unknown): DeleteParameters {
  const options = asObject(body) ?? {};
  const preconditions = asObject(options.preconditions);
  return {
    preconditions:
      preconditions === undefined
        ? undefined
        : {
            ...(typeof preconditions.uid === 'string' ? { uid: preconditions.uid } : {}),
            ...(typeof preconditions.resourceVersion === 'string'
              ? { resourceVersion: preconditions.resourceVersion }
              : {}),
          },
    propagationPolicy: query.get('propagationPolicy') ?? asString(options.propagationPolicy),
    gracePeriodSeconds:
      intParam(query, 'gracePeriodSeconds') ??
      (typeof options.gracePeriodSeconds === 'number' ? options.gracePeriodSeconds : undefined),
  };
}

/**
 * A watch on an object's own path (`…/pods/<name>?watch=true`) is a watch of the collection narrowed
 * to that name, as kube-apiserver serves it.
 */
export function watchFieldSelector(
  selector: string | null,
  name: string | undefined,
): string | undefined {
  if (name === undefined) return selector ?? undefined;
  const byName = `metadata.name=${name.replace(/[\\,=]/g, (c) => `\\${c}`)}`;
  return selector === null || selector === '' ? byName : `${selector},${byName}`;
}
