import type { CrdKind } from './constants.js';

// Today's field names of each kind, as a tree: a nested shape for objects whose keys are field names,
// `'map'` for maps whose keys are data (labels) and must never be renamed, `null` for leaves.
interface Shape {
  readonly [field: string]: Shape | 'map' | null;
}

const embeddedMeta = null;
const identitySpec: Shape = {
  metadata: embeddedMeta,
  type: null,
  resourceID: null,
  clientID: null,
  clientPassword: { name: null, namespace: null },
  tenantID: null,
  auxiliaryTenantIDs: null,
  adResourceID: null,
  adEndpoint: null,
  replicas: null,
};
const bindingSpec: Shape = {
  metadata: embeddedMeta,
  azureIdentity: null,
  selector: null,
  weight: null,
};
const replicaStatus: Shape = { metadata: embeddedMeta, availableReplicas: null };
// Object metadata is the API server's, never renamed.
const identity: Shape = {
  apiVersion: null,
  kind: null,
  metadata: null,
  spec: identitySpec,
  status: replicaStatus,
};
const binding: Shape = {
  apiVersion: null,
  kind: null,
  metadata: null,
  spec: bindingSpec,
  status: replicaStatus,
};

const SHAPES: Readonly<Record<CrdKind, Shape>> = {
  AzureIdentity: identity,
  AzureIdentityBinding: binding,
  AzureAssignedIdentity: {
    apiVersion: null,
    kind: null,
    metadata: null,
    spec: {
      metadata: embeddedMeta,
      azureIdentityRef: identity,
      azureBindingRef: binding,
      pod: null,
      podNamespace: null,
      nodename: null,
      replicas: null,
    },
    status: { metadata: embeddedMeta, status: null, availableReplicas: null },
  },
  AzurePodIdentityException: {
    apiVersion: null,
    kind: null,
    metadata: null,
    spec: { metadata: embeddedMeta, podLabels: 'map' },
    status: { metadata: embeddedMeta, status: null },
  },
};

/** What {@link upgradeLegacyFields} did to an object. */
export interface LegacyFieldsUpgrade {
  /** A copy of the object with every old spelling renamed (unknown keys are left as they were). */
  object: Record<string, unknown>;
  /** `old path → new name` of each rename, e.g. `spec.ClientID → clientID`. */
  renamed: string[];
  /** Old spellings dropped because the object also has the field under today's name (which wins). */
  dropped: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function upgrade(value: unknown, shape: Shape, path: string, out: LegacyFieldsUpgrade): unknown {
  if (!isObject(value)) return value;
  const byLowerCase = new Map(Object.keys(shape).map((name) => [name.toLowerCase(), name]));
  const result: Record<string, unknown> = {};
  // Today's spellings first, so that they win over an old spelling of the same field.
  const keys = Object.keys(value).sort(
    (a, b) => Number(!Object.hasOwn(shape, a)) - Number(!Object.hasOwn(shape, b)),
  );
  for (const key of keys) {
    const at = path === '' ? key : `${path}.${key}`;
    const name = Object.hasOwn(shape, key) ? key : byLowerCase.get(key.toLowerCase());
    if (name === undefined) {
      result[key] = value[key];
      continue;
    }
    if (name !== key) {
      if (Object.hasOwn(result, name)) {
        out.dropped.push(at);
        continue;
      }
      out.renamed.push(`${at} → ${name}`);
    }
    const inner = shape[name];
    result[name] =
      inner === null || inner === undefined || inner === 'map'
        ? value[key]
        : upgrade(value[key], inner, path === '' ? name : `${path}.${name}`, out);
  }
  return result;
}

/**
 * Renames the fields of a pod-identity object spelled as releases of the original before v1.6 wrote
 * them (`ClientID`, `ResourceID`, `Selector`, `PodLabels`, and the lower-case `azureidentityref`,
 * `podnamespace`, `resourceid`, a top-level `Status` of the Go MIC 1.5.x records) to today's names,
 * matching names case-insensitively as the original's Go decoding did, and leaves everything else
 * (labels, metadata, unknown keys) as it was. This is what the original MIC's one-time type
 * upgrade did by reading and writing every object back; it only helps while the API server still
 * shows the old names (a CRD without a pruning schema): once a structural schema prunes them, they
 * are no longer there to rename.
 *
 * @param kind - the object's kind
 * @param raw - the object as the API server sent it
 * @returns the upgraded copy and what was renamed (sorted by path)
 */
export function upgradeLegacyFields(kind: CrdKind, raw: unknown): LegacyFieldsUpgrade {
  const out: LegacyFieldsUpgrade = { object: {}, renamed: [], dropped: [] };
  const upgraded = upgrade(raw, SHAPES[kind], '', out);
  out.object = isObject(upgraded) ? upgraded : {};
  // In path order, whatever order the server sent the keys in.
  out.renamed.sort();
  out.dropped.sort();
  return out;
}
