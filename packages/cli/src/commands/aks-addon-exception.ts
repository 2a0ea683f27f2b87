import { GROUP_VERSION, type AzurePodIdentityException } from '@pod-identity/core';

/** The exception AKS adds on enable so its own add-ons reach IMDS directly. */
export const AKS_ADDON_EXCEPTION: AzurePodIdentityException = {
  apiVersion: GROUP_VERSION,
  kind: 'AzurePodIdentityException',
  metadata: { name: 'aks-addon-exception', namespace: 'kube-system' },
  spec: { podLabels: { 'kubernetes.azure.com/managedby': 'aks' } },
};
