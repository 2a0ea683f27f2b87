// What installing @pod-identity/client costs an application: nothing but the client itself. Both
// builds carry the pieces of @pod-identity/core they use, @azure/core-auth is an optional peer (its
// types describe PodIdentityCredential; every Azure SDK client brings it), and the installed size
// stays under the budget below. The checks read the built dist/ (`pnpm build` runs before
// `pnpm test`).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The most an installation of the client (with everything it pulls in) may take on disk. */
const INSTALL_SIZE_BUDGET_BYTES = 1_000_000;

interface Manifest {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  files: string[];
}

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as Manifest;

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

/** The bytes npm writes for this package: its `files`, package.json, README and license files. */
function installedBytes(): number {
  const always = ['package.json', 'README.md', 'LICENSE'];
  return [...manifest.files, ...always]
    .map((file) => join(packageDir, file))
    .filter((path) => existsSync(path))
    .reduce((sum, path) => sum + sizeOf(path), 0);
}

/** The module specifiers a built file imports or requires. */
function importedSpecifiers(file: string): string[] {
  const text = readFileSync(join(packageDir, 'dist', file), 'utf8');
  const patterns = [
    /\bfrom\s+["']([^"']+)["']/g,
    /\brequire\(["']([^"']+)["']\)/g,
    /\bimport\(["']([^"']+)["']\)/g,
  ];
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1]!));
}

const isBuiltin = (specifier: string): boolean =>
  specifier.startsWith('node:') || builtinModules.includes(specifier);

describe('@pod-identity/client as installed', () => {
  it('is built (run `pnpm build` first)', () => {
    expect(existsSync(join(packageDir, 'dist', 'index.cjs'))).toBe(true);
  });

  it('has no dependency; @azure/core-auth is an optional peer', () => {
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(Object.keys(manifest.peerDependencies ?? {})).toEqual(['@azure/core-auth']);
    expect(manifest.peerDependenciesMeta?.['@azure/core-auth']?.optional).toBe(true);
  });

  it.each(['index.js', 'index.cjs'])('%s loads nothing but Node built-ins', (file) => {
    const specifiers = importedSpecifiers(file);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((specifier) => !isBuiltin(specifier))).toEqual([]);
  });

  it.each(['index.d.ts', 'index.d.cts'])(
    '%s refers to nothing but @azure/core-auth and Node built-ins',
    (file) => {
      const specifiers = importedSpecifiers(file);
      expect(specifiers).toContain('@azure/core-auth');
      expect(
        specifiers.filter((specifier) => specifier !== '@azure/core-auth' && !isBuiltin(specifier)),
      ).toEqual([]);
    },
  );

  it(`installs in under ${INSTALL_SIZE_BUDGET_BYTES / 1_000_000} MB`, () => {
    // With no dependency, the installation is the package itself.
    const bytes = installedBytes();
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(INSTALL_SIZE_BUDGET_BYTES);
  });
});
