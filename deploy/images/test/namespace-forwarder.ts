// Run inside a network namespace (`ip netns exec <ns> node namespace-forwarder.ts '<json>'`): listens
// on each given address and port there and relays every connection, byte for byte, to a Unix socket
// that the test process serves outside the namespace (forward-into-namespace.ts). Unix sockets are
// files, so they cross network namespaces; TLS passes through untouched. Prints "ready" once every
// listener is up, and exits when its stdin closes (the test is gone).
import { connect, createServer } from 'node:net';

interface Route {
  readonly host: string;
  readonly port: number;
  readonly socket: string;
}

const routes = JSON.parse(process.argv[2] ?? '[]') as Route[];
await Promise.all(
  routes.map(
    (route) =>
      new Promise<void>((resolve, reject) => {
        const server = createServer((inbound) => {
          const outbound = connect(route.socket);
          inbound.pipe(outbound).pipe(inbound);
          inbound.on('error', () => outbound.destroy());
          outbound.on('error', () => inbound.destroy());
        });
        server.once('error', reject);
        server.listen(route.port, route.host, resolve);
      }),
  ),
);
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
