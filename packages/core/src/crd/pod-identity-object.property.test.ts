import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { ASSIGNED_IDENTITY_FINALIZER } from './constants.js';
import { parseAzureAssignedIdentity } from './parse-azure-assigned-identity.js';
import { parseAzureIdentity } from './parse-azure-identity.js';
import { parseAzureIdentityBinding } from './parse-azure-identity-binding.js';
import { parseAzurePodIdentityException } from './parse-azure-pod-identity-exception.js';
import { parsePodIdentityObject, safeParsePodIdentityObject } from './parse-pod-identity-object.js';
import type { CrdJsonSchema } from './custom-resource-definition.js';
import { podIdentityCrds } from './pod-identity-crds.js';
import { serializePodIdentityObject } from './serialize-pod-identity-object.js';
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  AzurePodIdentityException,
  ObjectMeta,
  PodIdentityObject,
} from './types.js';

// --- arbitraries of valid objects -------------------------------------------------------------

const label = fc.stringMatching(/^[a-z0-9](?:[-a-z0-9]{0,10}[a-z0-9])?$/);
const subdomain = fc.array(label, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));
const labelValue = fc.stringMatching(/^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?)?$/);
const labelName = fc.stringMatching(/^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?$/);
const labelKey = fc.oneof(
  labelName,
  fc.tuple(subdomain, labelName).map(([prefix, name]) => `${prefix}/${name}`),
);
const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 4 });
const guid = fc.uuid();
const segment = fc.stringMatching(/^[A-Za-z0-9][-A-Za-z0-9_.()]{0,12}$/);
const resourceId = fc
  .tuple(
    guid,
    segment,
    segment,
    fc.constantFrom('resourceGroups', 'resourcegroups', 'RESOURCEGROUPS'),
  )
  .map(
    ([sub, rg, name, rgs]) =>
      `/subscriptions/${sub}/${rgs}/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
  );
const tenant = fc.oneof(guid, fc.constantFrom('contoso.onmicrosoft.com', 'fabrikam.com'));
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const anyString = fc.string({ unit: 'grapheme', maxLength: 12 });

const objectMeta: fc.Arbitrary<ObjectMeta> = fc.record(
  {
    name: subdomain,
    namespace: label,
    uid: guid,
    resourceVersion: fc.nat().map(String),
    generation: fc.nat(),
    creationTimestamp: fc.constant('2026-11-28T10:00:00Z'),
    deletionTimestamp: fc.constant('2026-11-28T11:00:00Z'),
    labels,
    annotations: fc.dictionary(labelKey, anyString, { maxKeys: 3 }),
    finalizers: fc.array(fc.constantFrom(ASSIGNED_IDENTITY_FINALIZER, 'example.com/other'), {
      maxLength: 2,
    }),
  },
  { requiredKeys: ['name'] },
);

const unusedSpecFields = {
  adResourceID: anyString,
  replicas: fc.option(int32, { nil: null }),
};

const azureIdentity: fc.Arbitrary<AzureIdentity> = fc
  .oneof(
    fc.record(
      {
        type: fc.constant(0 as const),
        resourceID: resourceId,
        clientID: guid,
        clientPassword: fc.constant({}),
        tenantID: fc.constant(''),
        auxiliaryTenantIDs: fc.constant(null),
        adEndpoint: fc.constant(''),
        ...unusedSpecFields,
      },
      { requiredKeys: ['type', 'resourceID', 'clientID'] },
    ),
    fc.record(
      {
        type: fc.constantFrom(1 as const, 2 as const),
        clientID: guid,
        tenantID: tenant,
        clientPassword: fc.record({ name: subdomain, namespace: label }),
        auxiliaryTenantIDs: fc.option(fc.array(tenant, { maxLength: 3 }), { nil: null }),
        adEndpoint: fc.constantFrom(
          'https://login.microsoftonline.com/',
          'https://login.chinacloudapi.cn/',
        ),
        resourceID: fc.constant(''),
        ...unusedSpecFields,
      },
      { requiredKeys: ['type', 'clientID', 'tenantID', 'clientPassword'] },
    ),
  )
  .chain((spec) =>
    fc.record(
      {
        apiVersion: fc.constant('aadpodidentity.k8s.io/v1' as const),
        kind: fc.constant('AzureIdentity' as const),
        metadata: objectMeta,
        spec: fc.constant(spec),
        status: fc.record({ availableReplicas: int32 }, { requiredKeys: [] }),
      },
      { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] },
    ),
  );

const azureIdentityBinding: fc.Arbitrary<AzureIdentityBinding> = fc.record(
  {
    apiVersion: fc.constant('aadpodidentity.k8s.io/v1' as const),
    kind: fc.constant('AzureIdentityBinding' as const),
    metadata: objectMeta,
    spec: fc.record(
      {
        azureIdentity: subdomain,
        selector: labelValue.filter((value) => value !== ''),
        weight: fc.integer(),
      },
      { requiredKeys: ['azureIdentity', 'selector'] },
    ),
    status: fc.record({ availableReplicas: int32 }, { requiredKeys: [] }),
  },
  { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] },
);

const azureAssignedIdentity: fc.Arbitrary<AzureAssignedIdentity> = fc.record(
  {
    apiVersion: fc.constant('aadpodidentity.k8s.io/v1' as const),
    kind: fc.constant('AzureAssignedIdentity' as const),
    metadata: objectMeta,
    spec: fc.record(
      {
        azureIdentityRef: azureIdentity,
        azureBindingRef: azureIdentityBinding,
        pod: subdomain,
        podNamespace: label,
        nodename: subdomain,
        replicas: fc.option(int32, { nil: null }),
      },
      { requiredKeys: ['azureIdentityRef', 'azureBindingRef', 'pod', 'podNamespace', 'nodename'] },
    ),
    status: fc.record(
      {
        status: fc.constantFrom(
          'Created' as const,
          'Assigned' as const,
          'Unassigned' as const,
          '' as const,
        ),
        availableReplicas: int32,
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] },
);

const azurePodIdentityException: fc.Arbitrary<AzurePodIdentityException> = fc.record(
  {
    apiVersion: fc.constant('aadpodidentity.k8s.io/v1' as const),
    kind: fc.constant('AzurePodIdentityException' as const),
    metadata: objectMeta,
    spec: fc.record({ podLabels: labels }),
    status: fc.record({ status: anyString }, { requiredKeys: [] }),
  },
  { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] },
);

const podIdentityObject: fc.Arbitrary<PodIdentityObject> = fc.oneof(
  azureIdentity,
  azureIdentityBinding,
  azureAssignedIdentity,
  azurePodIdentityException,
);

// --- arbitraries of hostile input ---------------------------------------------------------------

const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  stringUnit: 'binary',
});

/** Every path to a value inside a JSON-like tree, so one can be replaced. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(value)) {
    return here.concat(...value.map((item: unknown, index) => paths(item, [...prefix, index])));
  }
  if (typeof value === 'object' && value !== null) {
    return here.concat(
      ...Object.entries(value).map(([key, item]) => paths(item, [...prefix, key])),
    );
  }
  return here;
}

/** A deep copy of `value` with the value at `path` replaced (or its key deleted when `replacement` is undefined). */
function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(value)) {
    const copy: unknown[] = [...(value as unknown[])];
    copy[head as number] = replaceAt(copy[head as number], rest, replacement);
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  const next = replaceAt(copy[head], rest, replacement);
  if (next === undefined) Reflect.deleteProperty(copy, head);
  else copy[head] = next;
  return copy;
}

const PARSERS = [
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseAzureAssignedIdentity,
  parseAzurePodIdentityException,
  parsePodIdentityObject,
];

function throwsOnlyValidationErrors(input: unknown): void {
  for (const parse of PARSERS) {
    try {
      parse(input);
    } catch (error) {
      if (!ValidationError.is(error)) throw error;
      expect(error.message).not.toBe('');
    }
  }
}

// --- properties -------------------------------------------------------------------------------

describe('parse ∘ serialize', () => {
  it('is the identity on valid objects of every kind', () => {
    fc.assert(
      fc.property(podIdentityObject, (object) => {
        expect(parsePodIdentityObject(serializePodIdentityObject(object))).toEqual(object);
      }),
      { numRuns: 300 },
    );
  });

  it('is the identity through JSON text, as the objects travel to and from the API server', () => {
    fc.assert(
      fc.property(podIdentityObject, (object) => {
        const text = JSON.stringify(serializePodIdentityObject(object));
        expect(parsePodIdentityObject(JSON.parse(text))).toEqual(object);
        // and writing again gives the same bytes: the wire form is canonical
        expect(
          JSON.stringify(serializePodIdentityObject(parsePodIdentityObject(JSON.parse(text)))),
        ).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('does not share structure with its input', () => {
    fc.assert(
      fc.property(azurePodIdentityException, (object) => {
        const wire = serializePodIdentityObject(object);
        wire.spec.podLabels['mutated-after-serialize'] = 'x';
        expect(object.spec.podLabels).not.toHaveProperty('mutated-after-serialize');
      }),
    );
  });
});

describe('parsers on hostile input', () => {
  it('throw nothing but ValidationError for arbitrary values', () => {
    fc.assert(fc.property(anything, throwsOnlyValidationErrors), { numRuns: 500 });
  });

  it('throw nothing but ValidationError when any field of a valid object is replaced or removed', () => {
    fc.assert(
      fc.property(
        podIdentityObject.chain((object) => {
          const wire = serializePodIdentityObject(object);
          return fc.tuple(
            fc.constant(wire),
            fc.constantFrom(...paths(wire)),
            fc.option(anything, { nil: undefined }),
          );
        }),
        ([wire, path, replacement]) => {
          throwsOnlyValidationErrors(replaceAt(wire, path, replacement));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('name the offending field when a valid object’s field is given a value of the wrong type', () => {
    fc.assert(
      fc.property(
        podIdentityObject.chain((object) => {
          const wire = serializePodIdentityObject(object);
          // Paths to strings or numbers: replacing one with an object is always a type error there.
          const scalarPaths = paths(wire).filter((path) => {
            const value = path.reduce<unknown>(
              (node, key) => (node as Record<string | number, unknown>)[key],
              wire,
            );
            return typeof value === 'string' || typeof value === 'number';
          });
          return fc.tuple(fc.constant(wire), fc.constantFrom(...scalarPaths));
        }),
        ([wire, path]) => {
          const result = safeParsePodIdentityObject(replaceAt(wire, path, { unexpected: true }));
          expect(result.ok).toBe(false);
          if (!result.ok) {
            const expected = path
              .map((key, index) => {
                if (typeof key === 'number') return `[${key}]`;
                if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return `[${JSON.stringify(key)}]`;
                return index === 0 ? key : `.${key}`;
              })
              .join('');
            expect(result.error.field).toBe(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * What the API server's pruning keeps of `value` under `schema`: unknown fields go, except below
 * `x-kubernetes-preserve-unknown-fields`, and `apiVersion`, `kind` and `metadata` of a resource
 * root (the object itself or an embedded resource) are left to ObjectMeta handling.
 */
function prune(value: unknown, schema: CrdJsonSchema, resourceRoot: boolean): unknown {
  if (Array.isArray(value)) {
    return schema.items === undefined
      ? value
      : value.map((item: unknown) => prune(item, schema.items!, false));
  }
  if (typeof value !== 'object' || value === null) return value;
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && schema.properties === undefined)
    return value;
  const embedded = resourceRoot || schema['x-kubernetes-embedded-resource'] === true;
  const kept: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value)) {
    if (embedded && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) {
      kept.push([key, item]);
      continue;
    }
    const property = schema.properties?.[key] ?? schema.additionalProperties;
    if (property !== undefined) kept.push([key, prune(item, property, false)]);
  }
  return Object.fromEntries(kept);
}

describe('the CRD schemas', () => {
  it('keep every field the serialiser writes (nothing is pruned by the API server)', () => {
    const schemas = new Map(
      podIdentityCrds().map((crd) => [
        crd.spec.names.kind,
        crd.spec.versions[0]!.schema.openAPIV3Schema,
      ]),
    );
    fc.assert(
      fc.property(podIdentityObject, (object) => {
        const wire = serializePodIdentityObject(object);
        expect(prune(wire, schemas.get(object.kind)!, true)).toEqual(wire);
      }),
      { numRuns: 200 },
    );
  });

  it('prune the pre-1.6 capitalised names, which is why the parsers report them', () => {
    const schema = podIdentityCrds()[0]!.spec.versions[0]!.schema.openAPIV3Schema;
    expect(
      prune({ spec: { type: 0, ClientID: 'x', clientPassword: { Name: 'n' } } }, schema, true),
    ).toEqual({
      spec: { type: 0, clientPassword: {} },
    });
  });
});
