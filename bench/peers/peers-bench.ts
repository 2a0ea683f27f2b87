// bench/peers inside its network namespace (see main.ts): loopback up, the metadata address made
// local, the emulators started, then the NMI and MIC halves, then the report.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulators } from './emulators.ts';
import { nmiPeers } from './nmi-peers.ts';
import { micPeers } from './mic-peers.ts';
import { writePeersReport } from './peers-report.ts';

const METADATA_IP = '169.254.169.254';
const ip = (...args: string[]): string => {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};
ip('link', 'set', 'lo', 'up');
ip('addr', 'add', `${METADATA_IP}/32`, 'dev', 'lo');
// The Go NMI dials IMDS at the metadata address with no way to change it: here that address is this
// namespace's own, so nothing can leave. Check before anything is sent to it.
const route = ip('route', 'get', METADATA_IP);
if (!route.startsWith('local ')) throw new Error(`${METADATA_IP} is not local here: ${route}`);
if (ip('route', 'show').trim() !== '') throw new Error('the bench namespace has a route out');

const rounds = Number(process.env.PEERS_ROUNDS ?? '3');
const durationS = Number(process.env.PEERS_DURATION_S ?? '3');
const only = process.env.PEERS_ONLY ?? '';
const root = join(import.meta.dirname, '..', '..');
const cache = join(
  process.env.POD_IDENTITY_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'pod-identity'),
  'peers-aad-pod-identity-v1.8.17',
);
const dir = mkdtempSync(join(tmpdir(), 'pi-peers-'));
const loadBefore = loadavg();
try {
  const nmi =
    only === 'mic'
      ? undefined
      : await (async () => {
          const emulators = await startEmulators(dir);
          // The testkit's emulators listen on loopback only: forward the metadata address to this
          // node's IMDS emulator (locally generated traffic: the nat OUTPUT chain, which the Go NMI
          // leaves alone; it manages PREROUTING).
          const imds = new URL(emulators.ready.imdsUrl);
          const dnat = [
            '-t',
            'nat',
            '-A',
            'OUTPUT',
            '-d',
            `${METADATA_IP}/32`,
            '-p',
            'tcp',
            '--dport',
            '80',
            '-j',
            'DNAT',
            '--to-destination',
            `${imds.hostname}:${imds.port}`,
          ];
          if (spawnSync('iptables', dnat, { stdio: 'inherit' }).status !== 0)
            throw new Error('iptables DNAT failed');
          try {
            return await nmiPeers(
              dir,
              emulators,
              join(cache, 'nmi'),
              join(root, 'packages/nmi/dist/cli.cjs'),
              {
                rounds,
                durationS,
              },
            );
          } finally {
            await emulators.stop();
          }
        })();
  const mic =
    only === 'nmi'
      ? undefined
      : await micPeers(dir, join(cache, 'mic'), join(root, 'packages/mic/dist/cli.cjs'), {
          rounds,
        });
  writePeersReport({ nmi, mic, loadBefore, loadAfter: loadavg() });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
