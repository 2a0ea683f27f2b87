import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'deploy',
    include: ['test/**/*.test.ts'],
    // helm and `pnpm deploy` are separate processes; a render takes a second or two on a busy machine.
    testTimeout: 60_000,
  },
});
