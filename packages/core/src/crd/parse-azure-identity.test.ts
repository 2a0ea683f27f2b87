import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../errors/validation-error.js';
import { parseAzureIdentity, safeParseAzureIdentity } from './parse-azure-identity.js';

const CLIENT_ID = '7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9';
const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const RESOURCE_ID =
  '/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/my-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-id';

/** The shape of the original's docs and deploy/demo manifests for each identity type. */
const MSI_YAML = `
apiVersion: "aadpodidentity.k8s.io/v1"
kind: AzureIdentity
metadata:
  name: demo-aad1
spec:
  type: 0
  resourceID: ${RESOURCE_ID}
  clientID: ${CLIENT_ID}
`;
const SP_YAML = `
apiVersion: "aadpodidentity.k8s.io/v1"
kind: AzureIdentity
metadata:
  name: demo-sp
  namespace: default
spec:
  type: 1
  tenantID: ${TENANT_ID}
  clientID: ${CLIENT_ID}
  clientPassword: {"name":"demo-sp-secret","namespace":"default"}
`;
const SP_MULTI_TENANT_YAML = `${SP_YAML}  auxiliaryTenantIDs:
    - 11111111-2222-3333-4444-555555555555
    - contoso.onmicrosoft.com
`;
const SP_CERT_YAML = `
apiVersion: "aadpodidentity.k8s.io/v1"
kind: AzureIdentity
metadata:
  name: demo-sp-cert
  annotations:
    aadpodidentity.k8s.io/Behavior: namespaced
spec:
  type: 2
  tenantID: ${TENANT_ID}
  clientID: ${CLIENT_ID}
  clientPassword: {"name":"demo-cert","namespace":"default"}
  adEndpoint: https://login.microsoftonline.us/
`;

function msi(): Record<string, unknown> {
  return parseYaml(MSI_YAML) as Record<string, unknown>;
}
function withSpec(spec: Record<string, unknown>, base = msi()): Record<string, unknown> {
  return { ...base, spec: { ...(base.spec as object), ...spec } };
}

function errorOf(input: unknown): ValidationError {
  const result = safeParseAzureIdentity(input);
  if (result.ok) throw new Error('expected the parse to fail');
  return result.error;
}

describe('parseAzureIdentity', () => {
  it('accepts the documented user-assigned identity, with the docs’ lower-case resourcegroups', () => {
    expect(parseAzureIdentity(msi())).toEqual({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: { name: 'demo-aad1' },
      spec: { type: 0, resourceID: RESOURCE_ID, clientID: CLIENT_ID },
    });
  });

  it('accepts the documented service principal, multi-tenant and certificate identities', () => {
    expect(parseAzureIdentity(parseYaml(SP_YAML)).spec).toEqual({
      type: 1,
      tenantID: TENANT_ID,
      clientID: CLIENT_ID,
      clientPassword: { name: 'demo-sp-secret', namespace: 'default' },
    });
    expect(parseAzureIdentity(parseYaml(SP_MULTI_TENANT_YAML)).spec.auxiliaryTenantIDs).toEqual([
      '11111111-2222-3333-4444-555555555555',
      'contoso.onmicrosoft.com',
    ]);
    const cert = parseAzureIdentity(parseYaml(SP_CERT_YAML));
    expect(cert.spec.type).toBe(2);
    expect(cert.metadata.annotations).toEqual({ 'aadpodidentity.k8s.io/Behavior': 'namespaced' });
  });

  it('accepts the object as the API server returns one the original wrote, dropping the unused spec.metadata', () => {
    const fromServer = {
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: {
        name: 'demo-aad1',
        namespace: 'default',
        uid: 'a5b4c3d2-0000-4000-8000-000000000001',
        resourceVersion: '1234',
        generation: 1,
        creationTimestamp: '2026-11-28T10:00:00Z',
        managedFields: [{ manager: 'kubectl', operation: 'Update' }],
        ownerReferences: [],
      },
      spec: {
        metadata: {},
        type: 0,
        resourceID: RESOURCE_ID,
        clientID: CLIENT_ID,
        clientPassword: {},
        tenantID: '',
        auxiliaryTenantIDs: null,
        adResourceID: '',
        adEndpoint: '',
        replicas: null,
      },
      status: { metadata: { creationTimestamp: null }, availableReplicas: 0 },
    };
    expect(parseAzureIdentity(fromServer)).toEqual({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: {
        name: 'demo-aad1',
        namespace: 'default',
        uid: 'a5b4c3d2-0000-4000-8000-000000000001',
        resourceVersion: '1234',
        generation: 1,
        creationTimestamp: '2026-11-28T10:00:00Z',
      },
      spec: {
        type: 0,
        resourceID: RESOURCE_ID,
        clientID: CLIENT_ID,
        clientPassword: {},
        tenantID: '',
        auxiliaryTenantIDs: null,
        adResourceID: '',
        adEndpoint: '',
        replicas: null,
      },
      status: { availableReplicas: 0 },
    });
  });

  it('reads a missing type as 0, as the original’s Go decoding did', () => {
    const input = msi();
    delete (input.spec as Record<string, unknown>).type;
    expect(parseAzureIdentity(input).spec.type).toBe(0);
  });

  describe('reports pre-1.6 field names with their current name', () => {
    it.each([
      ['ClientID', 'clientID'],
      ['ResourceID', 'resourceID'],
      ['TenantID', 'tenantID'],
      ['ClientPassword', 'clientPassword'],
    ])('spec.%s', (legacy, current) => {
      const error = errorOf(withSpec({ [legacy]: 'x' }));
      expect(error.field).toBe(`spec.${legacy}`);
      expect(error.message).toContain('pre-1.6 name');
      expect(error.message).toContain(`rename it to "${current}"`);
    });

    it('a whole pre-1.6 object', () => {
      const error = errorOf({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentity',
        metadata: { name: 'old' },
        spec: { type: 0, ResourceID: RESOURCE_ID, ClientID: CLIENT_ID },
      });
      expect(error.message).toBe(
        'spec.ResourceID: "ResourceID" is the pre-1.6 name of this field; field names are case-sensitive since v1.6.0 and the API server drops this one: rename it to "resourceID"',
      );
    });

    it('Name and Namespace inside clientPassword (the original docs’ type-2 example)', () => {
      const base = parseYaml(SP_CERT_YAML) as Record<string, unknown>;
      const error = errorOf(
        withSpec({ clientPassword: { Name: 'demo-cert', Namespace: 'default' } }, base),
      );
      expect(error.field).toBe('spec.clientPassword.Name');
      expect(error.message).toContain('rename it to "name"');
      const ns = errorOf(
        withSpec({ clientPassword: { name: 'demo-cert', Namespace: 'default' } }, base),
      );
      expect(ns.field).toBe('spec.clientPassword.Namespace');
    });
  });

  it('suggests the right casing for other case variants', () => {
    const error = errorOf(withSpec({ clientId: CLIENT_ID }));
    expect(error.field).toBe('spec.clientId');
    expect(error.message).toContain('did you mean "clientID"?');
    expect(errorOf({ ...msi(), Spec: {} }).message).toContain('did you mean "spec"?');
  });

  it('rejects unknown spec fields', () => {
    const error = errorOf(withSpec({ identityName: 'x' }));
    expect(error.field).toBe('spec.identityName');
    expect(error.message).toContain('unknown field');
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'a string type',
      { type: '0' },
      'spec.type',
      'must be 0 (UserAssignedMSI), 1 (ServicePrincipal) or 2',
    ],
    ['an unknown type', { type: 3 }, 'spec.type', 'got 3'],
    ['a numeric clientID', { clientID: 42 }, 'spec.clientID', 'must be a string, got a number'],
    [
      'a clientID that is not a GUID',
      { clientID: 'my-client' },
      'spec.clientID',
      'is not a client ID',
    ],
    ['an empty clientID', { clientID: '' }, 'spec.clientID', 'is required for type 0'],
    [
      'a missing resourceID',
      { resourceID: undefined },
      'spec.resourceID',
      'is required for type 0 (UserAssignedMSI)',
    ],
    [
      'an invalid resourceID',
      { resourceID: '/subscriptions/s/resourceGroups/rg' },
      'spec.resourceID',
      'is not a user-assigned identity resource ID',
    ],
    [
      'a resourceID with a trailing slash',
      { resourceID: `${RESOURCE_ID}/` },
      'spec.resourceID',
      "must not end with '/'",
    ],
    ['an object replicas', { replicas: {} }, 'spec.replicas', 'must be an integer'],
    ['a fractional replicas', { replicas: 1.5 }, 'spec.replicas', 'must be an integer'],
    [
      'auxiliaryTenantIDs as a string',
      { auxiliaryTenantIDs: TENANT_ID },
      'spec.auxiliaryTenantIDs',
      'must be an array of strings',
    ],
    [
      'a bad auxiliary tenant',
      { auxiliaryTenantIDs: [TENANT_ID, 'not a tenant'] },
      'spec.auxiliaryTenantIDs[1]',
      'is not a tenant ID',
    ],
    [
      'a clientPassword string',
      { clientPassword: 'secret' },
      'spec.clientPassword',
      'must be an object, got a string',
    ],
  ])('rejects %s, naming the field', (_what, spec, field, message) => {
    const input = withSpec(spec);
    if (Object.hasOwn(spec, 'resourceID') && spec.resourceID === undefined) {
      delete (input.spec as Record<string, unknown>).resourceID;
    }
    const error = errorOf(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
    expect(() => parseAzureIdentity(input)).toThrow(ValidationError);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'a missing tenantID',
      { tenantID: undefined },
      'spec.tenantID',
      'is required for type 1 (ServicePrincipal)',
    ],
    [
      'a missing clientPassword',
      { clientPassword: undefined },
      'spec.clientPassword',
      'is required for type 1',
    ],
    [
      'a secret without namespace',
      { clientPassword: { name: 'demo-sp-secret' } },
      'spec.clientPassword.namespace',
      'is required',
    ],
    [
      'a secret with a bad name',
      { clientPassword: { name: 'Demo Secret', namespace: 'default' } },
      'spec.clientPassword.name',
      'is not a Secret name',
    ],
    [
      'a plain-http authority',
      { adEndpoint: 'http://login.example.com/' },
      'spec.adEndpoint',
      'must be an https URL',
    ],
    [
      'a relative authority',
      { adEndpoint: 'login.microsoftonline.com' },
      'spec.adEndpoint',
      'is not an absolute URL',
    ],
    ['a tenant with a path', { tenantID: 'contoso/../x' }, 'spec.tenantID', 'is not a tenant ID'],
  ])('rejects a service principal with %s', (_what, spec, field, message) => {
    const base = withSpec(spec, parseYaml(SP_YAML) as Record<string, unknown>);
    // `undefined` in the table means "leave the field out".
    const input = {
      ...base,
      spec: Object.fromEntries(
        Object.entries(base.spec as object).filter(([, value]) => value !== undefined),
      ),
    };
    const error = errorOf(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('allows a plain-http authority on a loopback address (a local emulator)', () => {
    const input = withSpec(
      { adEndpoint: 'http://127.0.0.1:8443/' },
      parseYaml(SP_YAML) as Record<string, unknown>,
    );
    expect(parseAzureIdentity(input).spec.adEndpoint).toBe('http://127.0.0.1:8443/');
  });

  it.each<[string, unknown, string, string]>([
    ['not an object', 'AzureIdentity', '', 'must be an object, got a string'],
    ['an array', [], '', 'must be an object, got an array'],
    [
      'without kind',
      { apiVersion: 'aadpodidentity.k8s.io/v1', metadata: { name: 'x' }, spec: {} },
      'kind',
      'is required',
    ],
    [
      'of another kind',
      { ...msi(), kind: 'AzureIdentityBinding' },
      'kind',
      'must be "AzureIdentity"',
    ],
    [
      'of another version',
      { ...msi(), apiVersion: 'aadpodidentity.k8s.io/v1beta1' },
      'apiVersion',
      'must be "aadpodidentity.k8s.io/v1"',
    ],
    ['without metadata', { ...msi(), metadata: undefined }, 'metadata', 'is required'],
    ['without a name', { ...msi(), metadata: {} }, 'metadata.name', 'is required'],
    [
      'with an upper-case name',
      { ...msi(), metadata: { name: 'Demo' } },
      'metadata.name',
      'is not an RFC 1123 subdomain',
    ],
    [
      'with a numeric name',
      { ...msi(), metadata: { name: 7 } },
      'metadata.name',
      'must be a string',
    ],
    [
      'with a capitalised Name',
      { ...msi(), metadata: { Name: 'demo' } },
      'metadata.Name',
      'did you mean "name"?',
    ],
    [
      'with a bad namespace',
      { ...msi(), metadata: { name: 'd', namespace: 'a.b' } },
      'metadata.namespace',
      'is not a namespace name',
    ],
    [
      'with a numeric label',
      { ...msi(), metadata: { name: 'd', labels: { a: 1 } } },
      'metadata.labels.a',
      'must be a string',
    ],
    [
      'with a bad label key',
      { ...msi(), metadata: { name: 'd', labels: { 'a b': 'c' } } },
      'metadata.labels["a b"]',
      'is not a valid label key',
    ],
    [
      'with a string generation',
      { ...msi(), metadata: { name: 'd', generation: '1' } },
      'metadata.generation',
      'must be an integer',
    ],
    [
      'with finalizers as a string',
      { ...msi(), metadata: { name: 'd', finalizers: 'x' } },
      'metadata.finalizers',
      'must be an array',
    ],
    ['without spec', { ...msi(), spec: undefined }, 'spec', 'is required'],
    ['with a string spec', { ...msi(), spec: 'x' }, 'spec', 'must be an object'],
    [
      'with an unknown status field',
      { ...msi(), status: { phase: 'x' } },
      'status.phase',
      'unknown field',
    ],
  ])('rejects an object %s', (_what, input, field, message) => {
    const error = errorOf(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('never puts a secret-shaped value into the message of a type error', () => {
    const error = errorOf(withSpec({ clientPassword: 'hunter2-super-secret' }));
    expect(error.message).not.toContain('hunter2');
  });
});
