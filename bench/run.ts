// Runs every benchmark suite under bench/: each folder with a `main.ts` is one suite, run in its own
// Node process (so heap figures are not polluted by another suite) with the arguments given here.
// Suites write their figures to bench/results/<suite>.json; docs/benchmarks.md reports them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = import.meta.dirname;
const only = process.argv.slice(2);
const suites = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'main.ts')))
  .map((entry) => entry.name)
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

if (suites.length === 0) {
  console.log('pnpm bench: no benchmark suites found');
}
let failed = 0;
for (const suite of suites) {
  console.log(`\n=== bench/${suite}`);
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--conditions=source', join(root, suite, 'main.ts')],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) {
    failed += 1;
    console.error(`bench/${suite} failed with exit code ${String(result.status)}`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
