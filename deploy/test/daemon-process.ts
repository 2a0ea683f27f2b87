// Starts a built daemon (MIC or NMI) the way its container would: `node <package>/<bin>` with the
// container's args and env, and stops it the way the kubelet does (SIGTERM).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/deploy/helm.ts';
import type { ContainerSpec } from './render-chart.ts';

/** The path of a workspace package's bin script under packages/<dir>; throws when it is not built. */
export function builtBin(packageDir: string, bin: string): string {
  const dir = join(REPO_ROOT, 'packages', packageDir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
  };
  const target = manifest.bin?.[bin];
  if (!target) throw new Error(`packages/${packageDir} has no bin ${bin}`);
  const path = join(dir, target);
  if (!existsSync(path)) throw new Error(`${path} is missing: run pnpm build first`);
  return path;
}

/** A free TCP port on loopback (the kernel picks it; the listener is closed before use). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * The container's env with `fieldRef`s resolved from `fields` (for example `metadata.namespace`),
 * as the kubelet resolves them. Throws on a source the test did not supply.
 */
export function containerEnv(
  container: ContainerSpec,
  fields: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
      continue;
    }
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    const value = typeof fieldPath === 'string' ? fields[fieldPath] : undefined;
    if (value === undefined) throw new Error(`no value for env ${variable.name}`);
    env[variable.name] = value;
  }
  return env;
}

/**
 * Expands `$(VAR)` in args from the container's env, as the kubelet does for `args`.
 */
export function expandArgs(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): string[] {
  return args.map((arg) =>
    arg.replace(/\$\((\w+)\)/g, (whole, name: string) => env[name] ?? whole),
  );
}

/** A running daemon with what it printed so far. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Spawns `node <script> ...args` with only `env` (plus PATH), its servers kept on loopback by
 * loopback-only.ts.
 */
export function startDaemon(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): DaemonProcess {
  const loopbackOnly = join(import.meta.dirname, 'loopback-only.ts');
  const child = spawn(process.execPath, ['--import', loopbackOnly, script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Polls `check` every 50 ms until it returns a value, as a kubelet probe would; throws with the
 * daemon's output after `timeoutMs`, or at once when the daemon exits.
 */
export async function until<T>(
  what: string,
  daemon: DaemonProcess,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon.child.exitCode !== null) {
      throw new Error(
        `daemon exited (${daemon.child.exitCode}) before ${what}:\n${daemon.output()}`,
      );
    }
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}:\n${daemon.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
