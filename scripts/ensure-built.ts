// Builds the workspace (`pnpm build`) when a package's or example's dist/ is missing or older than
// its sources, so that `pnpm demo` and `pnpm test` work on a fresh clone right after `pnpm install`
// and do not rebuild what CI has just built.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

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

/** Workspace folders (`packages/x`, `examples/y`) with a build whose dist/ is missing or stale. */
export function staleBuilds(): string[] {
  const stale: string[] = [];
  for (const group of ['packages', 'examples']) {
    for (const entry of readdirSync(join(repoRoot, group), { withFileTypes: true })) {
      const dir = join(repoRoot, group, entry.name);
      if (!entry.isDirectory() || !existsSync(join(dir, 'tsup.config.ts'))) continue;
      const dist = join(dir, 'dist');
      const builtMs = existsSync(dist)
        ? Math.min(
            ...readdirSync(dist)
              .filter((file) => file.endsWith('.js'))
              .map((file) => statSync(join(dist, file)).mtimeMs),
          )
        : 0;
      // Math.min of nothing is Infinity: a dist/ without a .js file is as good as missing.
      if (!Number.isFinite(builtMs) || builtMs < newestSourceMs(join(dir, 'src')))
        stale.push(`${group}/${entry.name}`);
    }
  }
  return stale;
}

/**
 * Runs `pnpm build` when anything is stale (or when `force`), and exits the process with a clear
 * message if the build fails.
 */
export function ensureBuilt(purpose: string, force = false): void {
  const stale = staleBuilds();
  if (stale.length === 0 && !force) return;
  console.log(
    `building the workspace first (pnpm build; ${stale.length > 0 ? `not built or older than their sources: ${stale.join(', ')}` : 'forced'})`,
  );
  const build = spawnSync('pnpm', ['build'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (build.status !== 0) {
    console.error(`pnpm build failed (exit ${String(build.status ?? 'signal')}); ${purpose}`);
    process.exit(1);
  }
}
