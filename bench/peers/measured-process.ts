// Processes of bench/peers: started pinned to one core with taskset, measured from /proc (resident
// memory, its peak, CPU time), stopped by their own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** A started process and what /proc says about it. */
export interface MeasuredProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly startedAt: number;
  /** Resident set size now, MiB. */
  rssMiB(): number;
  /** Peak resident set size so far (VmHWM), MiB. */
  peakRssMiB(): number;
  /** User + system CPU time so far, ms (clock ticks of 10 ms). */
  cpuMs(): number;
  /** Output so far (stdout and stderr), for diagnostics. */
  output(): string;
  stop(): Promise<void>;
}

const TICK_MS = 10;

function statusField(pid: number, field: string): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return Number(match?.[1] ?? Number.NaN) / 1024;
}

/**
 * Starts `command` pinned to `core` (taskset execs it, so the pid is the program's own).
 * @param name - label in logs
 * @param core - CPU to pin to
 * @param command - program
 * @param args - its arguments
 * @param env - its environment
 */
export function startPinned(
  name: string,
  core: number,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  logFile = `/tmp/pi-peers-${name}-${String(process.pid)}.log`,
): MeasuredProcess {
  const startedAt = performance.now();
  // Output to a file, not a pipe: the bench blocks in spawnSync while wrk runs, and a daemon that
  // logs every request (the Go NMI does) would stall on a full pipe.
  const fd = openSync(logFile, 'w');
  const child = spawn('taskset', ['-c', String(core), command, ...args], {
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const pid = (): number => {
    if (child.pid === undefined) throw new Error(`${name} did not start`);
    return child.pid;
  };
  return {
    name,
    child,
    startedAt,
    rssMiB: () => statusField(pid(), 'VmRSS'),
    peakRssMiB: () => statusField(pid(), 'VmHWM'),
    cpuMs: () => {
      const stat = readFileSync(`/proc/${String(pid())}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    },
    output: () => {
      try {
        return readFileSync(logFile, 'utf8').slice(-20_000);
      } catch {
        return '';
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        // SIGKILL: the Go NMI sleeps 10 s after SIGTERM; the bench removes what it leaves.
        child.kill('SIGKILL');
      }),
  };
}

/** Polls `probe` every 5 ms until it returns a value; rejects after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not up yet
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A GET on loopback with a short timeout: status and body. */
export async function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
  return { status: response.status, body: await response.text() };
}

/** Median, and min–max, of a list of numbers. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
