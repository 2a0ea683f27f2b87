import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
// The one version, from package.json (src/version.ts).
const define = { __POD_IDENTITY_VERSION__: JSON.stringify(version) };

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    dts: { compilerOptions: { composite: false, customConditions: [] } },
    sourcemap: true,
    clean: true,
    target: 'node22',
    define,
  },
  {
    // The daemon as one CommonJS file with its dependencies inlined, as NMI's: a restarted MIC leads
    // again sooner when Node resolves and compiles one file instead of hundreds. The SDKs stay outside
    // and are imported when first needed: `@azure/arm-compute` and `@azure/identity` at the first ARM
    // call (or once MIC is idle), `@kubernetes/client-node` for exec-plugin kubeconfigs only.
    entry: { cli: 'src/cli.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    platform: 'node',
    target: 'node22',
    sourcemap: true,
    minify: true,
    define,
    // Everything but those (tsup's `external` does not override `noExternal`).
    noExternal: [/^(?!@azure\/identity|@azure\/arm-compute|@kubernetes\/client-node)/],
    esbuildOptions(options) {
      // Keep `import()` of those as a real dynamic import (client-node is an ES module).
      options.supported = { ...options.supported, 'dynamic-import': true };
    },
  },
]);
