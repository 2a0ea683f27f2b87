import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  parseAzurePodIdentityException,
  safeParseAzurePodIdentityException,
} from './parse-azure-pod-identity-exception.js';

// The exceptions the original's chart ships.
const MIC_EXCEPTION = `
apiVersion: "aadpodidentity.k8s.io/v1"
kind: AzurePodIdentityException
metadata:
  name: mic
  namespace: kube-system
spec:
  podLabels:
    app: mic
    component: mic
    app.kubernetes.io/component: mic
`;
const AKS_ADDON_EXCEPTION = `
apiVersion: "aadpodidentity.k8s.io/v1"
kind: AzurePodIdentityException
metadata:
  name: aks-addon-exception
  namespace: kube-system
spec:
  podLabels:
    kubernetes.azure.com/managedby: aks
`;

function exception(spec: Record<string, unknown>): Record<string, unknown> {
  return { ...(parseYaml(MIC_EXCEPTION) as Record<string, unknown>), spec };
}

describe('parseAzurePodIdentityException', () => {
  it('accepts the exceptions shipped with the chart', () => {
    expect(parseAzurePodIdentityException(parseYaml(MIC_EXCEPTION)).spec.podLabels).toEqual({
      app: 'mic',
      component: 'mic',
      'app.kubernetes.io/component': 'mic',
    });
    expect(parseAzurePodIdentityException(parseYaml(AKS_ADDON_EXCEPTION))).toEqual({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzurePodIdentityException',
      metadata: { name: 'aks-addon-exception', namespace: 'kube-system' },
      spec: { podLabels: { 'kubernetes.azure.com/managedby': 'aks' } },
    });
  });

  it('reads Go’s null map as no labels, and keeps the unused status', () => {
    const parsed = parseAzurePodIdentityException({
      ...exception({ podLabels: null, metadata: {} }),
      status: { status: '' },
    });
    expect(parsed.spec).toEqual({ podLabels: {} });
    expect(parsed.status).toEqual({ status: '' });
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'the pre-1.6 PodLabels',
      { PodLabels: { app: 'mic' } },
      'spec.PodLabels',
      'rename it to "podLabels"',
    ],
    ['no podLabels', {}, 'spec.podLabels', 'is required'],
    [
      'podLabels as a list',
      { podLabels: ['app=mic'] },
      'spec.podLabels',
      'must be an object, got an array',
    ],
    [
      'a numeric label value',
      { podLabels: { app: 1 } },
      'spec.podLabels.app',
      'must be a string, got a number',
    ],
    [
      'an invalid label key',
      { podLabels: { 'app mic': 'x' } },
      'spec.podLabels["app mic"]',
      'is not a valid label key',
    ],
    [
      'an invalid label value',
      { podLabels: { app: 'm i c' } },
      'spec.podLabels.app',
      'is not a valid label value',
    ],
  ])('rejects %s, naming the field', (_what, spec, field, message) => {
    const result = safeParseAzurePodIdentityException(exception(spec));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe(field);
      expect(result.error.message).toContain(message);
    }
  });
});
