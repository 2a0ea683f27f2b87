// Lets the benchmarks run the workspace packages from source (`--conditions=source`): relative
// `.js` imports resolve to the `.ts` files beside them. Import it first (or pass it to `--import`).
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (error) {
      if (specifier.startsWith('.') && specifier.endsWith('.js'))
        return next(`${specifier.slice(0, -3)}.ts`, context);
      throw error;
    }
  },
});
