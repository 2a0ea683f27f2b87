// `pnpm check:published`: the packages as their users install them. Packs every package under
// packages/ (pnpm pack, as publishing would), checks what each tarball carries, installs the tarballs
// with npm into a scratch project outside the workspace, then
//   - imports every entry point from ESM, and requires the ones that claim CommonJS;
//   - installs the client alone and checks its install size against its budget;
//   - type-checks consumers under `module: nodenext` with TypeScript 5.6 and the workspace's
//     TypeScript: every entry point from an .mts file, the client from a .cts file (without
//     skipLibCheck), and the same consumer with `customConditions: ["source"]`;
//   - runs each CLI's --version, from that project and from an install of the CLI's tarball
//     with the workspace packages it depends on into a folder of its own (the install docs/install.md gives until the
//     packages are on npm).
// npm's cache and the TypeScript installs are kept under ~/.cache/pod-identity (POD_IDENTITY_CACHE),
// so a second run installs from disk. Requires a fresh `pnpm build`.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, repoRoot } from './ensure-built.ts';
import {
  publishedPackages,
  type ExportTarget,
  type PublishedPackage,
} from './published-packages.ts';

/** TypeScript versions a consumer is checked with: the oldest supported and the workspace's. */
const OLDEST_TYPESCRIPT = '5.6.3';
/** The client's install budget, with everything it pulls in (packages/client/test/dependency-tree.test.ts). */
const CLIENT_INSTALL_BUDGET_BYTES = 1_000_000;
/** Optional peers the entry points need at run time, installed beside the tarballs. */
const PEERS = [
  '@azure/arm-compute',
  '@azure/core-auth',
  '@azure/core-rest-pipeline',
  '@azure/identity',
  '@kubernetes/client-node',
  'msw',
  'node-forge',
  '@types/node',
];

const cacheRoot = process.env.POD_IDENTITY_CACHE ?? join(homedir(), '.cache', 'pod-identity');
const npmCache = join(cacheRoot, 'npm');
const workspaceManifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
const failures: string[] = [];

function log(message: string): void {
  console.log(`[check-published] ${message}`);
}

function check(ok: boolean, message: string): void {
  if (!ok) failures.push(message);
}

function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${String(result.status)}):\n${String(result.stdout)}${String(result.stderr)}`,
    );
  }
  return String(result.stdout);
}

function npmInstall(dir: string, args: readonly string[] = []): void {
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--cache', npmCache, ...args],
    {
      cwd: dir,
    },
  );
}

/** The version of a package the workspace resolves, to install the same one beside the tarballs. */
function workspaceVersion(name: string): string {
  const candidates = [
    join(repoRoot, 'node_modules', name),
    ...readdirSync(join(repoRoot, 'packages')).map((dir) =>
      join(repoRoot, 'packages', dir, 'node_modules', name),
    ),
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'package.json')));
  if (found === undefined) throw new Error(`${name} is not installed in the workspace`);
  return (JSON.parse(readFileSync(join(found, 'package.json'), 'utf8')) as { version: string })
    .version;
}

function packAll(packages: readonly PublishedPackage[], into: string): Map<string, string> {
  const tarballs = new Map<string, string>();
  for (const pkg of packages) {
    const before = new Set(readdirSync(into));
    run('pnpm', ['pack', '--pack-destination', into], { cwd: pkg.dir });
    const created = readdirSync(into).find((file) => !before.has(file) && file.endsWith('.tgz'));
    if (created === undefined) throw new Error(`pnpm pack of ${pkg.path} wrote no tarball`);
    tarballs.set(pkg.manifest.name, join(into, created));
  }
  return tarballs;
}

/** What a tarball must and must not carry. */
function checkTarball(pkg: PublishedPackage, tarball: string): void {
  const files = run('tar', ['-tzf', tarball]).split('\n').filter(Boolean);
  const name = pkg.manifest.name;
  for (const required of [
    'package/package.json',
    'package/README.md',
    'package/LICENSE',
    'package/NOTICE',
  ]) {
    check(files.includes(required), `${name}: tarball lacks ${required}`);
  }
  check(!files.some((file) => file.startsWith('package/src/')), `${name}: tarball carries src/`);
  check(
    !files.some((file) => file.endsWith('.test.js') || file.endsWith('.test.ts')),
    `${name}: tarball carries tests`,
  );
  const manifest = run('tar', ['-xzOf', tarball, 'package/package.json']);
  check(!manifest.includes('"source"'), `${name}: packed package.json keeps the source condition`);
  check(!manifest.includes('workspace:'), `${name}: packed package.json keeps a workspace: range`);
  check(!manifest.includes('./src/'), `${name}: packed package.json points into src/`);
}

/** Entry points of a package as `name` or `name/sub`, with whether they claim a `require` condition. */
function entryPoints(pkg: PublishedPackage): { specifier: string; requirable: boolean }[] {
  const exports = pkg.manifest.publishConfig?.exports ?? pkg.manifest.exports;
  return Object.entries(exports)
    .filter(([key]) => key !== './package.json')
    .map(([key, target]) => ({
      specifier: key === '.' ? pkg.manifest.name : `${pkg.manifest.name}/${key.slice(2)}`,
      requirable:
        typeof target === 'object' && 'require' in (target as Record<string, ExportTarget>),
    }));
}

function checkImports(
  project: string,
  entries: { specifier: string; requirable: boolean }[],
): void {
  const script = [
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    `const entries = ${JSON.stringify(entries)};`,
    'const failed = [];',
    'for (const { specifier, requirable } of entries) {',
    '  try { const m = await import(specifier); if (Object.keys(m).length === 0) failed.push(`${specifier}: import gave no exports`); }',
    '  catch (error) { failed.push(`${specifier}: import failed: ${error.message}`); }',
    '  if (!requirable) continue;',
    '  try { const m = require(specifier); if (Object.keys(m).length === 0) failed.push(`${specifier}: require gave no exports`); }',
    '  catch (error) { failed.push(`${specifier}: require failed: ${error.message}`); }',
    '}',
    'console.log(JSON.stringify(failed));',
  ].join('\n');
  writeFileSync(join(project, 'import-all.mjs'), script);
  const failed = JSON.parse(
    run(process.execPath, ['import-all.mjs'], { cwd: project }),
  ) as string[];
  failures.push(...failed);
  log(
    `imported ${String(entries.length)} entry points (${String(entries.filter((e) => e.requirable).length)} also required)`,
  );
}

function directorySize(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + directorySize(join(path, entry)), 0);
}

/** The client alone in a project of its own: what installing it costs, and that it loads. */
function checkClientAlone(scratch: string, tarball: string): void {
  const project = join(scratch, 'client-alone');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ private: true, dependencies: { '@pod-identity/client': `file:${tarball}` } }),
  );
  npmInstall(project);
  const bytes = directorySize(join(project, 'node_modules'));
  log(
    `the client installs in ${String(Math.round(bytes / 1000))} kB (budget ${String(CLIENT_INSTALL_BUDGET_BYTES / 1000)} kB)`,
  );
  check(
    bytes < CLIENT_INSTALL_BUDGET_BYTES,
    `client install is ${String(bytes)} bytes, over the budget`,
  );
  const installed = readdirSync(join(project, 'node_modules')).filter(
    (name) => !name.startsWith('.'),
  );
  check(
    JSON.stringify(installed) === JSON.stringify(['@pod-identity']) &&
      JSON.stringify(readdirSync(join(project, 'node_modules', '@pod-identity'))) ===
        JSON.stringify(['client']),
    `installing the client alone brought ${installed.join(', ')}`,
  );
  run(process.execPath, ['-e', "require('@pod-identity/client').getToken"], { cwd: project });
  run(process.execPath, ['--input-type=module', '-e', "await import('@pod-identity/client')"], {
    cwd: project,
  });
}

/** A TypeScript compiler of a given version, installed once under the cache. */
function typescript(version: string): string {
  const dir = join(cacheRoot, `typescript-${version}`);
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true }));
    npmInstall(dir, [`typescript@${version}`]);
  }
  return tsc;
}

const CONSUMER_MTS = `// Every entry point, as an ESM consumer uses it.
import { getToken, PodIdentityCredential, IdentityRefusedError, type PodIdentityToken } from '@pod-identity/client';
import { PodIdentityError, parsePodIdentityObject, type AzureIdentity } from '@pod-identity/core';
import * as kubernetes from '@pod-identity/core/kubernetes';
import * as azure from '@pod-identity/core/azure';
import * as arm from '@pod-identity/core/arm';
import { createMic, type MicOptions } from '@pod-identity/mic';
import { createNmi, type NmiOptions } from '@pod-identity/nmi';
import { runCli } from '@pod-identity/cli';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';

export async function tokenOrRefusal(): Promise<PodIdentityToken | string> {
  try {
    return await getToken('https://vault.azure.net', { clientId: 'x' }, { deadlineMs: 1000 });
  } catch (error) {
    if (IdentityRefusedError.is(error) || PodIdentityError.is(error)) return error.message;
    throw error;
  }
}
export const credential = new PodIdentityCredential({ identity: { clientId: 'x' } });
export const identity = (value: unknown): AzureIdentity | undefined => {
  const object = parsePodIdentityObject(value);
  return object.kind === 'AzureIdentity' ? object : undefined;
};
export const adapters = [kubernetes, azure, arm];
export type Daemons = [MicOptions, NmiOptions, typeof createMic, typeof createNmi];
export const cli: (argv: readonly string[]) => Promise<number> = (argv) => runCli(argv);
export const sandbox: () => Promise<Sandbox> = () => startSandbox({ nodeCount: 1 });
`;

const CONSUMER_MSW_MTS = `import { createImdsTokenHandlers, imdsAnswer } from '@pod-identity/testkit/msw';
import { setupServer } from 'msw/node';

const imds = createImdsTokenHandlers({ identities: [{ clientId: 'x' }] });
export const server = setupServer(...imds.handlers);
imds.answerNext(imdsAnswer.notAssigned({ retryAfterSeconds: 1 }));
`;

const CONSUMER_CTS = `// The client from CommonJS: its types must not reach ESM-only packages.
import { getToken, PodIdentityCredential, TokenRequestError } from '@pod-identity/client';
import type { TokenCredential } from '@azure/core-auth';

export const credential: TokenCredential = new PodIdentityCredential();
export async function token(): Promise<string> {
  try {
    return (await getToken('https://vault.azure.net')).token;
  } catch (error) {
    if (TokenRequestError.is(error)) return '';
    throw error;
  }
}
`;

function writeConsumers(project: string): void {
  writeFileSync(join(project, 'consumer.mts'), CONSUMER_MTS);
  writeFileSync(join(project, 'consumer-msw.mts'), CONSUMER_MSW_MTS);
  writeFileSync(join(project, 'client-consumer.cts'), CONSUMER_CTS);
  const base = {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    noEmit: true,
    types: ['node'],
  };
  const configs: Record<string, object> = {
    // Third-party declarations are not ours to check; ours are checked by the client config below.
    'tsconfig.all.json': {
      compilerOptions: { ...base, skipLibCheck: true },
      files: ['consumer.mts'],
    },
    'tsconfig.source.json': {
      compilerOptions: { ...base, skipLibCheck: true, customConditions: ['source'] },
      files: ['consumer.mts', 'client-consumer.cts'],
    },
    'tsconfig.msw.json': {
      compilerOptions: { ...base, skipLibCheck: true },
      files: ['consumer-msw.mts'],
    },
    'tsconfig.client.json': {
      compilerOptions: { ...base, skipLibCheck: false },
      files: ['client-consumer.cts'],
    },
  };
  for (const [file, config] of Object.entries(configs)) {
    writeFileSync(join(project, file), JSON.stringify(config, null, 2));
  }
}

function typeCheck(
  project: string,
  version: string,
  tsc: string,
  configs: readonly string[],
): void {
  for (const config of configs) {
    const result = spawnSync(process.execPath, [tsc, '-p', config], {
      cwd: project,
      encoding: 'utf8',
    });
    if (result.status === 0) log(`TypeScript ${version}: ${config} type-checks`);
    else failures.push(`TypeScript ${version}: ${config} fails:\n${result.stdout}${result.stderr}`);
  }
}

/** Runs `<binPath> --version` and checks it prints the package's version. */
function checkVersionPrinted(binPath: string, pkg: PublishedPackage, where: string): void {
  // Without MIC_POD_NAMESPACE: the original's MIC refused even --version without it; this one
  // needs it only to run.
  const env = { ...process.env };
  delete env.MIC_POD_NAMESPACE;
  const result = spawnSync(binPath, ['--version'], { encoding: 'utf8', env });
  const printed = result.stdout.trim();
  check(
    result.status === 0 && printed === pkg.manifest.version,
    `${where}: --version printed ${JSON.stringify(printed)} (exit ${String(result.status)}), not ${pkg.manifest.version}${result.stderr}`,
  );
  log(`${where}: --version ${printed}`);
}

function checkCliVersions(project: string, packages: readonly PublishedPackage[]): void {
  for (const pkg of packages) {
    for (const bin of Object.keys(pkg.manifest.bin ?? {})) {
      checkVersionPrinted(join(project, 'node_modules', '.bin', bin), pkg, bin);
    }
  }
}

/** The workspace packages a package depends on (`workspace:` ranges), which npm cannot fetch. */
function workspaceDependencies(pkg: PublishedPackage): string[] {
  return Object.entries(pkg.manifest.dependencies ?? {})
    .filter(([, range]) => range.startsWith('workspace:'))
    .map(([name]) => name);
}

/**
 * Each CLI's tarball installed with the tarballs of the workspace packages it depends on into a
 * folder of its own (`npm install --prefix`), then `<bin> --version` from its `node_modules/.bin`:
 * what docs/install.md tells a user to do before the packages are published. (`npm install -g` of
 * the same tarballs is not enough for MIC: core becomes a global package of its own and cannot see
 * the Azure SDKs installed under MIC, which core's adapters import as peers.)
 */
function checkPrefixInstalls(
  scratch: string,
  packages: readonly PublishedPackage[],
  tarballs: ReadonlyMap<string, string>,
): void {
  for (const pkg of packages) {
    const bins = Object.keys(pkg.manifest.bin ?? {});
    if (bins.length === 0) continue;
    const prefix = join(scratch, `prefix-${pkg.manifest.name.replace(/^@pod-identity\//, '')}`);
    const wanted = [...workspaceDependencies(pkg), pkg.manifest.name].map((name) =>
      tarballs.get(name)!,
    );
    mkdirSync(prefix);
    npmInstall(prefix, ['--prefix', prefix, ...wanted]);
    for (const bin of bins) {
      checkVersionPrinted(
        join(prefix, 'node_modules', '.bin', bin),
        pkg,
        `${bin} (npm install --prefix)`,
      );
    }
  }
}

function main(): void {
  ensureBuilt('the packages are packed from dist/');
  const packages = publishedPackages();
  const scratch = mkdtempSync(join(tmpdir(), 'pod-identity-published-'));
  try {
    const tarballDir = join(scratch, 'tarballs');
    mkdirSync(tarballDir);
    const tarballs = packAll(packages, tarballDir);
    for (const pkg of packages) checkTarball(pkg, tarballs.get(pkg.manifest.name)!);
    log(`packed ${String(tarballs.size)} packages`);

    const project = join(scratch, 'consumer');
    mkdirSync(project);
    const dependencies: Record<string, string> = {};
    for (const [name, tarball] of tarballs) dependencies[name] = `file:${tarball}`;
    for (const peer of PEERS) dependencies[peer] = workspaceVersion(peer);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2),
    );
    npmInstall(project);
    log('installed the tarballs with npm');

    checkImports(project, packages.flatMap(entryPoints));
    checkClientAlone(scratch, tarballs.get('@pod-identity/client')!);
    writeConsumers(project);
    const current = workspaceManifest.devDependencies.typescript!;
    typeCheck(project, OLDEST_TYPESCRIPT, typescript(OLDEST_TYPESCRIPT), [
      'tsconfig.all.json',
      'tsconfig.source.json',
      'tsconfig.client.json',
    ]);
    // msw 3's own declarations need TypeScript 5.9 or later, so its handlers are checked with the
    // current TypeScript only.
    typeCheck(project, current, typescript(current), [
      'tsconfig.all.json',
      'tsconfig.source.json',
      'tsconfig.client.json',
      'tsconfig.msw.json',
    ]);
    checkCliVersions(project, packages);
    checkPrefixInstalls(scratch, packages, tarballs);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(
      `[check-published] ${String(failures.length)} problem(s):\n- ${failures.join('\n- ')}`,
    );
    process.exit(1);
  }
  log('every package installs, loads and type-checks as published');
}

main();
