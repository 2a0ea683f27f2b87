import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parsePodIdentityObject, safeParsePodIdentityObject } from './parse-pod-identity-object.js';

// A manifest file as a user writes it: identity, binding and exception in one YAML stream.
const MANIFEST = `
apiVersion: aadpodidentity.k8s.io/v1
kind: AzureIdentity
metadata: {name: demo-aad1, namespace: demo}
spec:
  type: 0
  resourceID: /subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo
  clientID: 7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9
---
apiVersion: aadpodidentity.k8s.io/v1
kind: AzureIdentityBinding
metadata: {name: demo-binding, namespace: demo}
spec: {azureIdentity: demo-aad1, selector: demo}
---
apiVersion: aadpodidentity.k8s.io/v1
kind: AzurePodIdentityException
metadata: {name: mic-exception, namespace: default}
spec:
  podLabels: {app: mic, component: mic}
`;

describe('parsePodIdentityObject', () => {
  it('parses each document of a mixed manifest with the parser of its kind', () => {
    const objects = parseAllDocuments(MANIFEST).map((document) =>
      parsePodIdentityObject(document.toJS()),
    );
    expect(objects.map((object) => object.kind)).toEqual([
      'AzureIdentity',
      'AzureIdentityBinding',
      'AzurePodIdentityException',
    ]);
    const [identity] = objects;
    expect(identity?.kind === 'AzureIdentity' && identity.spec.clientID).toBe(
      '7eb6e5b8-1c4f-4a0e-9b2e-6f1f0b3ca6a9',
    );
  });

  it('applies the kind’s checks', () => {
    const [, binding] = parseAllDocuments(MANIFEST).map(
      (document) => document.toJS() as Record<string, unknown>,
    );
    const result = safeParsePodIdentityObject({
      ...binding,
      spec: { azureIdentity: 'demo-aad1', Selector: 'demo' },
    });
    expect(result).toMatchObject({ ok: false, error: { field: 'spec.Selector' } });
  });

  it.each<[string, unknown, string]>([
    [
      'no kind',
      { apiVersion: 'aadpodidentity.k8s.io/v1' },
      'kind: is required (one of AzureIdentity, AzureIdentityBinding, AzureAssignedIdentity, AzurePodIdentityException)',
    ],
    ['a numeric kind', { kind: 1 }, 'kind: must be a string, got a number'],
    ['a Pod', { apiVersion: 'v1', kind: 'Pod' }, 'kind: "Pod" is not a pod-identity kind'],
    [
      'an inherited property name as kind',
      { kind: 'toString' },
      'kind: "toString" is not a pod-identity kind',
    ],
    [
      'a list',
      { kind: 'AzureIdentityList', items: [] },
      'kind: "AzureIdentityList" is not a pod-identity kind',
    ],
    ['null', null, 'must be an object, got null'],
  ])('rejects %s', (_what, input, message) => {
    const result = safeParsePodIdentityObject(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain(message);
  });
});
