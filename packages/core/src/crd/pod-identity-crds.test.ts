import { describe, expect, it } from 'vitest';
import { API_GROUP, CrdKinds } from './constants.js';
import type { CrdJsonSchema, CustomResourceDefinition } from './custom-resource-definition.js';
import { podIdentityCrds } from './pod-identity-crds.js';

/**
 * The structural-schema rules kube-apiserver enforces on apiextensions.k8s.io/v1 (a subset: the
 * ones these schemas could break). Returns the violations as `path: problem`.
 */
function structuralViolations(
  schema: CrdJsonSchema,
  path: string,
  level: 'root' | 'field' | 'item',
): string[] {
  const problems: string[] = [];
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (schema.type === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
    problems.push(`${path}: type must not be empty`);
  }
  if (embedded && schema.type !== 'object')
    problems.push(`${path}: embedded resource must be an object`);
  if (embedded && schema.additionalProperties !== undefined) {
    problems.push(`${path}: additionalProperties with an embedded resource`);
  }
  if (
    embedded &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true &&
    Object.keys(schema.properties ?? {}).length === 0
  ) {
    problems.push(`${path}: embedded resource without properties`);
  }
  if (schema.type === 'array' && schema.items === undefined)
    problems.push(`${path}: array without items`);
  if (level === 'root' && schema.type !== 'object')
    problems.push(`${path}: root must be an object`);
  if (level === 'root' && schema.additionalProperties !== undefined)
    problems.push(`${path}: additionalProperties at the root`);
  if (schema.properties !== undefined && schema.additionalProperties !== undefined) {
    problems.push(`${path}: both properties and additionalProperties`);
  }
  const checkTypeMeta = level === 'root' || embedded;
  if (checkTypeMeta) {
    for (const key of ['apiVersion', 'kind'] as const) {
      const property = schema.properties?.[key];
      if (property !== undefined && property.type !== 'string')
        problems.push(`${path}.${key}: must be a string`);
    }
    const metadata = schema.properties?.metadata;
    if (metadata !== undefined && metadata.type !== 'object')
      problems.push(`${path}.metadata: must be an object`);
  }
  if (level === 'root') {
    const metadata = schema.properties?.metadata;
    if (metadata !== undefined && JSON.stringify(metadata) !== JSON.stringify({ type: 'object' })) {
      problems.push(`${path}.metadata: only name and generateName may be restricted at the root`);
    }
  }
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    problems.push(...structuralViolations(property, `${path}.${key}`, 'field'));
  }
  if (schema.additionalProperties !== undefined) {
    problems.push(
      ...structuralViolations(schema.additionalProperties, `${path}.additionalProperties`, 'field'),
    );
  }
  if (schema.items !== undefined)
    problems.push(...structuralViolations(schema.items, `${path}.items`, 'item'));
  return problems;
}

function schemaAt(crd: CustomResourceDefinition, jsonPath: string): CrdJsonSchema | undefined {
  let node: CrdJsonSchema | undefined = crd.spec.versions[0]?.schema.openAPIV3Schema;
  for (const key of jsonPath.split('.').slice(1)) {
    node = node?.properties?.[key];
  }
  return node;
}

function byKind(kind: keyof typeof CrdKinds): CustomResourceDefinition {
  const crd = podIdentityCrds().find((candidate) => candidate.spec.names.kind === kind);
  if (crd === undefined) throw new Error(`no CRD for ${kind}`);
  return crd;
}

describe('podIdentityCrds', () => {
  it('defines the four kinds with the original’s names, group, scope and annotation', () => {
    const crds = podIdentityCrds();
    expect(crds.map((crd) => crd.spec.names)).toEqual(
      Object.values(CrdKinds).map(({ kind, plural, singular }) => ({
        kind,
        listKind: `${kind}List`,
        plural,
        singular,
      })),
    );
    for (const crd of crds) {
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${API_GROUP}`);
      expect(crd.metadata.annotations).toEqual({ 'api-approved.kubernetes.io': 'unapproved' });
      expect(crd.spec.group).toBe('aadpodidentity.k8s.io');
      expect(crd.spec.scope).toBe('Namespaced');
      expect(
        crd.spec.versions.map(({ name, served, storage }) => ({ name, served, storage })),
      ).toEqual([{ name: 'v1', served: true, storage: true }]);
    }
  });

  it('has structural schemas', () => {
    for (const crd of podIdentityCrds()) {
      const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
      expect(schema).toBeDefined();
      if (schema !== undefined)
        expect(structuralViolations(schema, crd.spec.names.kind, 'root')).toEqual([]);
    }
  });

  it('has no status subresource, so MIC writes status through the main resource', () => {
    for (const crd of podIdentityCrds()) {
      const subresources = crd.spec.versions[0]?.subresources;
      expect(subresources === undefined || Object.keys(subresources).length === 0).toBe(true);
    }
  });

  it('has the original’s printer columns, each pointing at a schema field', () => {
    const columns = (kind: keyof typeof CrdKinds) =>
      byKind(kind).spec.versions[0]?.additionalPrinterColumns?.map(({ name, type, jsonPath }) => [
        name,
        type,
        jsonPath,
      ]);
    expect(columns('AzureIdentity')).toEqual([
      ['Type', 'string', '.spec.type'],
      ['ClientID', 'string', '.spec.clientID'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
    expect(columns('AzureIdentityBinding')).toEqual([
      ['AzureIdentity', 'string', '.spec.azureIdentity'],
      ['Selector', 'string', '.spec.selector'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
    expect(columns('AzureAssignedIdentity')).toBeUndefined();
    expect(columns('AzurePodIdentityException')).toBeUndefined();
    for (const crd of podIdentityCrds()) {
      for (const column of crd.spec.versions[0]?.additionalPrinterColumns ?? []) {
        if (column.jsonPath.startsWith('.spec.'))
          expect(schemaAt(crd, column.jsonPath)).toBeDefined();
      }
    }
  });

  it('embeds the whole identity and binding in an assigned identity, keeping their metadata', () => {
    const assigned = byKind('AzureAssignedIdentity');
    for (const [ref, kind] of [
      ['.spec.azureIdentityRef', 'AzureIdentity'],
      ['.spec.azureBindingRef', 'AzureIdentityBinding'],
    ] as const) {
      const schema = schemaAt(assigned, ref);
      expect(schema?.['x-kubernetes-embedded-resource']).toBe(true);
      expect(schema?.properties?.metadata?.['x-kubernetes-preserve-unknown-fields']).toBe(true);
      // the embedded spec is exactly the kind's own spec schema
      expect(schema?.properties?.spec).toEqual(schemaAt(byKind(kind), '.spec'));
    }
  });

  it('uses the exact wire names, including the all-lower-case nodename', () => {
    const fields = (kind: keyof typeof CrdKinds) =>
      Object.keys(schemaAt(byKind(kind), '.spec')?.properties ?? {}).sort();
    expect(fields('AzureIdentity')).toEqual([
      'adEndpoint',
      'adResourceID',
      'auxiliaryTenantIDs',
      'clientID',
      'clientPassword',
      'metadata',
      'replicas',
      'resourceID',
      'tenantID',
      'type',
    ]);
    expect(fields('AzureIdentityBinding')).toEqual([
      'azureIdentity',
      'metadata',
      'selector',
      'weight',
    ]);
    expect(fields('AzureAssignedIdentity')).toEqual([
      'azureBindingRef',
      'azureIdentityRef',
      'metadata',
      'nodename',
      'pod',
      'podNamespace',
      'replicas',
    ]);
    expect(fields('AzurePodIdentityException')).toEqual(['metadata', 'podLabels']);
    expect(
      Object.keys(schemaAt(byKind('AzureAssignedIdentity'), '.status')?.properties ?? {}).sort(),
    ).toEqual(['availableReplicas', 'metadata', 'status']);
  });

  it('returns fresh objects on every call', () => {
    const first = podIdentityCrds();
    first[0]!.metadata.annotations.changed = 'yes';
    expect(podIdentityCrds()[0]!.metadata.annotations).not.toHaveProperty('changed');
  });
});
