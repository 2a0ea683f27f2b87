import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { IssuedCertificate } from './certificate-authority.js';

/** Options of {@link startLoopbackServer}. */
export interface StartLoopbackServerOptions {
  /** Handles each request; a thrown or rejected error becomes a 500 so a bug never hangs a client. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;
  /** Serve https with this certificate; plain http when absent. */
  readonly certificate?: IssuedCertificate;
  /** A loopback address (127.0.0.0/8 or ::1). Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; default 0 (a free one). */
  readonly port?: number;
}

/** A listening loopback server. */
export interface LoopbackServer {
  /** `http(s)://host:port` with IPv6 hosts in brackets, no trailing slash. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening and destroys open (keep-alive) connections, so no handle outlives it. */
  close(): Promise<void>;
}

/** Whether the address is loopback: 127.0.0.0/8 or ::1 (the only addresses the emulators may bind). */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return address.startsWith('127.');
  if (family === 6) return address === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(address);
  return false;
}

/**
 * Starts an http or https server on a loopback address. Refuses any other address: emulators must
 * never be reachable from outside the machine.
 */
export async function startLoopbackServer(
  options: StartLoopbackServerOptions,
): Promise<LoopbackServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackAddress(host))
    throw new RangeError(`refusing to listen on non-loopback address ${host}`);
  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    // The handler starts synchronously, in the 'request' event, so that it sees the request before
    // the parser pushes a body that arrived with the headers (the contract recorder tees it).
    let handled: void | Promise<void>;
    try {
      handled = options.handler(request, response);
    } catch (error) {
      handled = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    Promise.resolve(handled).catch((error: unknown) => {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { code: 'InternalServerError', message: String(error) } }),
        );
      } else {
        response.destroy();
      }
    });
  };
  const server: Server = options.certificate
    ? createHttpsServer(
        { cert: options.certificate.certificatePem, key: options.certificate.privateKeyPem },
        listener,
      )
    : createHttpServer(listener);
  // Keep-alive sockets of SDK agents would otherwise keep the process (and `close()`) waiting.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const scheme = options.certificate ? 'https' : 'http';
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `${scheme}://${urlHost}:${address.port}`,
    host,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
