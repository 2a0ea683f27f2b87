import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  parseAzureIdentityBinding,
  safeParseAzureIdentityBinding,
} from './parse-azure-identity-binding.js';

// deploy/demo/aadpodidentitybinding.yaml of the original: selector `demo`.
const DEMO_BINDING = `
apiVersion: "aadpodidentity.k8s.io/v1"
kind: AzureIdentityBinding
metadata:
  name: demo1-azure-identity-binding
spec:
  azureIdentity: demo-aad1
  selector: demo
`;

function binding(spec: Record<string, unknown> = {}): Record<string, unknown> {
  const base = parseYaml(DEMO_BINDING) as Record<string, unknown>;
  return { ...base, spec: { ...(base.spec as object), ...spec } };
}

describe('parseAzureIdentityBinding', () => {
  it('accepts the demo binding', () => {
    expect(parseAzureIdentityBinding(binding())).toEqual({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentityBinding',
      metadata: { name: 'demo1-azure-identity-binding' },
      spec: { azureIdentity: 'demo-aad1', selector: 'demo' },
    });
  });

  it('accepts what the API server returns for a binding the original wrote, keeping weight', () => {
    const parsed = parseAzureIdentityBinding({
      ...binding({ metadata: {}, weight: 0 }),
      status: { metadata: {}, availableReplicas: 0 },
    });
    expect(parsed.spec).toEqual({ azureIdentity: 'demo-aad1', selector: 'demo', weight: 0 });
    expect(parsed.status).toEqual({ availableReplicas: 0 });
  });

  it('keeps a selector’s case, since the label match is case-sensitive', () => {
    expect(parseAzureIdentityBinding(binding({ selector: 'Demo_App.v1' })).spec.selector).toBe(
      'Demo_App.v1',
    );
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'the pre-1.6 AzureIdentity',
      { AzureIdentity: 'demo-aad1' },
      'spec.AzureIdentity',
      'pre-1.6 name',
    ],
    ['the pre-1.6 Selector', { Selector: 'demo' }, 'spec.Selector', 'rename it to "selector"'],
    [
      'the internal azureidentity spelling',
      { azureidentity: 'x' },
      'spec.azureidentity',
      'did you mean "azureIdentity"?',
    ],
    ['an empty selector', { selector: '' }, 'spec.selector', 'must not be empty'],
    ['a selector no label can hold', { selector: 'demo app' }, 'spec.selector', 'can never match'],
    ['a numeric selector', { selector: 5 }, 'spec.selector', 'must be a string'],
    [
      'an identity name that is not an object name',
      { azureIdentity: 'Demo' },
      'spec.azureIdentity',
      'is not an RFC 1123 subdomain',
    ],
    ['a string weight', { weight: 'heavy' }, 'spec.weight', 'must be an integer'],
  ])('rejects %s, naming the field', (_what, spec, field, message) => {
    const result = safeParseAzureIdentityBinding(binding(spec));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe(field);
      expect(result.error.message).toContain(message);
    }
  });

  it('rejects a binding without an identity', () => {
    const input = binding();
    delete (input.spec as Record<string, unknown>).azureIdentity;
    expect(() => parseAzureIdentityBinding(input)).toThrow('spec.azureIdentity: is required');
  });
});
