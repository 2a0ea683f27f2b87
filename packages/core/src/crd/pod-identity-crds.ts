import { API_GROUP, API_VERSION, CrdKinds, type CrdKind } from './constants.js';
import type {
  CrdJsonSchema,
  CrdPrinterColumn,
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
} from './custom-resource-definition.js';

// The schemas follow the original's v1 CRDs field for field (`aadpodidentity.k8s.io/v1` since
// v1.8.0): every field optional, `int32` where Go had int32, the unused embedded `metadata` inside
// spec and status as a bare object (the API server prunes it to `{}`), and no required lists, so
// every object an existing cluster holds stays valid. Checks beyond types live in the parsers.

const string = (description: string): CrdJsonSchema => ({ type: 'string', description });
const int32 = (description: string, nullable = false): CrdJsonSchema => ({
  type: 'integer',
  format: 'int32',
  ...(nullable ? { nullable: true } : {}),
  description,
});
const unusedMetadata = (): CrdJsonSchema => ({
  type: 'object',
  description: 'Unused; kept so objects written by the original stay valid. Pruned to {}.',
});

function root(description: string, spec: CrdJsonSchema, status: CrdJsonSchema): CrdJsonSchema {
  return {
    type: 'object',
    description,
    properties: {
      apiVersion: string('Versioned schema of this object: aadpodidentity.k8s.io/v1.'),
      kind: string('Kind of this object.'),
      metadata: { type: 'object' },
      spec,
      status,
    },
  };
}

function embedded(description: string, schema: CrdJsonSchema): CrdJsonSchema {
  const properties = { ...schema.properties };
  // The API server keeps an embedded resource's ObjectMeta; saying so explicitly keeps every field
  // of it (resourceVersion is compared by MIC) through any pruning that does not special-case
  // embedded resources.
  properties.metadata = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return { ...schema, description, properties, 'x-kubernetes-embedded-resource': true };
}

function identitySchema(): CrdJsonSchema {
  return root(
    'An Azure identity (a user-assigned managed identity or a service principal) that pods can be bound to.',
    {
      type: 'object',
      description: 'Which Azure identity this is and how to authenticate as it.',
      properties: {
        metadata: unusedMetadata(),
        type: {
          type: 'integer',
          description:
            '0: user-assigned managed identity; 1: service principal with a client secret; 2: service principal with a certificate.',
        },
        resourceID: string('ARM resource ID of the user-assigned managed identity (type 0).'),
        clientID: string('Client (application) ID of the identity; used by every type.'),
        clientPassword: {
          type: 'object',
          description:
            'The Secret holding the client secret (type 1) or the certificate and its password (type 2).',
          properties: {
            name: string('Name of the Secret.'),
            namespace: string('Namespace of the Secret.'),
          },
        },
        tenantID: string('Tenant of the service principal (types 1 and 2).'),
        auxiliaryTenantIDs: {
          type: 'array',
          nullable: true,
          description: 'Further tenants to get tokens for (type 1).',
          items: { type: 'string' },
        },
        adResourceID: string('Unused.'),
        adEndpoint: string(
          'Authority host for service principals; https://login.microsoftonline.com/ when empty.',
        ),
        replicas: int32('Unused.', true),
      },
    },
    {
      type: 'object',
      description: 'Not written.',
      properties: { metadata: unusedMetadata(), availableReplicas: int32('Unused.') },
    },
  );
}

function bindingSchema(): CrdJsonSchema {
  return root(
    'Binds the pods whose aadpodidbinding label equals the selector to an AzureIdentity in the same namespace.',
    {
      type: 'object',
      description: 'Which pods get which identity.',
      properties: {
        metadata: unusedMetadata(),
        azureIdentity: string('Name of an AzureIdentity in the namespace of this binding.'),
        selector: string(
          'Value of the aadpodidbinding pod label that selects pods (case-sensitive).',
        ),
        weight: { type: 'integer', description: 'Unused.' },
      },
    },
    {
      type: 'object',
      description: 'Not written.',
      properties: { metadata: unusedMetadata(), availableReplicas: int32('Unused.') },
    },
  );
}

function assignedIdentitySchema(): CrdJsonSchema {
  return root(
    'Written by MIC: one pod matched with one identity, and whether that identity is assigned to the pod’s node.',
    {
      type: 'object',
      description: 'The pod, its node, and the identity and binding that matched it.',
      properties: {
        metadata: unusedMetadata(),
        azureIdentityRef: embedded(
          'The whole AzureIdentity as it was when matched.',
          identitySchema(),
        ),
        azureBindingRef: embedded(
          'The whole AzureIdentityBinding as it was when matched.',
          bindingSchema(),
        ),
        pod: string('Name of the pod.'),
        podNamespace: string('Namespace of the pod.'),
        nodename: string('Name of the node the pod runs on.'),
        replicas: int32('Unused.', true),
      },
    },
    {
      type: 'object',
      description: 'Progress of the assignment.',
      properties: {
        metadata: unusedMetadata(),
        status: string('Created, Assigned or Unassigned.'),
        availableReplicas: int32('Set to 1.'),
      },
    },
  );
}

function exceptionSchema(): CrdJsonSchema {
  return root(
    'Lets pods in its namespace that carry any one of the listed labels (every one, when NMI runs with --exception-match=all) reach the node’s instance metadata directly.',
    {
      type: 'object',
      description: 'Which pods are exempt.',
      properties: {
        metadata: unusedMetadata(),
        podLabels: {
          type: 'object',
          description:
            'Label pairs; a pod with any one of them is exempt (with all of them under NMI --exception-match=all).',
          additionalProperties: { type: 'string' },
        },
      },
    },
    {
      type: 'object',
      description: 'Unused.',
      properties: { metadata: unusedMetadata(), status: string('Unused.') },
    },
  );
}

// A function, not a shared constant: each definition gets its own object, so YAML output has no
// aliases and callers may change one definition without touching another.
const age = (): CrdPrinterColumn => ({
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
});

function crd(
  kind: CrdKind,
  schema: CrdJsonSchema,
  columns: CrdPrinterColumn[] | undefined,
): CustomResourceDefinition {
  const { plural, singular } = CrdKinds[kind];
  const version: CustomResourceDefinitionVersion = {
    name: API_VERSION,
    served: true,
    storage: true,
    ...(columns === undefined ? {} : { additionalPrinterColumns: columns, subresources: {} }),
    schema: { openAPIV3Schema: schema },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${API_GROUP}`,
      // The group is under k8s.io, so the API server insists on this annotation.
      annotations: { 'api-approved.kubernetes.io': 'unapproved' },
    },
    spec: {
      group: API_GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular },
      scope: 'Namespaced',
      versions: [version],
    },
  };
}

/**
 * The four CustomResourceDefinitions of `aadpodidentity.k8s.io/v1` (AzureIdentity,
 * AzureIdentityBinding, AzureAssignedIdentity, AzurePodIdentityException), in that order, as plain
 * wire objects: the one source of truth for `deploy/crds/` (`pnpm gen:crds`), the test cluster and
 * installers.
 *
 * Structural `apiextensions.k8s.io/v1` schemas with the original's fields and printer columns, the
 * `api-approved.kubernetes.io: unapproved` annotation, no status subresource, and
 * `x-kubernetes-embedded-resource` on the assigned identity's two refs. Every call returns fresh
 * objects that the caller may change.
 *
 * @returns the four definitions
 */
export function podIdentityCrds(): CustomResourceDefinition[] {
  return [
    crd('AzureIdentity', identitySchema(), [
      { name: 'Type', type: 'string', jsonPath: '.spec.type' },
      { name: 'ClientID', type: 'string', jsonPath: '.spec.clientID' },
      age(),
    ]),
    crd('AzureIdentityBinding', bindingSchema(), [
      { name: 'AzureIdentity', type: 'string', jsonPath: '.spec.azureIdentity' },
      { name: 'Selector', type: 'string', jsonPath: '.spec.selector' },
      age(),
    ]),
    crd('AzureAssignedIdentity', assignedIdentitySchema(), undefined),
    crd('AzurePodIdentityException', exceptionSchema(), undefined),
  ];
}
