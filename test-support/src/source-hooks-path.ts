import { join } from 'node:path';

/** The file to pass to a child Node process's `--import` so that it runs TypeScript sources (`source-hooks.ts`). */
export const sourceHooksPath = join(import.meta.dirname, 'source-hooks.ts');
