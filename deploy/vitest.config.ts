import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'deploy',
    include: ['test/**/*.test.ts'],
    // helm, `pnpm deploy` and the daemons are separate processes; on 2 shared cores a render takes a
    // second or two and a daemon several to start.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
