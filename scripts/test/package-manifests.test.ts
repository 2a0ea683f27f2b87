// What every published package.json must say, so that the tarballs users install carry a license,
// a README, repository links and no TypeScript sources (the workspace-only `source` condition
// points at src/, which is not published).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../ensure-built.ts';
import { publishedPackages, withoutSourceCondition } from '../published-packages.ts';

const REPOSITORY = 'https://github.com/pod-identity/pod-identity';
const packages = publishedPackages();

describe.each(packages.map((pkg) => [pkg.manifest.name, pkg] as const))('%s', (_name, pkg) => {
  const { manifest } = pkg;

  it('publishes the workspace exports without the source condition', () => {
    expect(manifest.publishConfig?.exports).toEqual(withoutSourceCondition(manifest.exports));
    expect(JSON.stringify(manifest.publishConfig?.exports)).not.toContain('src/');
  });

  it('ships dist and the notices, never src', () => {
    expect(manifest.files).toEqual(['dist', 'NOTICE']);
    for (const bin of Object.values(manifest.bin ?? {})) expect(bin).toMatch(/^\.\/dist\//);
  });

  it('carries the repository LICENSE and NOTICE and a README of its own', () => {
    for (const file of ['LICENSE', 'NOTICE']) {
      expect(readFileSync(join(pkg.dir, file), 'utf8'), file).toBe(
        readFileSync(join(repoRoot, file), 'utf8'),
      );
    }
    const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
    expect(readme.startsWith(`# ${manifest.name}\n`)).toBe(true);
    expect(readme).toContain(`npm install`);
    expect(readme).toContain(`${REPOSITORY}/blob/main/docs/`);
  });

  it('links to the repository, its folder and its issues', () => {
    expect(manifest.license).toBe('MIT');
    expect(manifest.repository).toEqual({
      type: 'git',
      url: `git+${REPOSITORY}.git`,
      directory: pkg.path,
    });
    expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/${pkg.path}#readme`);
    expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` });
    expect(manifest.publishConfig?.access).toBe('public');
  });
});

it('the root README links every published package', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  for (const pkg of packages) expect(readme).toContain(`(${pkg.path})`);
});

it('all packages, the CLIs and the Helm chart share one version', () => {
  const [first, ...rest] = packages.map((pkg) => pkg.manifest.version);
  for (const version of rest) expect(version).toBe(first);
  const chart = readFileSync(join(repoRoot, 'deploy/charts/pod-identity/Chart.yaml'), 'utf8');
  expect(chart).toContain(`appVersion: "${first!}"`);
  // The CLIs get it from package.json at build time (src/version.ts); no copy is written by hand.
  for (const pkg of packages) {
    for (const file of ['run-cli.ts', 'cli.ts', 'run-mic-cli.ts', 'create-nmi.ts']) {
      const path = join(pkg.dir, 'src', file);
      if (existsSync(path)) expect(readFileSync(path, 'utf8'), path).not.toContain(`'${first!}'`);
    }
  }
});
