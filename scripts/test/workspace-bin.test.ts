// The CLI runs by name in the workspace (`pnpm exec pod-identity …`), as docs/cli.md says: the root
// package depends on @pod-identity/cli, so pnpm links its bin into the root node_modules/.bin.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../ensure-built.ts';

const cliVersion = (
  JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8')) as {
    version: string;
  }
).version;

it('pnpm exec pod-identity runs the workspace CLI from the repository root', () => {
  const result = spawnSync('pnpm', ['exec', 'pod-identity', '--version'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout.trim()).toBe(cliVersion);
}, 60_000); // pnpm and Node start twice: seconds on a loaded machine
