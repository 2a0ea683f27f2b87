import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedExchange, RecordedService } from '../src/contract/record-traffic.js';
import type { Violation } from './schema.js';

/** The exchanges of one service recorded in `directory` (every `<service>-*.jsonl` file). */
export function readRecordedTraffic(
  directory: string,
  service: RecordedService,
): RecordedExchange[] {
  return readdirSync(directory)
    .filter((name) => name.startsWith(`${service}-`) && name.endsWith('.jsonl'))
    .flatMap((name) =>
      readFileSync(join(directory, name), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as RecordedExchange),
    );
}

/** A violation found in recorded traffic, with how often and one request that showed it. */
export interface TrafficFinding {
  readonly where: string;
  readonly message: string;
  readonly count: number;
  readonly example: string;
}

/**
 * Validates every exchange and groups the violations by request shape and message, so that a
 * difference met a thousand times is reported once with its count.
 */
export function findViolations(
  exchanges: readonly RecordedExchange[],
  check: (exchange: RecordedExchange) => Violation[],
  shapeOf: (exchange: RecordedExchange) => string,
): TrafficFinding[] {
  const findings = new Map<
    string,
    { where: string; message: string; count: number; example: string }
  >();
  for (const exchange of exchanges) {
    for (const violation of check(exchange)) {
      const where = `${shapeOf(exchange)} -> ${exchange.status} ${violation.path}`;
      const key = `${where}\n${violation.message}`;
      const found = findings.get(key);
      if (found) found.count += 1;
      else
        findings.set(key, {
          where,
          message: violation.message,
          count: 1,
          example: `${exchange.method} ${exchange.url}`,
        });
    }
  }
  return [...findings.values()];
}

/** A recorded body as JSON, or as the text it is when it is not JSON (the schema then says why). */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
