import { defineConfig } from 'vitest/config';

// The chaos tier (`pnpm test:chaos`, docs/reliability.md): the built MIC and NMI as processes against
// the testkit emulators behind fault proxies. Scenarios run one after another (they start several
// Node processes each on a 2-core machine) and use real time, so their bounds are generous.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'chaos',
    root: import.meta.dirname,
    include: ['scenarios/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
