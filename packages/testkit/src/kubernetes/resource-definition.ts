import { asObject, asString, metadataOf, type JsonObject } from './json.js';

/** Naming rule kube applies to `metadata.name` of a resource. */
export type NameRule = 'dns1123Subdomain' | 'dns1123Label' | 'crdName' | 'pathSegment';

/** What the emulator knows about one served resource (one group/version/plural). */
export interface ResourceDefinition {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Whether `/status` is served and main-resource writes ignore `.status`. */
  readonly statusSubresource: boolean;
  /** Field selector labels the resource supports (always includes metadata.name/namespace). */
  readonly fieldSelectors: ReadonlySet<string>;
  /** Whether this is a custom resource served from a CRD. */
  readonly custom: boolean;
  /** The CRD version's `openAPIV3Schema`, for custom resources. */
  readonly schema: JsonObject | undefined;
  /** Storage key shared by every version of the resource (`<group>/<plural>`). */
  readonly storageKey: string;
  /** Whether DELETE answers with the deleted object rather than a success `Status`. */
  readonly returnsDeletedObject: boolean;
  readonly nameRule: NameRule;
  /** Whether `metadata.generation` is maintained (bumped on spec changes). */
  readonly tracksGeneration: boolean;
}

/** `v1` for core, `<group>/<version>` otherwise. */
export function apiVersionOf(def: Pick<ResourceDefinition, 'group' | 'version'>): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

function str(value: unknown): string {
  return asString(value) ?? '';
}

function path(obj: JsonObject, ...keys: string[]): unknown {
  let cur: unknown = obj;
  for (const key of keys) cur = asObject(cur)?.[key];
  return cur;
}

// Stored objects are immutable, so their selectable field values can be computed once.
const fieldValueCache = new WeakMap<JsonObject, Record<string, string>>();

/** The field selector values of an object for its resource (missing fields read as ""). */
export function fieldValues(def: ResourceDefinition, obj: JsonObject): Record<string, string> {
  let values = fieldValueCache.get(obj);
  if (values === undefined) {
    values = computeFieldValues(def, obj);
    fieldValueCache.set(obj, values);
  }
  return values;
}

function computeFieldValues(def: ResourceDefinition, obj: JsonObject): Record<string, string> {
  const meta = metadataOf(obj);
  const values: Record<string, string> = {
    'metadata.name': str(meta.name),
    'metadata.namespace': str(meta.namespace),
  };
  if (def.custom || def.group !== '') return values;
  switch (def.plural) {
    case 'pods':
      values['spec.nodeName'] = str(path(obj, 'spec', 'nodeName'));
      values['spec.restartPolicy'] = str(path(obj, 'spec', 'restartPolicy'));
      values['spec.schedulerName'] = str(path(obj, 'spec', 'schedulerName'));
      values['spec.serviceAccountName'] = str(path(obj, 'spec', 'serviceAccountName'));
      values['spec.hostNetwork'] = String(path(obj, 'spec', 'hostNetwork') === true);
      values['status.phase'] = str(path(obj, 'status', 'phase'));
      values['status.podIP'] = str(path(obj, 'status', 'podIP'));
      values['status.nominatedNodeName'] = str(path(obj, 'status', 'nominatedNodeName'));
      break;
    case 'nodes':
      values['spec.unschedulable'] = String(path(obj, 'spec', 'unschedulable') === true);
      break;
    case 'namespaces':
      values['status.phase'] = str(path(obj, 'status', 'phase'));
      break;
    case 'secrets':
      values.type = str(obj.type);
      break;
    case 'events':
      for (const f of [
        'kind',
        'namespace',
        'name',
        'uid',
        'apiVersion',
        'resourceVersion',
        'fieldPath',
      ]) {
        values[`involvedObject.${f}`] = str(path(obj, 'involvedObject', f));
      }
      values.reason = str(obj.reason);
      values.reportingComponent = str(obj.reportingComponent);
      values.source = str(path(obj, 'source', 'component'));
      values.type = str(obj.type);
      break;
    default:
      break;
  }
  return values;
}

const metaFields = ['metadata.name', 'metadata.namespace'];

function builtin(
  spec: Pick<
    ResourceDefinition,
    'group' | 'version' | 'plural' | 'singular' | 'kind' | 'namespaced'
  > &
    Partial<ResourceDefinition> & { extraFields?: readonly string[] },
): ResourceDefinition {
  return {
    shortNames: [],
    statusSubresource: false,
    custom: false,
    schema: undefined,
    returnsDeletedObject: false,
    nameRule: 'dns1123Subdomain',
    tracksGeneration: false,
    ...spec,
    fieldSelectors: new Set([...metaFields, ...(spec.extraFields ?? [])]),
    storageKey: `${spec.group}/${spec.plural}`,
  };
}

/** The built-in resources the emulator serves. */
export const builtinResources: readonly ResourceDefinition[] = [
  builtin({
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    statusSubresource: true,
    returnsDeletedObject: true,
    extraFields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    statusSubresource: true,
    extraFields: ['spec.unschedulable'],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
    returnsDeletedObject: true,
    nameRule: 'dns1123Label',
    extraFields: ['status.phase'],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    namespaced: true,
    extraFields: ['type'],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    kind: 'ServiceAccount',
    namespaced: true,
    shortNames: ['sa'],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    extraFields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  // Stored apart from core/v1 events (kube shares one store and converts between the two shapes;
  // nothing here reads an event through the other API).
  builtin({
    group: 'events.k8s.io',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
  }),
  builtin({
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    singular: 'lease',
    kind: 'Lease',
    namespaced: true,
  }),
  // Served without special semantics so that manifests (install, RBAC, workloads) can be applied;
  // no controllers act on them.
  builtin({
    group: '',
    version: 'v1',
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    statusSubresource: true,
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'endpoints',
    singular: 'endpoints',
    kind: 'Endpoints',
    namespaced: true,
    shortNames: ['ep'],
  }),
  ...(['deployments', 'daemonsets', 'replicasets', 'statefulsets'] as const).map((plural) =>
    builtin({
      group: 'apps',
      version: 'v1',
      plural,
      singular: plural.slice(0, -1),
      kind: {
        deployments: 'Deployment',
        daemonsets: 'DaemonSet',
        replicasets: 'ReplicaSet',
        statefulsets: 'StatefulSet',
      }[plural],
      namespaced: true,
      statusSubresource: true,
      tracksGeneration: true,
    }),
  ),
  builtin({
    group: 'policy',
    version: 'v1',
    plural: 'poddisruptionbudgets',
    singular: 'poddisruptionbudget',
    kind: 'PodDisruptionBudget',
    namespaced: true,
    shortNames: ['pdb'],
    statusSubresource: true,
  }),
  ...(
    [
      ['roles', 'Role', true],
      ['rolebindings', 'RoleBinding', true],
      ['clusterroles', 'ClusterRole', false],
      ['clusterrolebindings', 'ClusterRoleBinding', false],
    ] as const
  ).map(([plural, kind, namespaced]) =>
    builtin({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural,
      singular: plural.slice(0, -1),
      kind,
      namespaced,
      // RBAC names are path segments (e.g. `system:controller`), not DNS subdomains.
      nameRule: 'pathSegment',
    }),
  ),
  builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    statusSubresource: true,
    nameRule: 'crdName',
    tracksGeneration: true,
  }),
];

/** The ResourceDefinitions (one per served version) a CRD object declares. */
export function definitionsFromCrd(crd: JsonObject): ResourceDefinition[] {
  const spec = asObject(crd.spec) ?? {};
  const names = asObject(spec.names) ?? {};
  const group = str(spec.group);
  const plural = str(names.plural);
  const kind = str(names.kind);
  const singular = str(names.singular) || kind.toLowerCase();
  const shortNames = Array.isArray(names.shortNames)
    ? names.shortNames.filter((s): s is string => typeof s === 'string')
    : [];
  const namespaced = spec.scope !== 'Cluster';
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  const defs: ResourceDefinition[] = [];
  for (const raw of versions) {
    const version = asObject(raw);
    if (version?.served !== true) continue;
    const subresources = asObject(version.subresources);
    defs.push({
      group,
      version: str(version.name),
      plural,
      singular,
      kind,
      namespaced,
      shortNames,
      statusSubresource: asObject(subresources?.status) !== undefined,
      fieldSelectors: new Set(metaFields),
      custom: true,
      schema: asObject(asObject(version.schema)?.openAPIV3Schema),
      storageKey: `${group}/${plural}`,
      returnsDeletedObject: false,
      nameRule: 'dns1123Subdomain',
      tracksGeneration: true,
    });
  }
  return defs;
}
