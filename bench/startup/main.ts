// bench/startup: how fast NMI starts, beside `node -e 0` in the same run (docs/benchmarks.md,
// "Start-up"). Runs the built packages (`pnpm build` first), as a node runs them:
// - `node -e 0`: process start to exit (the floor every figure stands on);
// - `import('@pod-identity/nmi')` in a fresh process: the import alone, timed inside the process;
// - `pod-identity-nmi` (dist/cli.cjs): process start to its first answered token request, with the
//   caller's pod and its Assigned record already in the API server (the emulators of bench/peers,
//   in their own process), the request sent every 5 ms from the moment of spawn.
// Results: bench/results/startup.json.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulators } from '../peers/emulators.ts';
import { spread } from '../peers/measured-process.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'packages/nmi/dist/cli.cjs');
const RUNS = Number(process.env.STARTUP_RUNS ?? '7');
const TOKEN_PATH =
  '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F';

if (!existsSync(CLI)) {
  console.error('bench/startup: packages/nmi/dist/cli.cjs is missing: run pnpm build first');
  process.exit(1);
}

function nodeFloorMs(): number {
  const started = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - started;
}

function importMs(): number {
  const result = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "const t = performance.now(); await import('@pod-identity/nmi'); console.log(performance.now() - t);",
    ],
    { cwd: join(ROOT, 'packages/nmi'), encoding: 'utf8' },
  );
  const value = Number(result.stdout.trim());
  if (!Number.isFinite(value)) throw new Error(`import failed: ${result.stderr}`);
  return value;
}

async function firstTokenMs(
  kubeconfig: string,
  imds: URL,
  node: string,
  port: number,
): Promise<number> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      CLI,
      '--node',
      node,
      '--nmi-port',
      String(port),
      '--http-probe-port',
      '0',
      '--prometheus-port',
      '0',
      '--allow-network-plugin-kubenet',
      '--manage-iptables=false',
      '--metadata-ip',
      imds.hostname,
      '--metadata-port',
      imds.port,
      '--kubeconfig',
      kubeconfig,
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  );
  try {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${String(port)}${TOKEN_PATH}`, {
          headers: { Metadata: 'true' },
          signal: AbortSignal.timeout(2000),
        });
        await response.text();
        if (response.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 30_000) throw new Error('NMI answered no token in 30 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    child.kill('SIGKILL');
  }
}

const dir = mkdtempSync(join(tmpdir(), 'pi-startup-'));
const loadBefore = loadavg();
const emulators = await startEmulators(dir);
try {
  const node = emulators.ready.nodes[0];
  const identity = emulators.ready.identities[0];
  if (node === undefined || identity === undefined) throw new Error('no node or identity');
  await emulators.putCallerPod(node.name, identity);
  const imds = new URL(emulators.ready.imdsUrl);
  const floor: number[] = [];
  const imports: number[] = [];
  const tokens: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    floor.push(nodeFloorMs());
    imports.push(importMs());
    tokens.push(await firstTokenMs(emulators.kubeconfigPath, imds, node.name, 2600 + run));
    console.log(
      `run ${String(run + 1)}: node -e 0 ${floor.at(-1)?.toFixed(0) ?? ''} ms, import ${imports.at(-1)?.toFixed(0) ?? ''} ms, start → first token ${tokens.at(-1)?.toFixed(0) ?? ''} ms`,
    );
  }
  const figure = (name: string, values: number[], target?: number) => {
    const s = spread(values);
    return {
      name,
      unit: 'ms',
      median: Math.round(s.median),
      min: Math.round(s.min),
      max: Math.round(s.max),
      ...(target === undefined ? {} : { target: `< ${String(target)} ms`, met: s.median < target }),
    };
  };
  const figures = [
    figure('node -e 0, process start to exit', floor),
    figure("import('@pod-identity/nmi') in a fresh process", imports, 300),
    figure('pod-identity-nmi, process start to its first answered token request', tokens, 400),
  ];
  for (const f of figures)
    console.log(
      `${f.name}: ${String(f.median)} ms (${String(f.min)}–${String(f.max)})${'target' in f ? ` target ${String(f.target)}: ${f.met === true ? 'met' : 'NOT met'}` : ''}`,
    );
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/startup.json'),
    `${JSON.stringify(
      {
        machine: {
          cpus: cpus().length,
          model: cpus()[0]?.model ?? '',
          node: process.version,
          loadBefore: loadBefore.map((v) => Number(v.toFixed(2))),
          loadAfter: loadavg().map((v) => Number(v.toFixed(2))),
          date: new Date().toISOString(),
        },
        runs: RUNS,
        figures,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await emulators.stop();
  rmSync(dir, { recursive: true, force: true });
}
