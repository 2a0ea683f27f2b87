import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'packages/core/test', 'examples/*', 'deploy', 'scripts'],
  },
});
