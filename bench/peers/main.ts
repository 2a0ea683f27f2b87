// bench/peers: this project beside the Go original (AAD Pod Identity v1.8.17), measured in one run
// against the same emulators (docs/benchmarks.md, "Beside the Go original"). Needs root (the Go NMI
// manages iptables, so everything runs in a network namespace the bench creates and removes, with no
// route out), Go (the original is built from the Go module proxy into a cache outside the repository
// by build-peers.sh), wrk and taskset, and the workspace built (`pnpm build`: the daemons run as
// shipped, from their dist/ CLIs). Results: bench/results/peers.json, charts in docs/benchmarks/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sourceHooksPath } from '@pod-identity/test-support/source-hooks-path';

if (process.argv[2] === 'inside') {
  await import('./peers-bench.ts');
} else {
  const fail = (message: string): never => {
    console.error(`bench/peers: ${message}`);
    process.exit(1);
  };
  if (process.getuid?.() !== 0) fail('needs root (network namespace, iptables of the Go NMI)');
  for (const tool of ['ip', 'iptables', 'wrk', 'taskset', 'go'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      fail(
        `${tool} is not installed (apt-get install iproute2 iptables wrk util-linux; Go >= 1.22)`,
      );
  const root = join(import.meta.dirname, '..', '..');
  for (const cli of ['packages/nmi/dist/cli.cjs', 'packages/mic/dist/cli.cjs'])
    if (!existsSync(join(root, cli))) fail(`${cli} is missing: run pnpm build first`);
  const built = spawnSync('bash', [join(import.meta.dirname, 'build-peers.sh')], {
    stdio: 'inherit',
  });
  if (built.status !== 0) fail('building the Go original failed');

  const namespace = `pi-peers-${String(process.pid)}`;
  if (spawnSync('ip', ['netns', 'add', namespace], { stdio: 'inherit' }).status !== 0)
    fail(`cannot create network namespace ${namespace}`);
  let status: number;
  try {
    const run = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        namespace,
        process.execPath,
        '--conditions=source',
        '--experimental-transform-types',
        '--no-warnings',
        '--import',
        sourceHooksPath,
        import.meta.filename,
        'inside',
      ],
      { stdio: 'inherit' },
    );
    status = run.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'delete', namespace], { stdio: 'inherit' });
  }
  process.exit(status);
}
