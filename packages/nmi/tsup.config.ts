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
    // The daemon as one CommonJS file with its dependencies inlined: every node runs NMI, so its
    // start-up and memory count. Node resolves and compiles one file instead of hundreds, and a
    // CommonJS entry costs about 12 MB less resident memory than an ES module entry on Node 24.
    // `@azure/identity` (service principals only), `@kubernetes/client-node` (exec-plugin
    // kubeconfigs only) and `node-forge` (PKCS#12 certificates only) stay outside and are imported
    // when first needed.
    entry: { cli: 'src/cli.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    platform: 'node',
    target: 'node22',
    sourcemap: true,
    minify: true,
    define,
    // Everything but those (tsup's `external` does not override `noExternal`).
    noExternal: [/^(?!@azure\/identity|@kubernetes\/client-node|node-forge)/],
    esbuildOptions(options) {
      // Keep `import()` of those as a real dynamic import (client-node is an ES module).
      options.supported = { ...options.supported, 'dynamic-import': true };
    },
  },
]);
