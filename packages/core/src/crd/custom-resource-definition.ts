/**
 * An OpenAPI v3 schema node of a CustomResourceDefinition, in its wire (JSON/YAML) form with the
 * `x-kubernetes-…` extension names spelled as the API server reads them. Only the keywords
 * pod-identity's schemas use are typed.
 */
export interface CrdJsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  nullable?: boolean;
  properties?: Record<string, CrdJsonSchema>;
  additionalProperties?: CrdJsonSchema;
  items?: CrdJsonSchema;
  /** The value is a whole Kubernetes object (apiVersion, kind, metadata); its metadata is kept. */
  'x-kubernetes-embedded-resource'?: boolean;
  /** The API server keeps fields below this node that the schema does not name. */
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** A column `kubectl get` shows for a custom resource. */
export interface CrdPrinterColumn {
  name: string;
  /** Formatting hint; the original declares `.spec.type` as `string` although it is an integer. */
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
}

/** One served version of a custom resource. */
export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: { openAPIV3Schema: CrdJsonSchema };
  additionalPrinterColumns?: CrdPrinterColumn[];
  /** Present but empty on the original's identity and binding: no status subresource on any kind. */
  subresources?: Record<string, never>;
}

/**
 * An `apiextensions.k8s.io/v1` CustomResourceDefinition as plain wire JSON, ready to be written as
 * YAML or sent to the API server as a raw request body.
 *
 * Not a `V1CustomResourceDefinition` of @kubernetes/client-node: its models spell the schema
 * extensions `x_kubernetes_embedded_resource` and `x_kubernetes_preserve_unknown_fields`, and its
 * typed calls serialise only those names, so a cast silently drops both extensions (the assigned
 * identity's refs would then lose their metadata to pruning). Convert first, e.g. with
 * `loadYaml<V1CustomResourceDefinition>(JSON.stringify(definition))` from @kubernetes/client-node.
 */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: {
    /** `<plural>.<group>`, as the API server requires. */
    name: string;
    annotations: Record<string, string>;
  };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string };
    scope: 'Namespaced';
    versions: CustomResourceDefinitionVersion[];
  };
}
