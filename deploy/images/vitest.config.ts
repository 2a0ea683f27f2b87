import { defineConfig } from 'vitest/config';

// The image tier (`pnpm test:images`): the images built by `pnpm images:build`, run from their own
// filesystems. Needs root (network, mount and PID namespaces, iptables), buildah's output and helm.
export default defineConfig({
  test: {
    name: 'images',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
