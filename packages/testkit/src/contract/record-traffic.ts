import { appendFileSync, mkdirSync } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

/**
 * When this environment variable names a directory, every emulator started with a traffic name
 * appends each exchange it serves to `<dir>/<service>-<pid>-<thread>.jsonl`, for the contract tier to
 * validate after the run (docs/testkit.md, "Contract tier").
 */
export const CONTRACT_RECORD_ENV = 'POD_IDENTITY_CONTRACT_RECORD';

/** Which emulator served an exchange. */
export type RecordedService = 'arm' | 'imds' | 'entra';

/** One request and its answer, as recorded. Secrets are not recorded (see {@link redactHeaders}). */
export interface RecordedExchange {
  readonly service: RecordedService;
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly requestBody: string;
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly responseBody: string;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/**
 * Wraps a handler so that, while {@link CONTRACT_RECORD_ENV} is set, each exchange is appended to the
 * service's recording; returns the handler unchanged otherwise (no cost in ordinary runs).
 */
export function recordTraffic(service: RecordedService, handler: Handler): Handler {
  const directory = process.env[CONTRACT_RECORD_ENV];
  if (!directory) return handler;
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${service}-${process.pid}-${threadId}.jsonl`);
  return (request, response) => {
    const requestChunks: Buffer[] = [];
    // The HTTP parser pushes body chunks into the request; teeing push sees them however the
    // handler reads (async iteration or events), and before it does.
    const push = request.push.bind(request);
    request.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (Buffer.isBuffer(chunk)) requestChunks.push(chunk);
      return push(chunk, encoding);
    };
    const responseChunks: Buffer[] = [];
    let headArgument: OutgoingHttpHeaders = {};
    const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
    response.writeHead = (...args: unknown[]) => {
      const headers = args.find((arg, index) => index > 0 && typeof arg === 'object');
      if (headers && !Array.isArray(headers)) headArgument = headers as OutgoingHttpHeaders;
      return writeHead(...args);
    };
    const capture = (chunk: unknown): void => {
      if (typeof chunk === 'string') responseChunks.push(Buffer.from(chunk));
      else if (chunk instanceof Uint8Array) responseChunks.push(Buffer.from(chunk));
    };
    const write = response.write.bind(response) as (...args: unknown[]) => boolean;
    response.write = ((...args: unknown[]) => {
      capture(args[0]);
      return write(...args);
    }) as ServerResponse['write'];
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      if (typeof args[0] !== 'function') capture(args[0]);
      return end(...args);
    }) as ServerResponse['end'];
    response.once('finish', () => {
      const exchange: RecordedExchange = {
        service,
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        requestHeaders: redactHeaders(request.headers),
        requestBody: redactBody(Buffer.concat(requestChunks).toString('utf8')),
        status: response.statusCode,
        responseHeaders: flattenHeaders({ ...response.getHeaders(), ...lowerCased(headArgument) }),
        responseBody: Buffer.concat(responseChunks).toString('utf8'),
      };
      appendFileSync(file, `${JSON.stringify(exchange)}\n`);
    });
    return handler(request, response);
  };
}

const lowerCased = (headers: OutgoingHttpHeaders): OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

function flattenHeaders(
  headers: OutgoingHttpHeaders | IncomingMessage['headers'],
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return flat;
}

/** Request headers with the credential of `Authorization` replaced by its scheme. */
export function redactHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const flat = flattenHeaders(headers);
  if (flat.authorization !== undefined)
    flat.authorization = `${flat.authorization.split(/\s+/)[0] ?? ''} <redacted>`;
  return flat;
}

/**
 * Form bodies without secrets: a `client_secret` is replaced, a `client_assertion` keeps its header
 * and claims (what the protocol constrains) without its signature.
 */
function redactBody(body: string): string {
  if (!/(^|&)(client_secret|client_assertion)=/.test(body)) return body;
  const form = new URLSearchParams(body);
  if (form.has('client_secret')) form.set('client_secret', '<redacted>');
  const assertion = form.get('client_assertion');
  if (assertion !== null)
    form.set('client_assertion', `${assertion.split('.').slice(0, 2).join('.')}.<redacted>`);
  return form.toString();
}
