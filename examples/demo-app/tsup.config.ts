import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', main: 'src/main.ts' },
  format: ['esm'],
  dts: {
    entry: { index: 'src/index.ts' },
    compilerOptions: { composite: false, customConditions: [], allowImportingTsExtensions: true },
  },
  sourcemap: true,
  clean: true,
  target: 'node22',
});
