// The NMI image's entrypoint: picks the iptables backend the node already uses (iptables-backend.ts),
// puts that backend's `iptables` first on PATH, and replaces itself (execve, same PID) with the command
// in its arguments: `node /app/dist/cli.cjs <NMI flags>`. Nothing is written to the image, so it works on
// a read-only root filesystem, and NMI itself stays PID 1 and receives the kubelet's SIGTERM.
import { execFileSync } from 'node:child_process';
import {
  backendDirectory,
  chooseBackend,
  countRules,
  requestedBackend,
  type IptablesBackend,
} from './iptables-backend.ts';

function natRules(save: string): number {
  try {
    return countRules(
      execFileSync(save, ['-t', 'nat'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 30_000,
      }),
    );
  } catch {
    // A backend the kernel does not offer lists nothing.
    return 0;
  }
}

function detect(): { backend: IptablesBackend; nftRules?: number; legacyRules?: number } {
  const requested = requestedBackend(process.env.POD_IDENTITY_IPTABLES_BACKEND);
  if (requested !== undefined) return { backend: requested };
  const nftRules = natRules('iptables-nft-save');
  const legacyRules = natRules('iptables-legacy-save');
  return { backend: chooseBackend(nftRules, legacyRules), nftRules, legacyRules };
}

function main(): void {
  const [command, ...args] = process.argv.slice(2);
  if (command === undefined) {
    process.stderr.write('usage: entrypoint.js <command> [args...]\n');
    process.exit(2);
  }
  let choice: ReturnType<typeof detect>;
  try {
    choice = detect();
  } catch (error) {
    process.stderr.write(`nmi entrypoint: ${(error as Error).message}\n`);
    process.exit(2);
  }
  // One JSON line in the shape of NMI's own log, so log collectors parse it alike.
  process.stderr.write(
    `${JSON.stringify({ level: 30, time: Date.now(), component: 'nmi', msg: 'iptables backend chosen', ...choice })}\n`,
  );
  const path = [backendDirectory(choice.backend), process.env.PATH ?? '/usr/sbin:/usr/bin']
    .filter(Boolean)
    .join(':');
  // process.execve is Node >= 22.15 / 23.11; the image's Node is 24.
  if (process.execve === undefined) throw new Error('this Node has no process.execve');
  process.execve(command, [command, ...args], { ...process.env, PATH: path });
}

main();
