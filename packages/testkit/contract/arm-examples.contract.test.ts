import { request } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startArmEmulator } from '../src/index.js';
import type { ArmEmulator } from '../src/index.js';
import { findArmOperation } from './arm/arm-operations.js';
import { PUBLISHED_EXAMPLES } from './arm/published-examples.js';
import type { PublishedExample } from './arm/published-examples.js';
import { validate } from './schema.js';

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** Sends one request to the emulator as an SDK would (bearer token, JSON body). */
function send(
  arm: ArmEmulator,
  method: string,
  path: string,
  apiVersion: string,
  body?: unknown,
): Promise<Answer> {
  const url = new URL(path, arm.url);
  url.searchParams.set('api-version', apiVersion);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method,
        ca: arm.certificateAuthority.certificatePem,
        headers: {
          authorization: 'Bearer contract-test',
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: incoming.statusCode ?? 0,
            body: text === '' ? undefined : (JSON.parse(text) as unknown),
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Field-by-field comparison of the emulator's answer with the example's: every example field is
 * present with the same value, or the same JSON type where the service generates it, unless the
 * example lists it as not modelled. Returns the differences as `path: reason`.
 */
function compare(
  example: PublishedExample,
  expected: unknown,
  actual: unknown,
  path = '',
): string[] {
  const key = path.replace(/\[\d+\]/g, '[]');
  if (Object.keys(example.notModelled ?? {}).some((skip) => key === skip)) return [];
  if (actual === undefined) return [`${path}: missing`];
  if (expected !== null && typeof expected === 'object') {
    if (Array.isArray(expected)) {
      if (!Array.isArray(actual)) return [`${path}: expected an array`];
      if (actual.length !== expected.length)
        return [`${path}: ${actual.length} items, the example has ${expected.length}`];
      return expected.flatMap((item: unknown, index) =>
        compare(example, item, actual[index], `${path}[${index}]`),
      );
    }
    if (actual === null || typeof actual !== 'object') return [`${path}: expected an object`];
    return Object.entries(expected as Record<string, Json>).flatMap(([name, value]) =>
      compare(
        example,
        value,
        (actual as Record<string, unknown>)[name],
        path === '' ? name : `${path}.${name}`,
      ),
    );
  }
  if (typeof actual !== typeof expected)
    return [`${path}: ${typeof actual}, the example has ${typeof expected}`];
  if (example.generated.includes(key)) return [];
  // Provisioning states compare case-insensitively: examples spell them both ways, the contract
  // names them Succeeded, Failed, Canceled.
  if (
    key.endsWith('provisioningState') &&
    typeof actual === 'string' &&
    typeof expected === 'string'
  )
    return actual.toLowerCase() === expected.toLowerCase()
      ? []
      : [`${path}: ${actual}, the example has ${expected}`];
  return actual === expected
    ? []
    : [`${path}: ${JSON.stringify(actual)}, the example has ${JSON.stringify(expected)}`];
}

describe('published ARM examples replayed against the emulator', () => {
  let arm: ArmEmulator;

  beforeEach(async () => {
    arm = await startArmEmulator({ tenantId: 'b6c948ef-f6b5-4384-8354-da3a15eca969' });
  });

  afterEach(async () => {
    await arm.stop();
  });

  it.each(PUBLISHED_EXAMPLES.map((example) => [example.source, example] as const))(
    '%s',
    async (_, example) => {
      await example.setup(arm, async (path, apiVersion, body) => {
        const answer = await send(arm, 'PUT', path, apiVersion, body);
        expect(answer.status, `setup PUT ${path}`).toBeLessThan(300);
      });
      const [pathname = '', query = ''] = example.path.split('?');
      const answer = await send(
        arm,
        example.method,
        `${pathname}?${query}`,
        example.apiVersion,
        example.requestBody,
      );
      expect(answer.status).toBe(example.status);
      if (example.body === undefined) expect(answer.body).toBeUndefined();
      else expect(compare(example, example.body, answer.body)).toEqual([]);
      // Whatever else the emulator answers must be defined by the operation's schema.
      const operation = findArmOperation(example.method, pathname);
      expect(operation?.operationId).toBe(example.operationId);
      const schema = operation?.responses[example.status];
      if (schema) expect(validate(answer.body, schema, 'response')).toEqual([]);
      else expect(answer.body).toBeUndefined();
    },
  );
});
