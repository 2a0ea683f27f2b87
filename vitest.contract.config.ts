import { defineConfig } from 'vitest/config';

// The contract tier (docs/testkit.md, "Contract tier"): the ARM, IMDS and Entra emulators held to
// Azure's published contracts. Run by `pnpm test:contract` (scripts/contract.ts), which first records
// the emulator traffic of the Azure-facing tests and the demo, unless POD_IDENTITY_CONTRACT_RECORD
// already names a recording (CI records the whole `pnpm test` and `pnpm demo`).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/testkit/contract/**/*.contract.test.ts'],
  },
});
