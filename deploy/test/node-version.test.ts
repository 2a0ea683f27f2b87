// Every pod-identity program checks the Node.js version before loading anything else and says in one
// line what it needs, and every package declares in `engines` a version its dependencies run on.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/deploy/helm.ts';

/** Preloaded before the program: makes this Node.js report an older version. */
function reportVersion(version: string): string {
  return `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`;
}

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...args], { cwd: REPO_ROOT }, (error, stdout, stderr) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

/** Each program's `bin` as its package.json names it (NMI's is the bundled `dist/cli.cjs`). */
function binOf(name: string, packageDir: string): readonly [string, string] {
  const { bin } = JSON.parse(readFileSync(join(REPO_ROOT, packageDir, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  const path = bin[name];
  if (path === undefined) throw new Error(`${packageDir}/package.json has no bin ${name}`);
  return [name, join(packageDir, path)];
}

const programs = [
  binOf('pod-identity', 'packages/cli'),
  binOf('pod-identity-mic', 'packages/mic'),
  binOf('pod-identity-nmi', 'packages/nmi'),
];

describe('the Node.js version check', () => {
  it.each(programs)(
    '%s on Node.js 20 prints one line naming the version it needs',
    async (name, path) => {
      const result = await run(['--import', reportVersion('20.19.0'), path, '--version']);
      expect(result.stderr).toBe(
        `${name} needs Node.js 22.19.0 or newer (24 recommended); this is Node.js 20.19.0\n`,
      );
      expect(result.stdout).toBe('');
      expect(result.code).toBe(1);
    },
  );

  it.each(programs)('%s runs on 22.19', async (_name, path) => {
    const result = await run(['--import', reportVersion('22.19.0'), path, '--version']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it("is no older than what any package's production dependencies declare in engines", () => {
    const manifests = [
      '.',
      ...['cli', 'client', 'core', 'mic', 'nmi', 'testkit'].map((p) => `packages/${p}`),
      ...['custom-controller', 'custom-nmi', 'demo-app', 'walkthrough'].map((e) => `examples/${e}`),
    ];
    for (const dir of manifests) {
      const declared = minimumOf(readManifest(join(REPO_ROOT, dir)).engines?.node, dir);
      for (const [dependency, range] of dependencyEngines(join(REPO_ROOT, dir)))
        expect(satisfies(declared, range), `${dir}: ${dependency} needs node ${range}`).toBe(true);
    }
    // The programs' own check names the minimum of the packages that hold them.
    for (const dir of ['packages/cli', 'packages/mic', 'packages/nmi'])
      expect(readManifest(join(REPO_ROOT, dir)).engines?.node, dir).toBe('>=22.19.0');
  });
});

interface Manifest {
  name?: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

function minimumOf(range: string | undefined, where: string): number[] {
  const match = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(range ?? '');
  if (match === null) throw new Error(`${where}: engines.node should read >=x.y.z, not ${range}`);
  return match.slice(1).map(Number);
}

/** Where Node.js resolves a package from `dir`: the nearest node_modules up the tree. */
function resolvePackage(dir: string, name: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(at) === at) return undefined;
  }
}

/** The engines.node ranges of every package a directory's production dependencies bring in. */
function dependencyEngines(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [realpathSync(dir)];
  while (queue.length > 0) {
    const at = queue.shift() ?? '';
    const manifest = readManifest(at);
    for (const name of Object.keys({
      ...manifest.dependencies,
      ...manifest.optionalDependencies,
    })) {
      const resolved = resolvePackage(at, name);
      if (resolved === undefined || seen.has(resolved)) continue;
      seen.add(resolved);
      const range = readManifest(resolved).engines?.node;
      if (range !== undefined) found.set(name, range);
      queue.push(resolved);
    }
  }
  return found;
}

/** Whether a version satisfies an npm range of `||` alternatives of >=, >, <, <=, ^, ~ or = comparators. */
function satisfies(version: readonly number[], range: string): boolean {
  const compare = (other: readonly number[]): number => {
    for (let i = 0; i < 3; i++) {
      const d = (version[i] ?? 0) - (other[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  return range.split('||').some((alternative) =>
    alternative
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .trim()
      .split(/\s+/)
      .filter((part) => part !== '' && part !== '*')
      .every((part) => {
        const match = /^(>=|<=|>|<|\^|~|=)?v?(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?/.exec(part);
        if (match === null) throw new Error(`unread engines range ${range}`);
        const bound = [match[2], match[3], match[4]].map((n) =>
          n === undefined || n === 'x' ? 0 : Number(n),
        );
        const c = compare(bound);
        switch (match[1]) {
          case '>=':
            return c >= 0;
          case '>':
            return c > 0;
          case '<':
            return c < 0;
          case '<=':
            return c <= 0;
          case '^':
            return c >= 0 && version[0] === bound[0];
          case '~':
            return c >= 0 && version[0] === bound[0] && version[1] === bound[1];
          case '=':
          case undefined:
            return match[3] === undefined ? version[0] === bound[0] : c === 0;
        }
      }),
  );
}
