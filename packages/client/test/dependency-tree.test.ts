import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Node's lookup: the nearest `node_modules/<name>` from `fromDir` upwards. */
function findPackageDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) throw new Error(`${name} not installed from ${fromDir}`);
  }
}

/** What installing the package pulls in: dependencies and required (non-optional) peers, transitively. */
function productionTree(rootDir: string): Set<string> {
  const seen = new Set<string>();
  const queue = [rootDir];
  while (queue.length > 0) {
    const dir = queue.pop()!;
    const manifest = readManifest(dir);
    const required = [
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}).filter(
        (peer) => manifest.peerDependenciesMeta?.[peer]?.optional !== true,
      ),
    ];
    for (const name of required) {
      if (seen.has(name)) continue;
      seen.add(name);
      queue.push(findPackageDir(name, dir));
    }
  }
  return seen;
}

describe('@pod-identity/client dependency tree', () => {
  it('declares only core-auth and core as dependencies', () => {
    expect(Object.keys(readManifest(packageDir).dependencies ?? {}).sort()).toEqual([
      '@azure/core-auth',
      '@pod-identity/core',
    ]);
  });

  it('pulls in no Kubernetes, ARM, identity or HTTP-pipeline SDK', () => {
    const tree = productionTree(packageDir);
    expect(tree.has('@pod-identity/core')).toBe(true);
    for (const heavy of [
      '@kubernetes/client-node',
      '@azure/arm-compute',
      '@azure/identity',
      '@azure/msal-node',
      '@azure/core-rest-pipeline',
      '@azure/core-client',
    ]) {
      expect(tree.has(heavy), heavy).toBe(false);
    }
    // Beyond @azure/core-auth's own small tree, only core itself, which has no required dependency.
    const coreAuthTree = productionTree(findPackageDir('@azure/core-auth', packageDir));
    expect([...tree].filter((name) => !coreAuthTree.has(name)).sort()).toEqual([
      '@azure/core-auth',
      '@pod-identity/core',
    ]);
    expect(productionTree(findPackageDir('@pod-identity/core', packageDir)).size).toBe(0);
  });
});
