import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'example-custom-nmi',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
