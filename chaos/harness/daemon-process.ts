/**
 * The built daemons (each package's `bin`, the bundled `dist/cli.cjs`) run as separate processes, as a
 * DaemonSet or Deployment runs them: their output is kept, they are killed with SIGKILL for crashes,
 * and their heap after GC can be read (see heap-probe.ts).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root. */
export const repoRoot = join(import.meta.dirname, '..', '..');

/** Which CLI. */
export type DaemonKind = 'mic' | 'nmi';

/** A daemon process. */
export interface DaemonProcess {
  readonly name: string;
  readonly kind: DaemonKind;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Everything it printed, stdout and stderr interleaved. */
  output(): string;
  /** Whether it is still running. */
  alive(): boolean;
  /** Resolves when a line containing `text` was printed (after `fromOffset` of the output). */
  waitForLine(text: string, timeoutMs: number, fromOffset?: number): Promise<void>;
  /** SIGKILL: a crash, nothing flushed, no lease released. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful stop. */
  stop(): Promise<number | string>;
  /** Heap in use after two GCs, in bytes. */
  heapAfterGc(timeoutMs?: number): Promise<number>;
}

const MAX_OUTPUT = 8 * 1024 * 1024;

/**
 * Starts a built daemon.
 * @param kind - mic or nmi
 * @param name - for messages (e.g. `mic-a`, `nmi-node3`)
 * @param args - its flags
 * @param env - extra environment
 * @returns the process
 */
export function startDaemon(
  kind: DaemonKind,
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): DaemonProcess {
  const dir = join(repoRoot, 'packages', kind);
  const { bin } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  const cli = join(dir, bin[`pod-identity-${kind}`] ?? 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run pnpm build first`);
  const probe = join(import.meta.dirname, 'heap-probe.ts');
  const child = spawn(process.execPath, ['--expose-gc', '--import', probe, cli, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const append = (data: Buffer): void => {
    out += data.toString();
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT / 2);
    for (const wake of [...waiters]) wake();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running = false;
      for (const wake of [...waiters]) wake();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const waitFor = (test: () => boolean, what: string, timeoutMs: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (test()) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `${name}: ${what} not seen within ${String(timeoutMs)} ms; last output:\n${out.slice(-3000)}`,
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        if (test()) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        } else if (!running) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`${name} exited before ${what}; output:\n${out.slice(-3000)}`));
        }
      };
      waiters.add(check);
    });
  return {
    name,
    kind,
    child,
    exited,
    output: () => out,
    alive: () => running,
    waitForLine: (text, timeoutMs, fromOffset = 0) =>
      waitFor(() => out.slice(fromOffset).includes(text), `"${text}"`, timeoutMs),
    async kill() {
      if (running) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (running) child.kill('SIGTERM');
      return exited;
    },
    async heapAfterGc(timeoutMs = 15_000) {
      const from = out.length;
      child.kill('SIGUSR2');
      let heap = 0;
      await waitFor(
        () => {
          const match = /chaos-heap (\{[^\n]*\})\n/u.exec(out.slice(from));
          if (match?.[1] === undefined) return false;
          heap = (JSON.parse(match[1]) as { heapUsed: number }).heapUsed;
          return true;
        },
        'a heap reading',
        timeoutMs,
      );
      return heap;
    },
  };
}
