// kube-apiserver's checks of a written object, with its messages: the type meta against the URL, the
// name rule of the resource, labels and finalizers (apimachinery's ValidateObjectMeta), the structural
// schema of custom resources (with field validation and its warnings), CRD specs and pod specs.
import { isLabelKey, isLabelValue, isRfc1123Label, isRfc1123Subdomain } from '@pod-identity/core';
import { badRequestError, invalidError, type FieldError } from './api-status-error.js';
import {
  STANDARD_FINALIZERS,
  finalizerWarnings,
  reportUnknownFields,
  type WriteOptions,
} from './field-validation.js';
import { asObject, asString, metadataOf, type JsonObject } from './json.js';
import { finalizersOf, nameOf } from './object-meta.js';
import { apiVersionOf, builtinResources, type ResourceDefinition } from './resource-definition.js';
import { applyStructuralSchema } from './structural-schema.js';

/** A write's options, and for a patch the patched object (Strict's refusal quotes it). */
export type ValidatedWrite = WriteOptions & { readonly patched?: unknown };

const DNS1123_LABEL_DETAIL = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`;
const DNS1123_SUBDOMAIN_DETAIL = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
const QUALIFIED_NAME_DETAIL =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_DETAIL =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/**
 * Refuses a body whose `apiVersion` or `kind` contradicts the URL (400), as kube's decoder does.
 * Custom resources may be written at any served version of their group.
 *
 * @param def - the resource the URL names
 * @param body - the request body
 * @param isServed - whether a group/version/plural is served
 */
export function checkTypeMeta(
  def: ResourceDefinition,
  body: JsonObject,
  isServed: (group: string, version: string, plural: string) => boolean,
): void {
  const apiVersion = apiVersionOf(def);
  if (body.apiVersion !== undefined && body.apiVersion !== '' && body.apiVersion !== apiVersion) {
    const other = typeof body.apiVersion === 'string' ? body.apiVersion.split('/') : [];
    const sameGroup = def.custom && other.length === 2 && other[0] === def.group;
    if (!sameGroup || !isServed(def.group, other[1] ?? '', def.plural)) {
      throw badRequestError(
        `the API version in the data (${JSON.stringify(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
      );
    }
  }
  if (body.kind !== undefined && body.kind !== '' && body.kind !== def.kind) {
    throw badRequestError(
      `the kind in the data (${JSON.stringify(body.kind)}) does not match the expected kind (${def.kind})`,
    );
  }
}

function invalidName(name: string, detail: string): FieldError[] {
  return [{ type: 'FieldValueInvalid', field: 'metadata.name', value: name, detail }];
}

function validateName(def: ResourceDefinition, obj: JsonObject): FieldError[] {
  const name = nameOf(obj);
  if (name === '') {
    return [
      {
        type: 'FieldValueRequired',
        field: 'metadata.name',
        detail: 'name or generateName is required',
      },
    ];
  }
  switch (def.nameRule) {
    case 'dns1123Label':
      return isRfc1123Label(name) ? [] : invalidName(name, DNS1123_LABEL_DETAIL);
    case 'pathSegment':
      return name === '.' || name === '..' || name.includes('/') || name.includes('%')
        ? invalidName(name, `may not contain '/' or '%' and may not be '.' or '..'`)
        : [];
    // A CRD's name is a subdomain too; that it is `<plural>.<group>` is checked with its spec.
    case 'dns1123Subdomain':
    case 'crdName':
      return isRfc1123Subdomain(name) ? [] : invalidName(name, DNS1123_SUBDOMAIN_DETAIL);
  }
}

function validateLabels(obj: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(asObject(metadataOf(obj).labels) ?? {})) {
    if (!isLabelKey(key)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'metadata.labels',
        value: key,
        detail: `${QUALIFIED_NAME_DETAIL} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      });
    }
    if (typeof value !== 'string' || !isLabelValue(value)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'metadata.labels',
        value,
        detail: LABEL_VALUE_DETAIL,
      });
    }
  }
  return errors;
}

/**
 * apimachinery's ValidateFinalizers. Finalizers already on the object (such as the API server's own
 * CRD cleanup finalizer) are not checked again; built-in types also demand a domain-qualified or
 * standard finalizer.
 */
function validateFinalizers(
  obj: JsonObject,
  existing: readonly string[],
  coreRules: boolean,
): FieldError[] {
  const errors: FieldError[] = [];
  finalizersOf(obj).forEach((finalizer, i) => {
    const field = `metadata.finalizers[${i}]`;
    if (existing.includes(finalizer)) return;
    if (!isLabelKey(finalizer)) {
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value: finalizer,
        detail: QUALIFIED_NAME_DETAIL,
      });
    } else if (coreRules && !finalizer.includes('/') && !STANDARD_FINALIZERS.has(finalizer)) {
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value: finalizer,
        detail: 'name is neither a standard finalizer name nor is it fully qualified',
      });
    }
  });
  return errors;
}

// The cheapest part of kube's pod validation (ValidatePodSpec's container checks): every pod has
// containers, each with a unique DNS-label name and an image.
function validatePodSpec(pod: JsonObject): FieldError[] {
  const containers = asObject(pod.spec)?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    return [{ type: 'FieldValueRequired', field: 'spec.containers', detail: '' }];
  }
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((item, i) => {
    const container = asObject(item) ?? {};
    const field = `spec.containers[${String(i)}]`;
    const name = asString(container.name) ?? '';
    if (name === '') {
      errors.push({ type: 'FieldValueRequired', field: `${field}.name`, detail: '' });
    } else if (!isRfc1123Label(name)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: `${field}.name`,
        value: name,
        detail: DNS1123_LABEL_DETAIL,
      });
    } else if (seen.has(name)) {
      errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, value: name, detail: '' });
    }
    seen.add(name);
    if ((asString(container.image) ?? '') === '') {
      errors.push({ type: 'FieldValueRequired', field: `${field}.image`, detail: '' });
    }
  });
  return errors;
}

function validateCrdVersions(spec: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const versions = Array.isArray(spec.versions) ? spec.versions.map((v) => asObject(v) ?? {}) : [];
  if (versions.length === 0) {
    errors.push({
      type: 'FieldValueRequired',
      field: 'spec.versions',
      detail: 'must have exactly one version marked as storage version',
    });
  } else if (versions.filter((v) => v.storage === true).length !== 1) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.versions',
      value: versions.map((v) => v.name),
      detail: 'must have exactly one version marked as storage version',
    });
  }
  versions.forEach((v, i) => {
    if (asObject(asObject(v.schema)?.openAPIV3Schema) === undefined) {
      errors.push({
        type: 'FieldValueRequired',
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        detail: 'schemas are required',
      });
    }
  });
  return errors;
}

// The parts of apiextensions' CRD validation this project relies on, in kube's order.
function validateCrd(crd: JsonObject): FieldError[] {
  const spec = asObject(crd.spec) ?? {};
  const names = asObject(spec.names) ?? {};
  const group = asString(spec.group) ?? '';
  const plural = asString(names.plural) ?? '';
  const errors: FieldError[] = [];
  if (group === '') errors.push({ type: 'FieldValueRequired', field: 'spec.group', detail: '' });
  else if (!group.includes('.') || !isRfc1123Subdomain(group)) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.group',
      value: group,
      detail: 'should be a domain with at least one dot',
    });
  }
  if (plural === '')
    errors.push({ type: 'FieldValueRequired', field: 'spec.names.plural', detail: '' });
  if ((asString(names.kind) ?? '') === '') {
    errors.push({ type: 'FieldValueRequired', field: 'spec.names.kind', detail: '' });
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errors.push({
      type: 'FieldValueNotSupported',
      field: 'spec.scope',
      value: spec.scope ?? '',
      detail: 'supported values: "Cluster", "Namespaced"',
    });
  }
  if (nameOf(crd) !== `${plural}.${group}`) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'metadata.name',
      value: nameOf(crd),
      detail: 'must be spec.names.plural+"."+spec.group',
    });
  }
  errors.push(...validateCrdVersions(spec));
  if (group !== '' && builtinResources.some((d) => d.group === group && d.plural === plural)) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.group',
      value: group,
      detail: 'is a built-in group',
    });
  }
  return errors;
}

const isCrd = (def: ResourceDefinition): boolean =>
  def.plural === 'customresourcedefinitions' && def.group === 'apiextensions.k8s.io';

/**
 * Validates an object about to be stored, as kube-apiserver does, and throws kube's 422 with every
 * problem found. A custom resource is first decoded through its structural schema (unknown fields
 * pruned, and reported as `write.fieldValidation` says); the warnings it earns go to `write.warnings`.
 *
 * @param def - the resource
 * @param obj - the object to store (pruned and defaulted in place)
 * @param previous - the stored object an update replaces
 * @param write - field validation directive, warning sink, and the patched object of a patch
 * @throws ApiStatusError 422 Invalid, or what Strict field validation throws
 */
export function validateObject(
  def: ResourceDefinition,
  obj: JsonObject,
  previous: JsonObject | undefined,
  write: ValidatedWrite = {},
): void {
  const errors: FieldError[] = [];
  let schemaErrors: FieldError[] = [];
  if (def.custom && def.schema !== undefined) {
    // Decoding (and so pruning, and Strict's refusal) comes before any validation in kube.
    const dropped: string[] = [];
    schemaErrors = applyStructuralSchema(obj, def.schema, dropped);
    reportUnknownFields(dropped, write, {
      kind: def.kind,
      version: def.version,
      ...(write.patched === undefined ? {} : { patched: write.patched }),
    });
  }
  const existingFinalizers = previous === undefined ? [] : finalizersOf(previous);
  errors.push(
    ...validateName(def, obj),
    ...validateLabels(obj),
    // Built-in types validate with core's ObjectMeta rules, which also demand a domain-qualified or
    // standard finalizer; CRDs and custom resources only need a qualified name.
    ...validateFinalizers(
      obj,
      existingFinalizers,
      !def.custom && def.group !== 'apiextensions.k8s.io',
    ),
    ...schemaErrors,
  );
  if (isCrd(def)) errors.push(...validateCrd(obj));
  if (def.plural === 'pods' && def.group === '' && !def.custom)
    errors.push(...validatePodSpec(obj));
  if (errors.length > 0) throw invalidError(def, nameOf(obj), errors);
  if (def.custom && def.schema !== undefined) {
    const before = new Set(existingFinalizers);
    write.warnings?.push(...finalizerWarnings(finalizersOf(obj).filter((f) => !before.has(f))));
  }
}
