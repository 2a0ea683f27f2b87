import { defineConfig } from 'tsup';

const common = {
  entry: { index: 'src/index.ts' },
  sourcemap: true,
  target: 'node22',
} as const;

export default defineConfig([
  {
    ...common,
    format: ['esm'],
    dts: { compilerOptions: { composite: false, customConditions: [] } },
    clean: false,
  },
  {
    ...common,
    format: ['cjs'],
    // @pod-identity/core ships ESM only. The CJS build carries the few pure pieces of core's root
    // entry it uses, so `require()` works on every Node 22 (require of ESM needs 22.12+); errors stay
    // recognisable across the two copies through PodIdentityError's Symbol.for brand.
    noExternal: ['@pod-identity/core'],
    dts: { compilerOptions: { composite: false, customConditions: [] } },
  },
]);
