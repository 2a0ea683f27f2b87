// Starts an image's entrypoint from the image's own filesystem, the way a container runtime would,
// with tools of this machine (no container engine runs here):
//   - a network namespace the test made (`ip netns exec`), a new mount and PID namespace (`unshare`):
//     the entrypoint is PID 1, so it gets a kubelet's SIGTERM only if it handles it;
//   - the unpacked image as the lower layer of an overlay (never written), mount points for the
//     volumes, /proc and a minimal /dev, then the root made read-only (readOnlyRootFilesystem);
//   - `capsh` chroots into it, keeps only the capabilities asked for (the chart's `capabilities.add`)
//     in the bounding set, sets no_new_privs (allowPrivilegeEscalation: false), switches to the user,
//     and executes the image's Entrypoint with the image's Env.
// One difference from a runtime: capsh starts the process in `/`, not in the image's WorkingDir; the
// images' entrypoints use absolute paths only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OciImageConfig } from '../oci-archive.ts';

/** A file or directory of this machine made visible in the container (a hostPath volume). */
export interface ContainerMount {
  readonly source: string;
  readonly target: string;
  readonly readOnly?: boolean;
}

/** What to run. */
export interface ContainerSpec {
  /** The unpacked image (only read). */
  readonly rootfs: string;
  readonly config: OciImageConfig;
  /** Replaces the image's Cmd, as a pod's `args` do. */
  readonly args?: readonly string[];
  /** Added to (and overriding) the image's Env. */
  readonly env?: Readonly<Record<string, string>>;
  readonly mounts?: readonly ContainerMount[];
  /** The `ip netns` namespace to run in. */
  readonly networkNamespace: string;
  /** `runAsUser` (and group); default the image's USER. */
  readonly runAsUser?: number;
  /** `readOnlyRootFilesystem` (default true). */
  readonly readOnlyRoot?: boolean;
  /** Capabilities kept (`capabilities.add` after `drop: [ALL]`), e.g. `cap_net_admin`. */
  readonly capabilities?: readonly string[];
  /** A directory for the overlay's writable side and mount point; removed by `stop()`. */
  readonly scratch: string;
}

/** A started container. */
export interface RunningContainer {
  /** What the entrypoint printed so far (stdout and stderr). */
  output(): string;
  /** The entrypoint's PID on this machine (PID 1 inside), once it is there. */
  pid(): number | undefined;
  /** Resolves with the entrypoint's exit code (or null after a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM to PID 1, as the kubelet stops a container; resolves with the exit code. */
  stop(): Promise<number | null>;
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

let allCapabilities: string[] | undefined;

/** Every capability this kernel knows, by capsh's names (cap_chown, …). */
function capabilityNames(): string[] {
  allCapabilities ??= (
    /Bounding set =(\S+)/.exec(execFileSync('capsh', ['--print'], { encoding: 'utf8' }))?.[1] ?? ''
  )
    .split(',')
    .filter(Boolean);
  if (allCapabilities.length === 0) throw new Error('capsh --print shows no bounding set');
  return allCapabilities;
}

function imageUser(config: OciImageConfig): { uid: number; gid: number } {
  const user = config.config.User ?? '0';
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) throw new Error(`the image's USER ${user} is not numeric`);
  return { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
}

/** The shell script that sets the container up inside the new namespaces and execs capsh. */
function setupScript(spec: ContainerSpec, merged: string, upper: string, work: string): string {
  const lines = [
    'set -eu',
    `mount -t overlay overlay -o ${quote(`lowerdir=${spec.rootfs},upperdir=${upper},workdir=${work}`)} ${quote(merged)}`,
  ];
  for (const mount of spec.mounts ?? []) {
    const target = join(merged, mount.target);
    if (statSync(mount.source).isDirectory()) {
      lines.push(`mkdir -p ${quote(target)}`);
    } else {
      lines.push(`mkdir -p ${quote(dirname(target))}`, `touch ${quote(target)}`);
    }
    lines.push(`mount --bind ${quote(mount.source)} ${quote(target)}`);
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${quote(target)}`);
  }
  lines.push(
    `mount -t proc -o nosuid,nodev,noexec proc ${quote(join(merged, 'proc'))}`,
    `mount -t tmpfs -o nosuid,noexec,mode=755 tmpfs ${quote(join(merged, 'dev'))}`,
  );
  for (const device of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
    const target = quote(join(merged, 'dev', device));
    lines.push(`touch ${target}`, `mount --bind /dev/${device} ${target}`);
  }
  if (spec.readOnlyRoot ?? true) lines.push(`mount -o remount,bind,ro ${quote(merged)}`);

  const { uid, gid } =
    spec.runAsUser === undefined
      ? imageUser(spec.config)
      : { uid: spec.runAsUser, gid: spec.runAsUser };
  const kept = new Set(spec.capabilities ?? []);
  const dropped = capabilityNames().filter((name) => !kept.has(name));
  const env: Record<string, string> = {};
  for (const entry of spec.config.config.Env ?? []) {
    const at = entry.indexOf('=');
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  Object.assign(env, spec.env);
  const [program, ...entryArgs] = spec.config.config.Entrypoint ?? [];
  if (program === undefined) throw new Error('the image has no Entrypoint');
  const capsh = [
    '/usr/sbin/capsh',
    `--chroot=${merged}`,
    `--drop=${dropped.join(',')}`,
    '--no-new-privs',
    ...(uid === 0
      ? []
      : [`--gid=${String(gid)}`, `--groups=${String(gid)}`, `--uid=${String(uid)}`]),
    `--shell=${program}`,
    '--',
    ...entryArgs,
    ...(spec.args ?? spec.config.config.Cmd ?? []),
  ];
  const envWords = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  lines.push(
    ['exec', '/usr/bin/env', '-i', ...envWords, ...capsh]
      .map(quote)
      .join(' ')
      .replace(/^'exec'/, 'exec'),
  );
  return lines.join('\n');
}

/** Starts the image's entrypoint as described above. */
export function runContainer(spec: ContainerSpec): RunningContainer {
  const merged = join(spec.scratch, 'root');
  const upper = join(spec.scratch, 'upper');
  const work = join(spec.scratch, 'work');
  for (const dir of [merged, upper, work]) mkdirSync(dir, { recursive: true });
  const script = setupScript(spec, merged, upper, work);
  const runner: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      spec.networkNamespace,
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      'sh',
      '-c',
      script,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  let output = '';
  runner.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  runner.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(runner, 'exit').then(([code]) => code as number | null);
  const pid = (): number | undefined => {
    if (runner.pid === undefined) return undefined;
    try {
      const children = readFileSync(
        `/proc/${String(runner.pid)}/task/${String(runner.pid)}/children`,
        'utf8',
      );
      const first = children.trim().split(' ')[0];
      return first ? Number(first) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    output: () => output,
    pid,
    exited,
    stop: async (graceMs = 30_000) => {
      if (runner.exitCode === null && runner.signalCode === null) {
        const target = pid();
        if (target !== undefined) process.kill(target, 'SIGTERM');
        else runner.kill('SIGKILL');
      }
      // --kill-child: unshare's SIGKILL takes PID 1, and with it the PID namespace, along.
      const timer = setTimeout(() => runner.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      rmSync(spec.scratch, { recursive: true, force: true });
      return code;
    },
  };
}
