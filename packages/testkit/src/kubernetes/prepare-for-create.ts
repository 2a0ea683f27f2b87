// What kube-apiserver fills in on a create before validation: system metadata, and the
// resource-specific preparation (kube's PrepareForCreate plus the defaulting this project needs).
import { randomUUID } from 'node:crypto';
import { ApiStatusError, badRequestError } from './api-status-error.js';
import { establishedCrdStatus } from './crd-lifecycle.js';
import {
  asObject,
  asString,
  kubeTimestamp,
  metadataOf,
  stringMap,
  type JsonObject,
} from './json.js';
import { dropEmptyMetadata, nameOf } from './object-meta.js';
import type { ResourceDefinition } from './resource-definition.js';

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i += 1) {
    out += GENERATE_NAME_ALPHABET.charAt(Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length));
  }
  return out;
}

/** A Secret's `stringData` folded into `data` (base64), as the API server stores it. */
export function foldStringData(obj: JsonObject): void {
  const stringData = stringMap(obj.stringData);
  if (Object.keys(stringData).length === 0) {
    delete obj.stringData;
    return;
  }
  const data = { ...(asObject(obj.data) ?? {}) };
  for (const [k, v] of Object.entries(stringData))
    data[k] = Buffer.from(v, 'utf8').toString('base64');
  obj.data = data;
  delete obj.stringData;
}

/**
 * Sets the system metadata of an object being created: namespace from the URL (400 when the body
 * names another), a name from `generateName`, a new uid and creationTimestamp, generation 1 where
 * tracked; clears what a client may not set.
 *
 * @param def - the resource
 * @param obj - the object (its metadata is replaced by a prepared copy)
 * @param namespace - the namespace of the URL
 * @param now - the API server's time
 */
export function stampCreateMetadata(
  def: ResourceDefinition,
  obj: JsonObject,
  namespace: string | undefined,
  now: Date,
): void {
  const meta = { ...metadataOf(obj) };
  obj.metadata = meta;
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
    throw new ApiStatusError(
      500,
      'InternalError',
      'resourceVersion should not be set on objects to be created',
    );
  }
  if (def.namespaced) {
    const bodyNs = asString(meta.namespace) ?? '';
    const urlNs = namespace ?? '';
    if (bodyNs !== '' && bodyNs !== urlNs) {
      throw badRequestError(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.namespace = urlNs;
  } else {
    delete meta.namespace;
  }
  const generateName = asString(meta.generateName) ?? '';
  if ((asString(meta.name) ?? '') === '' && generateName !== '')
    meta.name = generateName + randomSuffix();
  meta.uid = randomUUID();
  meta.creationTimestamp = kubeTimestamp(now);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.resourceVersion;
  delete meta.managedFields;
  dropEmptyMetadata(meta);
  delete meta.selfLink;
  if (def.tracksGeneration) meta.generation = 1;
  else delete meta.generation;
}

/**
 * The resource-specific preparation of a create: status of custom resources with a status
 * subresource dropped; pods `Pending`; namespaces with their finalizer, `Active` and the
 * `kubernetes.io/metadata.name` label; secrets' `stringData` folded and type `Opaque`; CRDs
 * established.
 */
export function prepareForCreate(def: ResourceDefinition, obj: JsonObject, now: Date): void {
  if (def.custom) {
    if (def.statusSubresource) delete obj.status;
    return;
  }
  const meta = metadataOf(obj);
  switch (def.plural) {
    case 'pods':
      obj.status = { phase: 'Pending' };
      break;
    case 'namespaces':
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
      meta.labels = { ...stringMap(meta.labels), 'kubernetes.io/metadata.name': nameOf(obj) };
      break;
    case 'secrets':
      foldStringData(obj);
      if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
      break;
    case 'customresourcedefinitions':
      obj.status = establishedCrdStatus(obj, now);
      break;
    default:
      break;
  }
}
