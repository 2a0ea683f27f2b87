/**
 * Runs the Kubernetes contract tests against the testkit's emulator, or, when
 * `POD_IDENTITY_KUBECONFIG` names a kubeconfig file, against that (real) API server.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { startKubernetesEmulator } from '@pod-identity/testkit';
import { describe } from 'vitest';
import { compactEtcd } from './etcd-compaction.js';
import { kubernetesContractSuite, type KubeTarget } from './kubernetes-contract.js';

const kubeconfigPath = process.env.POD_IDENTITY_KUBECONFIG;
// Set with POD_IDENTITY_KUBECONFIG by the conformance tier: the real server's etcd, for compact().
const etcdUrl = process.env.POD_IDENTITY_ETCD_URL;

describe(
  kubeconfigPath === undefined
    ? 'Kubernetes contract (emulator)'
    : 'Kubernetes contract (real API server)',
  // A real API server takes seconds to establish CRDs; the emulator needs milliseconds.
  { timeout: 30_000 },
  () => {
    kubernetesContractSuite(async (): Promise<KubeTarget> => {
      if (kubeconfigPath !== undefined) {
        const kubeConfig = new KubeConfig();
        kubeConfig.loadFromFile(kubeconfigPath);
        return {
          kubeConfig,
          ...(etcdUrl === undefined ? {} : { compact: () => compactEtcd(etcdUrl) }),
          close: () => Promise.resolve(),
        };
      }
      const emulator = await startKubernetesEmulator();
      return {
        kubeConfig: emulator.kubeConfig,
        compact: () => emulator.compact(),
        close: () => emulator.close(),
      };
    });
  },
);
