import type { ApiServer } from './api-server.js';
import type { JsonObject } from './json.js';
import type { KubernetesVerb } from './kubernetes-faults.js';
import type { ResourceDefinition } from './resource-definition.js';

/** A request path that names a resource collection, object or subresource. */
export interface ResourceRoute {
  readonly def: ResourceDefinition;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: 'status' | undefined;
}

/** A discovery document (`APIVersions`, `APIGroupList`, `APIGroup` or `APIResourceList`). */
export interface DiscoveryDocument {
  readonly document: JsonObject;
}

function document(body: JsonObject): DiscoveryDocument {
  return { document: body };
}

/** Whether a routed path names a resource (as opposed to a discovery document). */
export function isResourceRoute(r: ResourceRoute | DiscoveryDocument): r is ResourceRoute {
  return 'def' in r;
}

function discoveryResources(api: ApiServer, group: string, version: string): JsonObject[] {
  const out: JsonObject[] = [];
  for (const def of api.resources.definitions()) {
    if (def.group !== group || def.version !== version) continue;
    out.push({
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      ...(def.shortNames.length > 0 ? { shortNames: def.shortNames } : {}),
      storageVersionHash: Buffer.from(def.storageKey).toString('base64').slice(0, 11),
    });
    if (def.statusSubresource) {
      out.push({
        name: `${def.plural}/status`,
        singularName: '',
        namespaced: def.namespaced,
        kind: def.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return out;
}

function groups(api: ApiServer): JsonObject[] {
  const byGroup = new Map<string, string[]>();
  for (const def of api.resources.definitions()) {
    if (def.group === '') continue;
    const versions = byGroup.get(def.group) ?? [];
    if (!versions.includes(def.version)) versions.push(def.version);
    byGroup.set(def.group, versions);
  }
  return [...byGroup].map(([name, versions]) => {
    const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions: list, preferredVersion: list[0] };
  });
}

// Maps `/api/v1/...` and `/apis/<group>/<version>/...` to a resource, the way kube's RequestInfo does.
/**
 * Resolves a request path: a discovery document for `/api`, `/api/v1`, `/apis`, `/apis/<g>` and
 * `/apis/<g>/<v>`, a {@link ResourceRoute} for resource paths, or `undefined` for a 404.
 */
export function routeRequest(
  api: ApiServer,
  segments: readonly string[],
  serverAddress: string,
): ResourceRoute | DiscoveryDocument | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api') {
    if (segments.length === 1) {
      return document({
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      });
    }
    if (segments[1] !== 'v1') return undefined;
    group = '';
    version = 'v1';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis') {
    if (segments.length === 1)
      return document({ kind: 'APIGroupList', apiVersion: 'v1', groups: groups(api) });
    const g = groups(api).find((x) => x.name === segments[1]);
    if (g === undefined) return undefined;
    if (segments.length === 2) return document({ kind: 'APIGroup', apiVersion: 'v1', ...g });
    group = segments[1] ?? '';
    version = segments[2] ?? '';
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) {
    const resources = discoveryResources(api, group, version);
    if (resources.length === 0) return undefined;
    return document({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group === '' ? version : `${group}/${version}`,
      resources,
    });
  }
  let namespace: string | undefined;
  if (
    rest[0] === 'namespaces' &&
    rest.length > 2 &&
    rest[2] !== 'status' &&
    rest[2] !== 'finalize'
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = '', name, subresource, ...extra] = rest;
  const def = api.resources.resolve(group, version, plural);
  if (def === undefined || extra.length > 0) return undefined;
  if (namespace !== undefined && !def.namespaced) return undefined;
  if (subresource !== undefined && (subresource !== 'status' || !def.statusSubresource))
    return undefined;
  return { def, namespace, name, subresource };
}

/** The API verb of a request on a resource path, or `undefined` when the path does not serve it (405). */
export function requestVerb(
  method: string,
  r: ResourceRoute,
  query: URLSearchParams,
): KubernetesVerb | undefined {
  const watching = query.get('watch') === 'true' || query.get('watch') === '1';
  if (r.name === undefined) {
    if (method === 'GET') return watching ? 'watch' : 'list';
    if (method === 'POST' && (r.namespace !== undefined || !r.def.namespaced)) return 'create';
    // Collections of namespaced resources are created and deleted per namespace only.
    if (method === 'DELETE' && (r.namespace !== undefined || !r.def.namespaced)) {
      return 'deletecollection';
    }
    return undefined;
  }
  if (r.subresource !== undefined) {
    if (method === 'GET') return 'get';
    if (method === 'PUT') return 'update';
    if (method === 'PATCH') return 'patch';
    return undefined;
  }
  switch (method) {
    case 'GET':
      return watching ? 'watch' : 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return undefined;
  }
}
