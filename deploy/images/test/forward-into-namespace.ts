// Makes loopback servers of this process (the testkit sandbox's emulators) reachable at the same
// address and port inside a network namespace the test created, the way a cluster's pods reach the API
// server and Azure through the node: a forwarder inside the namespace (namespace-forwarder.ts) relays to
// Unix sockets served here, which relay to the real servers. Nothing leaves the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A TCP address inside the namespace, served by `target` outside it. */
export interface ForwardedAddress {
  /** Where the namespace's programs connect (for example the URL's host and port). */
  readonly host: string;
  readonly port: number;
  /** Where the server really listens (default the same address). */
  readonly target?: { readonly host: string; readonly port: number };
}

/** A running forward; `close()` stops both sides. */
export interface Forward {
  close(): Promise<void>;
}

/** The host and port of an http(s) URL, as a forwarded address to itself. */
export function addressOf(url: string): ForwardedAddress {
  const parsed = new URL(url);
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { host: parsed.hostname, port };
}

/**
 * Serves `addresses` inside network namespace `namespace`; resolves once they all listen there.
 * @param namespace - an `ip netns` name
 * @param addresses - what to serve, each relayed to its target on this process's loopback
 */
export async function forwardIntoNamespace(
  namespace: string,
  addresses: readonly ForwardedAddress[],
): Promise<Forward> {
  const dir = mkdtempSync(join(tmpdir(), 'pod-identity-images-fwd-'));
  const servers: Server[] = [];
  const routes = [];
  for (const [index, address] of addresses.entries()) {
    const target = address.target ?? address;
    const socket = join(dir, `${index}.sock`);
    const server = createServer((inbound) => {
      const outbound = connect(target.port, target.host);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    server.listen(socket);
    await once(server, 'listening');
    servers.push(server);
    routes.push({ host: address.host, port: address.port, socket });
  }
  const forwarder: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      namespace,
      process.execPath,
      join(import.meta.dirname, 'namespace-forwarder.ts'),
      JSON.stringify(routes),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  forwarder.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    forwarder.stdout?.once('data', () => {
      resolve();
    });
    forwarder.once('exit', (code) => {
      reject(new Error(`the forwarder in ${namespace} exited (${String(code)}): ${output}`));
    });
  });
  return {
    close: async () => {
      if (forwarder.exitCode === null && forwarder.signalCode === null) {
        const exited = once(forwarder, 'exit');
        forwarder.kill();
        await exited;
      }
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => {
                resolve();
              });
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
