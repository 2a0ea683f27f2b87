import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: {
    compilerOptions: { composite: false, customConditions: [], allowImportingTsExtensions: true },
  },
  sourcemap: true,
  clean: true,
  target: 'node22',
});
