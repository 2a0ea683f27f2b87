// The planner's boundary: the shape every object must have before the planners read it. Informers
// hand the planners whatever the API server stored, and an existing cluster stores objects this
// project never wrote (records of the original MIC 1.5 and earlier, which lack
// `spec.azureIdentityRef` once the API server has pruned their old field names; hand-edited objects;
// objects under CRDs without a schema). One such object must cost only itself, never the pass.
import { AssignedIdentityState } from '../crd/constants.js';

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(object: Loose, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** `undefined` when `object[key]` is a non-empty string, else why not. */
function nonEmptyString(object: Loose, key: string, path: string): string | undefined {
  const value = field(object, key);
  if (typeof value === 'string' && value !== '') return undefined;
  return value === ''
    ? `${path}: must not be empty`
    : `${path}: must be a string, is ${describe(value)}`;
}

/** `undefined` when `object[key]` is absent or a string, else why not. */
function optionalString(object: Loose, key: string, path: string): string | undefined {
  const value = field(object, key);
  if (value === undefined || typeof value === 'string') return undefined;
  return `${path}: must be a string, is ${describe(value)}`;
}

function metadataProblem(object: Loose, path: string): string | undefined {
  const metadata = field(object, 'metadata');
  const at = path === '' ? 'metadata' : `${path}.metadata`;
  if (!isObject(metadata)) return `${at}: must be an object, is ${describe(metadata)}`;
  return (
    nonEmptyString(metadata, 'name', `${at}.name`) ??
    optionalString(metadata, 'namespace', `${at}.namespace`) ??
    optionalString(metadata, 'resourceVersion', `${at}.resourceVersion`) ??
    optionalString(metadata, 'uid', `${at}.uid`)
  );
}

function specOf(object: Loose, path: string): Loose | string {
  const spec = field(object, 'spec');
  const at = path === '' ? 'spec' : `${path}.spec`;
  return isObject(spec) ? spec : `${at}: must be an object, is ${describe(spec)}`;
}

function identitySpecProblem(spec: Loose, at: string): string | undefined {
  const type = field(spec, 'type');
  if (type !== 0 && type !== 1 && type !== 2) {
    return `${at}.type: must be 0, 1 or 2, is ${typeof type === 'number' ? String(type) : describe(type)}`;
  }
  return (
    optionalString(spec, 'resourceID', `${at}.resourceID`) ??
    optionalString(spec, 'clientID', `${at}.clientID`)
  );
}

/**
 * Why an AzureIdentity cannot be planned with, or `undefined` when it can: a name, a spec with a
 * numeric `type` (0, 1 or 2) and string IDs; for a service principal (types 1 and 2), a
 * `clientPassword` naming the Secret (NMI has nothing to authenticate with otherwise). Whether a
 * type-0 `resourceID` is well formed is the planner's own check.
 *
 * @param identity - the object as the caller holds it
 * @returns the first problem, as `<field path>: <what is wrong>`
 */
export function identityProblem(identity: unknown): string | undefined {
  if (!isObject(identity)) return `must be an object, is ${describe(identity)}`;
  const problem = metadataProblem(identity, '');
  if (problem !== undefined) return problem;
  const spec = specOf(identity, '');
  if (typeof spec === 'string') return spec;
  const specProblem = identitySpecProblem(spec, 'spec');
  if (specProblem !== undefined) return specProblem;
  if (spec.type === 0) return undefined;
  const password = field(spec, 'clientPassword');
  const secret = isObject(password) ? password : {};
  const missing = ['name', 'namespace'].find((key) => {
    const value = field(secret, key);
    return typeof value !== 'string' || value === '';
  });
  if (missing === undefined) return undefined;
  // The Go documentation's type-2 example spells these `Name` and `Namespace`; the API server prunes
  // those keys, which leaves `clientPassword: {}`.
  const capitalised = Object.keys(secret).some((key) => key === 'Name' || key === 'Namespace');
  return `spec.clientPassword.${missing}: is required for a service principal (type ${String(spec.type)})${
    capitalised || Object.keys(secret).length === 0
      ? '; the capitalised Name/Namespace of older examples are not read: write name and namespace'
      : ''
  }`;
}

/**
 * Why an AzureIdentityBinding cannot be planned with, or `undefined`: a name, and string
 * `spec.azureIdentity` and `spec.selector`.
 *
 * @param binding - the object as the caller holds it
 * @returns the first problem
 */
export function bindingProblem(binding: unknown): string | undefined {
  if (!isObject(binding)) return `must be an object, is ${describe(binding)}`;
  const problem = metadataProblem(binding, '');
  if (problem !== undefined) return problem;
  const spec = specOf(binding, '');
  if (typeof spec === 'string') return spec;
  const hint =
    Object.hasOwn(spec, 'AzureIdentity') || Object.hasOwn(spec, 'Selector')
      ? ' (AzureIdentity and Selector are the pre-1.6 names: write azureIdentity and selector)'
      : '';
  const specProblem =
    nonEmptyString(spec, 'azureIdentity', 'spec.azureIdentity') ??
    (typeof field(spec, 'selector') === 'string'
      ? undefined
      : `spec.selector: must be a string, is ${describe(field(spec, 'selector'))}`);
  return specProblem === undefined ? undefined : `${specProblem}${hint}`;
}

const STATES: readonly unknown[] = ['', ...Object.values(AssignedIdentityState)];

/**
 * Why an AzureAssignedIdentity cannot be planned with, or `undefined`: what the planners read of it
 * (name, pod, pod namespace, node; the embedded identity's name, versions and spec type and IDs; the
 * embedded binding's name and versions; a known `status.status`).
 *
 * @param record - the object as the caller holds it
 * @returns the first problem
 */
export function assignedIdentityProblem(record: unknown): string | undefined {
  if (!isObject(record)) return `must be an object, is ${describe(record)}`;
  const problem = metadataProblem(record, '');
  if (problem !== undefined) return problem;
  const spec = specOf(record, '');
  if (typeof spec === 'string') return spec;
  for (const key of ['pod', 'podNamespace', 'nodename']) {
    const fieldProblem = nonEmptyString(spec, key, `spec.${key}`);
    if (fieldProblem !== undefined) return fieldProblem;
  }
  for (const [key, identity] of [
    ['azureIdentityRef', true],
    ['azureBindingRef', false],
  ] as const) {
    const ref = field(spec, key);
    const at = `spec.${key}`;
    if (!isObject(ref)) {
      const old = Object.keys(spec).find(
        (name) => name !== key && name.toLowerCase() === key.toLowerCase(),
      );
      return `${at}: must be an object, is ${describe(ref)}${
        old === undefined
          ? ' (records written by AAD Pod Identity before v1.6 lose it when the API server prunes their old field names)'
          : ` (${JSON.stringify(old)} is an old spelling)`
      }`;
    }
    const refProblem = metadataProblem(ref, at);
    if (refProblem !== undefined) return refProblem;
    if (identity) {
      const refSpec = specOf(ref, at);
      if (typeof refSpec === 'string') return refSpec;
      const specProblem = identitySpecProblem(refSpec, `${at}.spec`);
      if (specProblem !== undefined) return specProblem;
    }
  }
  const status = field(record, 'status');
  if (status === undefined || status === null) return undefined;
  if (!isObject(status)) return `status: must be an object, is ${describe(status)}`;
  const state = field(status, 'status');
  if (state === undefined || STATES.includes(state)) return undefined;
  return `status.status: must be Created, Assigned, Unassigned or empty, is ${
    typeof state === 'string' ? JSON.stringify(state) : describe(state)
  }`;
}

/**
 * Why a planner pod cannot be planned with, or `undefined`: string namespace, name, node name and
 * selector (and phase, when present).
 *
 * @param pod - the pod as the caller holds it
 * @returns the first problem
 */
export function podProblem(pod: unknown): string | undefined {
  if (!isObject(pod)) return `must be an object, is ${describe(pod)}`;
  for (const key of ['namespace', 'name']) {
    const problem = nonEmptyString(pod, key, key);
    if (problem !== undefined) return problem;
  }
  for (const key of ['nodeName', 'selector']) {
    if (typeof field(pod, key) !== 'string')
      return `${key}: must be a string, is ${describe(field(pod, key))}`;
  }
  return optionalString(pod, 'phase', 'phase');
}

/**
 * `namespace/name` of an object as far as it can be read (`?` for what cannot), for reports about
 * objects that failed the checks above.
 *
 * @param object - anything
 * @returns the key
 */
export function looseObjectKey(object: unknown): string {
  if (!isObject(object)) return '?';
  const metadata = field(object, 'metadata');
  const from = isObject(metadata) ? metadata : object;
  const namespace = field(from, 'namespace');
  const name = field(from, 'name');
  return `${typeof namespace === 'string' ? namespace : ''}/${typeof name === 'string' && name !== '' ? name : '?'}`;
}
