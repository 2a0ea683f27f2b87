import { defineConfig } from 'vitest/config';

// The conformance tier: the same Kubernetes contract tests that run against the testkit emulator,
// run here against a real kube-apiserver with etcd (see docs/conformance.md).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['conformance/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
