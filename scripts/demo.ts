// `pnpm demo`: the administrator's walkthrough (shared reference walkthrough.md) on the embedded
// sandbox — Kubernetes, ARM, Entra and per-node IMDS emulators, MIC, one NMI per node, the CLI and the
// demo pod as a process bound to its pod IP. Builds the packages first when their dist/ is missing or
// older than their sources. Exits non-zero when any step fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['core', 'client', 'cli', 'mic', 'nmi', 'testkit'];

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const stale = packages.filter((name) => {
  const built = join(root, 'packages', name, 'dist', 'index.js');
  return (
    !existsSync(built) ||
    statSync(built).mtimeMs < newestSourceMs(join(root, 'packages', name, 'src'))
  );
});
if (stale.length > 0 || process.argv.includes('--build')) {
  console.log(
    `building the packages first (pnpm build; ${stale.length > 0 ? `not built or older than their sources: ${stale.join(', ')}` : '--build'})`,
  );
  const build = spawnSync('pnpm', ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) {
    console.error(
      `pnpm build failed (exit ${build.status ?? 'signal'}); the demo needs the built packages`,
    );
    process.exit(1);
  }
}

// The walkthrough lives in a workspace package so that its imports resolve to the workspace packages.
interface WalkthroughModule {
  checkWalkthroughOutput: (lines: readonly string[]) => { description: string; met: boolean }[];
  runWalkthrough: (options: {
    write: (line: string) => void;
    podRunner: 'process';
    demoAppEntry: string;
  }) => Promise<{ ok: boolean }>;
}
const walkthrough = pathToFileURL(join(root, 'examples', 'walkthrough', 'src', 'index.ts')).href;
const { runWalkthrough, checkWalkthroughOutput } = (await import(walkthrough)) as WalkthroughModule;
console.log('pod-identity walkthrough on the embedded sandbox');
const lines: string[] = [];
const result = await runWalkthrough({
  write: (line) => {
    lines.push(line);
    console.log(line);
  },
  podRunner: 'process',
  demoAppEntry: join(root, 'examples', 'demo-app', 'src', 'main.ts'),
});
// CI runs `pnpm demo`: check what it printed, step by step, not just that it finished.
const expectations = checkWalkthroughOutput(lines);
const unmet = expectations.filter((expectation) => !expectation.met);
console.log(
  `output check: ${expectations.length - unmet.length}/${expectations.length} expectations met`,
);
for (const expectation of unmet) console.log(`  not met: ${expectation.description}`);
process.exitCode = result.ok && unmet.length === 0 ? 0 : 1;
