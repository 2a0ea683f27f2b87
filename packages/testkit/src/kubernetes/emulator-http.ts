import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiStatusError, badRequestError } from './api-status-error.js';
import { parseFieldValidation, warningHeader, type WriteOptions } from './field-validation.js';

const maxBodyBytes = 3 * 1024 * 1024;

/** Answers with a JSON body and the given headers. */
export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Answers with the error's `Status`, and its `Retry-After` when it has one. */
export function sendError(res: ServerResponse, error: ApiStatusError): void {
  const headers: Record<string, string> = {};
  if (error.details?.retryAfterSeconds !== undefined)
    headers['Retry-After'] = String(error.details.retryAfterSeconds);
  sendJson(res, error.code, error.toStatus(), headers);
}

/** Reads a request body as JSON (`undefined` when empty), refusing more than kube's 3 MiB. */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBodyBytes) {
      throw new ApiStatusError(
        413,
        'RequestEntityTooLarge',
        'Request entity too large: limit is 3145728',
      );
    }
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequestError(
      `couldn't get version/kind; json parse error: ${(error as Error).message}`,
    );
  }
}

/** A write's `fieldValidation` directive and an empty warning list for it to fill. */
export function writeOptions(
  query: URLSearchParams,
  optionsKind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
): WriteOptions & { warnings: string[] } {
  return {
    fieldValidation: parseFieldValidation(query.get('fieldValidation'), optionsKind),
    warnings: [],
  };
}

/** One `Warning` header per warning, as kube-apiserver sends them (none when there are none). */
export function warningHeaders(warnings: readonly string[]): Record<string, string[]> {
  return warnings.length === 0 ? {} : { Warning: warnings.map(warningHeader) };
}
