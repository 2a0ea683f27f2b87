// `pnpm test:chaos`: the chaos tier (chaos/, docs/reliability.md). The scenarios start the built CLIs
// (the bins of packages/mic and packages/nmi), so this first builds what is stale. Arguments go to vitest
// (`-t "<scenario>"` runs one); CHAOS_SEED=<n> replays a run's random choices.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, repoRoot } from './ensure-built.ts';

ensureBuilt('the chaos tier runs the built daemons');

const vitest = spawnSync(
  'vitest',
  ['run', '--config', join(repoRoot, 'chaos', 'vitest.config.ts'), ...process.argv.slice(2)],
  { cwd: repoRoot, stdio: 'inherit' },
);
process.exitCode = vitest.status ?? 1;
