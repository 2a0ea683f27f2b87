// --enable-conntrack-deletion for real, inside two network namespaces this test creates and joins
// with a veth pair: "pod" (10.250.0.2) and "node" (10.250.0.1, where NMI would run). Neither has a
// route out. The metadata endpoint is a stand-in address on the node, 10.251.169.254:80, so that the
// connection opened before the redirect exists is never sent to 169.254.169.254 (nothing in this
// test is). The stand-in NMI listens on the node's 127.0.0.1:2579.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { promisify } from 'node:util';
import {
  createIptablesManager,
  isChainCurrent,
  type ConntrackRunner,
  type IptablesRunner,
} from '@pod-identity/nmi';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import {
  createNodeAndPod,
  deleteNamespaces,
  runInNamespace,
} from '@pod-identity/test-support/netns';

const run = promisify(execFile);
const suffix = String(process.pid);
const nodeNs = `pi-ct-node-${suffix}`;
const podNs = `pi-ct-pod-${suffix}`;
const metadataIp = '10.251.169.254';
const metadataPort = 80;
const children: ChildProcess[] = [];

const iptablesInNode: IptablesRunner = (args) =>
  runInNamespace(nodeNs, 'iptables', ['-w', ...args]);
const conntrackInNode: ConntrackRunner = (args) => runInNamespace(nodeNs, 'conntrack', args);

/** The node's tracked TCP connections to the metadata endpoint, as `conntrack -L` prints them. */
async function trackedMetadataConnections(): Promise<string[]> {
  const listed = await conntrackInNode([
    '-L',
    '-p',
    'tcp',
    '--orig-dst',
    metadataIp,
    '--orig-port-dst',
    String(metadataPort),
  ]);
  expect(listed.code).toBe(0);
  return listed.stdout.split('\n').filter((line) => line.trim() !== '');
}

// The pod: one long-lived process holding a keep-alive connection to the metadata endpoint. On
// "old" it sends a request on that connection (opening it the first time); on "new" it sends one on
// a fresh connection. It answers each with one JSON line.
const podScript = `
const http = require('http');
const readline = require('readline');
const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
readline.createInterface({ input: process.stdin }).on('line', (cmd) => {
  const req = http.get(
    { host: '${metadataIp}', port: ${String(metadataPort)}, path: '/' + cmd, agent: cmd === 'old' ? keep : false, timeout: 3000 },
    (res) => {
      // Read now: the keep-alive socket is handed back to the agent at 'end'.
      const localPort = res.socket.localPort;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => console.log(JSON.stringify({ body, localPort })));
    },
  );
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => console.log(JSON.stringify({ error: e.code ?? e.message })));
});
console.log(JSON.stringify({ ready: true }));
`;

// The node: the stand-in IMDS and the stand-in NMI, each answering with who it is and the caller.
const nodeScript = `
const http = require('http');
const answer = (who) => (req, res) => res.end(who + ' saw ' + req.socket.remoteAddress + ' ' + req.url);
let listening = 0;
const ready = () => { if (++listening === 2) console.log('ready'); };
http.createServer(answer('imds')).listen(${String(metadataPort)}, '${metadataIp}', ready);
http.createServer(answer('nmi')).listen(2579, '127.0.0.1', ready);
`;

let pod: { ask(cmd: string): Promise<{ body?: string; localPort?: number; error?: string }> };

function lines(child: ChildProcess): Interface {
  if (child.stdout === null) throw new Error('no stdout');
  return createInterface({ input: child.stdout });
}

beforeAll(async () => {
  // Fails here, clearly, when the conntrack program (Debian package conntrack) is missing.
  await run('conntrack', ['--version']);
  await createNodeAndPod(nodeNs, podNs, `${metadataIp}/32`);
  // The stand-in metadata address lives on the node.
  await run('ip', ['-n', nodeNs, 'addr', 'add', `${metadataIp}/32`, 'dev', 'lo']);
  // A fresh namespace tracks no connections until some rule needs conntrack; on a real node
  // kube-proxy's rules do. This rule stands in for them (it matches nothing this test sends).
  expect(
    (
      await iptablesInNode([
        '-A',
        'FORWARD',
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        '-j',
        'ACCEPT',
      ])
    ).code,
  ).toBe(0);

  const servers = spawn('ip', ['netns', 'exec', nodeNs, process.execPath, '-e', nodeScript]);
  children.push(servers);
  await new Promise<void>((resolve, reject) => {
    lines(servers).once('line', () => {
      resolve();
    });
    servers.once('exit', (code) => {
      reject(new Error(`node servers exited ${String(code)}`));
    });
  });

  const client = spawn('ip', ['netns', 'exec', podNs, process.execPath, '-e', podScript]);
  children.push(client);
  let clientErrors = '';
  client.stderr.on('data', (d: Buffer) => (clientErrors += d.toString()));
  const answers = lines(client)[Symbol.asyncIterator]();
  const next = async (): Promise<{ body?: string; localPort?: number; error?: string }> => {
    const line = await answers.next();
    if (line.done === true) throw new Error(`pod client exited: ${clientErrors}`);
    return JSON.parse(line.value) as { body?: string; localPort?: number; error?: string };
  };
  expect(await next()).toEqual({ ready: true });
  pod = {
    ask(cmd) {
      client.stdin.write(`${cmd}\n`);
      return next();
    },
  };
});

afterAll(async () => {
  for (const child of children) child.kill();
  await deleteNamespaces(podNs, nodeNs);
});

it('after the first install, a connection opened before NMI no longer reaches IMDS; new ones reach NMI', async () => {
  const rulesFor = { metadataIp, metadataPort } as const;

  // A pod's connection to the metadata endpoint from before NMI started.
  const before = await pod.ask('old');
  expect(before.body).toBe('imds saw 10.250.0.2 /old');
  const oldPort = before.localPort;
  expect(oldPort).toBeTypeOf('number');
  const tracked = await trackedMetadataConnections();
  expect(tracked).toHaveLength(1);
  expect(tracked[0]).toMatch(
    new RegExp(`ESTABLISHED src=10\\.250\\.0\\.2 .* sport=${String(oldPort)} dport=80`),
  );

  // Without the deletion (the problem the flag exists for): the redirect is in place, yet the old
  // connection keeps its NAT decision and still reaches IMDS, while a new one is redirected.
  const plain = createIptablesManager({ ...rulesFor, runner: iptablesInNode });
  await plain.ensure();
  expect(isChainCurrent((await iptablesInNode(plain.rules.listChain)).stdout, plain.rules)).toBe(
    true,
  );
  expect((await iptablesInNode(plain.rules.checkJump)).code).toBe(0);
  expect(await pod.ask('old')).toEqual({
    body: 'imds saw 10.250.0.2 /old',
    localPort: oldPort,
  });
  expect((await pod.ask('new')).body).toBe('nmi saw 10.250.0.2 /new');
  expect(await plain.cleanup()).toBe(true);

  // With it: the manager deletes the entries right after its first install.
  const info = vi.fn();
  const warn = vi.fn();
  const manager = createIptablesManager({
    ...rulesFor,
    runner: iptablesInNode,
    conntrackDeletion: { runner: conntrackInNode },
    logger: { info, warn, error: vi.fn() },
  });
  await manager.ensure();
  expect(
    isChainCurrent((await iptablesInNode(manager.rules.listChain)).stdout, manager.rules),
  ).toBe(true);
  expect((await iptablesInNode(manager.rules.checkJump)).code).toBe(0);
  expect(await trackedMetadataConnections()).toEqual([]);
  expect(warn).not.toHaveBeenCalled();
  const deleted = info.mock.calls.find(
    (call) => call[1] === 'deleted conntrack entries of metadata connections',
  );
  // The old connection's entry, and the finished "new" one's.
  expect((deleted?.[0] as { count: number } | undefined)?.count).toBeGreaterThanOrEqual(1);

  // The old connection's next packet is looked up afresh, meets the DNAT rule and lands on NMI,
  // which knows no such connection: it is reset instead of reaching IMDS.
  const after = await pod.ask('old');
  expect(after.body).toBeUndefined();
  expect(after.error).toBeDefined();
  // The pod's client reconnects, and from now on it talks to NMI.
  expect((await pod.ask('new')).body).toBe('nmi saw 10.250.0.2 /new');
  expect(await pod.ask('old')).toMatchObject({ body: 'nmi saw 10.250.0.2 /old' });
  const nowTracked = await trackedMetadataConnections();
  expect(nowTracked.length).toBeGreaterThan(0);
  for (const line of nowTracked) expect(line).toContain('src=127.0.0.1 dst=10.250.0.2 sport=2579');

  expect(await manager.cleanup()).toBe(true);
});
