// Each published package's `dependencies` are what its shipped code imports, no more and no less:
// a package that only tests use belongs in devDependencies (users would install it for nothing),
// and one the code imports but the manifest does not list breaks for users even when the workspace
// happens to provide it. knip (`pnpm check:deps`) finds unused dependencies across the workspace;
// this test adds the production side, which knip does not see through a package's own tests.
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishedPackages } from '../published-packages.ts';

/**
 * Imports that the build inlines, so that they are development dependencies although shipped code
 * imports them (checked on the built files by packages/client/test/dependency-tree.test.ts).
 */
const BUNDLED: Readonly<Record<string, readonly string[]>> = {
  '@pod-identity/client': ['@pod-identity/core'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    const shipped =
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.test-support.ts');
    return shipped ? [path] : [];
  });
}

/** `@scope/name` or `name` of a bare specifier; undefined for relative paths and Node built-ins. */
function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined;
  if (builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The module specifiers a package's shipped sources import (statically, dynamically or for types). */
function importedSpecifiers(dir: string): Set<string> {
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm,
    /\bimport\(\s*'([^']+)'\s*\)/g,
    /^\s*import\s+'([^']+)'/gm,
  ];
  const specifiers = new Set<string>();
  for (const file of sourceFiles(join(dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) specifiers.add(match[1]!);
    }
  }
  return specifiers;
}

const packages = publishedPackages();

/**
 * The peer dependencies of the workspace packages whose subpath entries a package imports:
 * @pod-identity/core's adapter entries (`/kubernetes`, `/azure`) load the Kubernetes and Azure SDKs,
 * which core leaves to the application as optional peers, so a package that uses those entries
 * installs them although its own code may not import them. Core's root entry needs none.
 */
function peersProvidedFor(specifiers: Set<string>): Set<string> {
  return new Set(
    packages
      .filter((pkg) =>
        [...specifiers].some((specifier) => specifier.startsWith(`${pkg.manifest.name}/`)),
      )
      .flatMap((pkg) => Object.keys(pkg.manifest.peerDependencies ?? {})),
  );
}

describe.each(packages.map((pkg) => [pkg.manifest.name, pkg] as const))('%s', (name, pkg) => {
  const specifiers = importedSpecifiers(pkg.dir);
  const imported = new Set([...specifiers].flatMap((specifier) => packageName(specifier) ?? []));
  const bundled = BUNDLED[name] ?? [];
  const dependencies = Object.keys(pkg.manifest.dependencies ?? {});
  const peers = Object.keys(pkg.manifest.peerDependencies ?? {});

  it('depends on nothing its shipped code does not need', () => {
    const needed = new Set([...imported, ...peersProvidedFor(specifiers)]);
    expect(dependencies.filter((dependency) => !needed.has(dependency))).toEqual([]);
  });

  it('lists every package its shipped code imports as a dependency or peer', () => {
    const listed = new Set([...dependencies, ...peers, ...bundled, name]);
    expect([...imported].filter((dependency) => !listed.has(dependency)).sort()).toEqual([]);
  });

  it('keeps what its build inlines out of its dependencies', () => {
    for (const inlined of bundled) expect(dependencies).not.toContain(inlined);
  });
});
