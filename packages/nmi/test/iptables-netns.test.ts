// Applies NMI's redirect rules for real, inside two network namespaces this test creates and joins
// with a veth pair: "pod" (10.250.0.2) and "node" (10.250.0.1, where NMI would run). Neither has a
// route out. The one packet to 169.254.169.254 is sent from "pod" only after the DNAT rule has been
// verified in "node", so it can only reach the stand-in NMI on node's 127.0.0.1:2579.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import {
  buildIptablesRules,
  createIptablesManager,
  isChainCurrent,
  type IptablesRunner,
} from '@pod-identity/nmi';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createNodeAndPod,
  deleteNamespaces,
  runInNamespace,
} from '@pod-identity/test-support/netns';

const run = promisify(execFile);
const suffix = String(process.pid);
const nodeNs = `pi-node-${suffix}`;
const podNs = `pi-pod-${suffix}`;
let server: ChildProcess | undefined;

const inNode: IptablesRunner = (args) => runInNamespace(nodeNs, 'iptables', ['-w', ...args]);

beforeAll(async () => {
  // The pod's only route to IMDS is through the node, as on a cluster node.
  await createNodeAndPod(nodeNs, podNs, '169.254.169.254/32');
});

afterAll(async () => {
  server?.kill();
  await deleteNamespaces(podNs, nodeNs);
});

it('redirects a pod’s IMDS traffic to NMI, keeps the pod’s source address, and removes the rules', async () => {
  const manager = createIptablesManager({ runner: inNode });
  await manager.start();
  const rules = buildIptablesRules();
  // Verify the DNAT rule before anything is sent.
  const listing = await inNode(rules.listChain);
  expect(isChainCurrent(listing.stdout, rules)).toBe(true);
  expect((await inNode(rules.checkJump)).code).toBe(0);
  const routes = await run('ip', ['-n', podNs, 'route', 'show']);
  expect(routes.stdout).not.toContain('default');

  // The stand-in NMI on the node's loopback: answers with the caller's address.
  server = spawn('ip', [
    'netns',
    'exec',
    nodeNs,
    process.execPath,
    '-e',
    "require('http').createServer((q,s)=>s.end('nmi saw '+q.socket.remoteAddress+' '+q.url)).listen(2579,'127.0.0.1',()=>console.log('ready'))",
  ]);
  await new Promise<void>((resolve, reject) => {
    server?.stdout?.once('data', () => {
      resolve();
    });
    server?.once('exit', (code) => {
      reject(new Error(`server exited ${String(code)}`));
    });
  });

  const client = await run('ip', [
    'netns',
    'exec',
    podNs,
    process.execPath,
    '-e',
    "require('http').get('http://169.254.169.254/metadata/identity/oauth2/token?resource=r',{timeout:3000},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>console.log(b))}).on('error',e=>{console.log('error '+e.message)})",
  ]);
  expect(client.stdout.trim()).toBe(
    'nmi saw 10.250.0.2 /metadata/identity/oauth2/token?resource=r',
  );

  // Drift is repaired: someone deletes the jump.
  await inNode(['-t', 'nat', '-D', 'PREROUTING', '-j', 'aad-metadata']);
  expect(await manager.ensure()).toBe(true);
  expect((await inNode(rules.checkJump)).code).toBe(0);

  expect(await manager.cleanup()).toBe(true);
  expect((await inNode(rules.listChain)).code).not.toBe(0);
  expect((await inNode(rules.checkJump)).code).not.toBe(0);
});
