import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {'index': 'src/index.ts', 'kubernetes/index': 'src/kubernetes/index.ts', 'azure/index': 'src/azure/index.ts', 'arm/index': 'src/arm/index.ts'},
  format: ['esm'],
  dts: { compilerOptions: { composite: false, customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: 'node22',
});
