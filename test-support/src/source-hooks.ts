// Lets a Node process run the workspace's TypeScript sources directly (with `--conditions=source`):
// relative `.js` imports resolve to the `.ts` files beside them. Import it first, or pass
// `sourceHooksPath` (from `@pod-identity/test-support/source-hooks-path`) to a child's `--import`:
// the benchmarks and the NMI CLI test use it.
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
