// A loopback TCP proxy in front of an emulator that a test can cut off: every connection reset at
// once (the API server's address refuses), or held open and never answered (a partition).
import net from 'node:net';

/** How a cut-off looks to the client. */
export type CutOffMode = 'reset' | 'blackhole';

/** A running proxy. */
export interface TcpFaultProxy {
  /** `http://127.0.0.1:<port>`: where clients connect instead of the upstream. */
  readonly url: string;
  /** Cuts clients off: open connections are reset, new ones reset (or held, for `blackhole`). */
  cutOff(mode: CutOffMode): void;
  /** Lets traffic through again; held connections are reset so clients reconnect. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `upstream` (an `http://host:port` URL) on a free loopback port.
 * @param upstream - the emulator's URL
 * @returns the proxy
 */
export async function startTcpFaultProxy(upstream: string): Promise<TcpFaultProxy> {
  const target = new URL(upstream);
  let cut: CutOffMode | undefined;
  const open = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
  };
  const resetAll = (): void => {
    for (const socket of open) socket.resetAndDestroy();
  };
  const server = net.createServer((client) => {
    track(client);
    if (cut === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (cut === 'blackhole') return;
    const upstreamSocket = net.connect(Number(target.port), target.hostname);
    track(upstreamSocket);
    client.pipe(upstreamSocket).pipe(client);
    upstreamSocket.on('close', () => client.destroy());
    client.on('close', () => upstreamSocket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    cutOff(mode) {
      cut = mode;
      resetAll();
    },
    restore() {
      cut = undefined;
      resetAll();
    },
    async close() {
      resetAll();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
