import http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  formatImdsError,
  malformedRequestError,
  type MalformedRequestReason,
} from '@pod-identity/core';

/**
 * The HTTP server for NMI's token port: the request handler behind Node's parser, with every request
 * the parser refuses (garbage bytes, a header section over 16 KiB, a target with characters HTTP does
 * not allow) answered in IMDS's JSON error shape instead of Node's empty 400, and the `Host` rule left
 * to the handler so that HTTP/1.0 and 1.1 follow the same one.
 *
 * @param handler - the request handler (`createNmiRequestHandler`)
 * @returns the server, not yet listening
 */
export function createTokenServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): http.Server {
  // Node answers an HTTP/1.1 request without Host with an empty 400 before any handler runs, and
  // lets HTTP/1.0 through: the handler checks both alike instead.
  const server = http.createServer({ keepAliveTimeout: 65_000, requireHostHeader: false }, handler);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || !canAnswer(socket)) {
      socket.destroy();
      return;
    }
    const response = formatImdsError(malformedRequestError(reasonOf(error.code)));
    const body = Buffer.from(response.body);
    const head = [
      `HTTP/1.1 ${String(response.status)} ${http.STATUS_CODES[response.status] ?? ''}`,
      ...Object.entries(response.headers).map(([name, value]) => `${name}: ${value}`),
      `content-length: ${String(body.length)}`,
      'connection: close',
      '',
      '',
    ].join('\r\n');
    socket.end(Buffer.concat([Buffer.from(head), body]));
  });
  return server;
}

// Node's parser error codes (llhttp `HPE_*`) that say more than "not HTTP".
const REASONS: Readonly<Record<string, MalformedRequestReason>> = {
  HPE_HEADER_OVERFLOW: 'header-size',
  HPE_INVALID_URL: 'target',
  ERR_HTTP_REQUEST_TIMEOUT: 'timeout',
};

function reasonOf(code: string | undefined): MalformedRequestReason {
  return (code === undefined ? undefined : REASONS[code]) ?? 'syntax';
}

// Raw bytes may only be written when no response of an earlier request on this keep-alive socket has
// begun (Node's own clientError default checks the same, on the socket's current response).
function canAnswer(socket: Duplex): boolean {
  if (!socket.writable) return false;
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })
    ._httpMessage;
  return current?.headersSent !== true;
}
