import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {'index': 'src/index.ts'},
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { composite: false, customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: 'node22',
});
