import { defineConfig, type Options } from 'tsup';

// The client is what applications install, so it stands alone: both builds carry the few pure pieces
// of @pod-identity/core's root entry that it uses (PodIdentityError), in the JavaScript and in the
// types. A CommonJS consumer therefore never meets ESM-only core (require of ESM needs Node 22.12+,
// and TypeScript refuses a .d.cts that imports an ESM-only package), and installing the client pulls
// in nothing else. Errors stay recognisable across copies through PodIdentityError's Symbol.for brand.
const common: Options = {
  entry: { index: 'src/index.ts' },
  sourcemap: true,
  target: 'node22',
  noExternal: ['@pod-identity/core'],
  // Bundle core from its sources, so that tree shaking leaves only what the client uses in the code
  // and in the source maps.
  esbuildOptions(options) {
    options.conditions = ['source'];
  },
  dts: {
    compilerOptions: {
      composite: false,
      customConditions: [],
      // A path mapping, unlike package resolution, makes core's declarations part of the bundle.
      paths: { '@pod-identity/core': ['../core/src/index.ts'] },
    },
  },
};

export default defineConfig([
  { ...common, format: ['esm'], clean: false },
  { ...common, format: ['cjs'] },
]);
