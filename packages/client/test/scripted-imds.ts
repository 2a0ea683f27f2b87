import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the loopback token endpoint. */
export interface ScriptedAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (to exercise timeouts and aborts); the socket is closed at shutdown. */
  hang?: boolean;
}

/** A request the loopback endpoint received. */
export interface ReceivedRequest {
  method: string;
  url: URL;
  metadataHeader: string | undefined;
  remoteAddress: string | undefined;
}

/**
 * A loopback stand-in for the IMDS token endpoint that follows its contract (Metadata header
 * required, JSON error bodies) and plays a script of answers in order, repeating the last one.
 * Until the testkit's IMDS emulator lands, the client's tests use this one.
 */
export interface ScriptedImds {
  endpoint: string;
  requests: ReceivedRequest[];
  /** Resolves when the n-th request (1-based) has arrived. */
  requestArrived(n: number): Promise<void>;
  close(): Promise<void>;
}

/** A token body as IMDS sends it: every numeric field a string, epoch seconds. */
export function imdsTokenBody(
  token: string,
  expiresOnSeconds: number,
  resource = 'https://management.azure.com/',
): string {
  return JSON.stringify({
    access_token: token,
    refresh_token: '',
    expires_in: '3599',
    expires_on: String(expiresOnSeconds),
    not_before: String(expiresOnSeconds - 3599),
    resource,
    token_type: 'Bearer',
  });
}

/** Starts the scripted endpoint on 127.0.0.1 with an ephemeral port. */
export async function startScriptedImds(
  script: ScriptedAnswer[],
  host = '127.0.0.1',
): Promise<ScriptedImds> {
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests.push({
      method: request.method ?? '',
      url: new URL(request.url ?? '/', 'http://imds'),
      metadataHeader: request.headers.metadata as string | undefined,
      remoteAddress: request.socket.remoteAddress,
    });
    for (const waiter of waiters.filter((w) => w.n <= requests.length)) waiter.resolve();
    if (request.headers.metadata !== 'true') {
      response.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8' });
      response.end(
        '{"error":"invalid_request","error_description":"Required metadata header not specified"}\n',
      );
      return;
    }
    const answer = script[Math.min(requests.length, script.length) - 1];
    if (answer === undefined) throw new Error('empty script');
    if (answer.hang === true) {
      open.add(response);
      return;
    }
    response.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
    response.end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    requests,
    requestArrived: (n) =>
      requests.length >= n
        ? Promise.resolve()
        : new Promise((resolve) => {
            waiters.push({ n, resolve });
          }),
    close: async () => {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
