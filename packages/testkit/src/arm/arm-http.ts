import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArmHttpError } from './arm-identity.js';

/** What a route answers: status, JSON body (none for `undefined`), extra headers. */
export interface ArmResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Reads a request body as JSON; an empty body is `{}`, malformed JSON a 400 `InvalidRequestContent`. */
export async function readArmJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidRequestContent();
  }
}

/** ARM's answer to a body it cannot deserialize into the operation's model. */
export const invalidRequestContent = (): ArmHttpError =>
  new ArmHttpError(
    400,
    'InvalidRequestContent',
    'The request content was invalid and could not be deserialized.',
  );

/** The 404 ARM answers for a resource that does not exist. */
export const resourceNotFound = (resourceType: string, resourceGroup: string): ArmHttpError =>
  new ArmHttpError(
    404,
    'ResourceNotFound',
    `The Resource '${resourceType}' under resource group '${resourceGroup}' was not found.`,
  );

/**
 * What the emulator reports in `x-ms-ratelimit-remaining-subscription-reads`/`-writes`: ARM's hourly
 * budgets less one. The emulator does not count; throttling is what a test injects
 * (`faults.throttleNext`), so the headers always say there is room.
 */
const REMAINING_READS = '11999';
const REMAINING_WRITES = '1199';

/**
 * Writes an ARM answer with the headers every ARM response carries: request tracking ids and, once
 * the caller is authenticated (not on a 401), the subscription's remaining read or write budget.
 */
export function writeArmResponse(
  response: ServerResponse,
  method: string,
  result: ArmResult,
): void {
  const payload = result.body === undefined ? '' : JSON.stringify(result.body);
  const budget =
    result.status === 401
      ? {}
      : method === 'GET'
        ? { 'x-ms-ratelimit-remaining-subscription-reads': REMAINING_READS }
        : { 'x-ms-ratelimit-remaining-subscription-writes': REMAINING_WRITES };
  response.writeHead(result.status, {
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': randomUUID(),
    ...budget,
    ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(payload),
    ...result.headers,
  });
  response.end(payload);
}

/** The ARM error body of an {@link ArmHttpError}. */
export const errorResult = (error: ArmHttpError): ArmResult => ({
  status: error.status,
  body: { error: { code: error.code, message: error.message } },
  headers: { ...error.headers },
});
