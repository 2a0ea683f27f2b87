import { defineConfig } from 'vitest/config';

// The conformance tier (docs/conformance.md): one real etcd + kube-apiserver for the whole run,
// started by conformance/global-setup.ts, which points POD_IDENTITY_KUBECONFIG (admin) and
// POD_IDENTITY_{MIC,NMI}_KUBECONFIG (bound only to deploy/rbac/) at it. Included here:
// - conformance/**: the shipped CRDs and ClusterRoles applied for real;
// - the testkit's Kubernetes contract tests, unchanged: they target the emulator unless
//   POD_IDENTITY_KUBECONFIG is set, so the same file passes against both servers;
// - MIC, NMI and CLI integration tests named *.kubernetes.test.ts, which follow the same convention.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: [
      'conformance/**/*.test.ts',
      'packages/testkit/test/kubernetes.contract.test.ts',
      'packages/testkit/test/service-account-tokens.test.ts',
      'packages/mic/test/**/*.kubernetes.test.ts',
      'packages/nmi/test/**/*.kubernetes.test.ts',
      'packages/cli/test/**/*.kubernetes.test.ts',
    ],
    globalSetup: ['conformance/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // One API server is shared; files run one after another so they do not race on cluster-wide
    // objects and the 2 shared cores are not oversubscribed.
    fileParallelism: false,
  },
});
