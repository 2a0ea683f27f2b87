// `pnpm test`: every vitest project. Some tests start the built CLIs and images' entrypoints, load
// the client's CJS build, or render the Helm chart, so this first builds what is stale and makes
// sure helm is in the cache (scripts/conformance/build-kube.sh --helm-only: a no-op when it is
// there, a Go build of helm on a fresh machine). Arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, repoRoot } from './ensure-built.ts';

ensureBuilt('the tests need the built packages');

const helm = spawnSync(
  'bash',
  [join(repoRoot, 'scripts/conformance/build-kube.sh'), '--helm-only'],
  {
    cwd: repoRoot,
    stdio: 'inherit',
  },
);
if (helm.status !== 0) {
  console.error('building helm failed; the deploy tests render the chart with it');
  process.exit(1);
}

const vitest = spawnSync('vitest', ['run', ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
});
process.exitCode = vitest.status ?? 1;
