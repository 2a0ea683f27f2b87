import { readFileSync } from 'node:fs';

declare const __POD_IDENTITY_VERSION__: string | undefined;

/**
 * This package's version: written in by the build (tsup `define`) from package.json, the one place
 * it is kept; read from package.json when the sources run unbuilt (tests, benchmarks).
 */
export const VERSION: string =
  typeof __POD_IDENTITY_VERSION__ === 'string'
    ? __POD_IDENTITY_VERSION__
    : (
        JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
          version: string;
        }
      ).version;
