import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACT_RECORD_ENV } from '../src/contract/record-traffic.js';
import { ARM_OPERATIONS } from './arm/arm-operations.js';
import { validateArmExchange } from './arm/validate-arm-exchange.js';
import { validateEntraExchange } from './entra/validate-entra-exchange.js';
import { validateImdsExchange } from './imds/validate-imds-exchange.js';
import { findViolations, readRecordedTraffic } from './recorded-traffic.js';

// The traffic the ordinary tests and the demo sent to the emulators, recorded by running them with
// POD_IDENTITY_CONTRACT_RECORD set (scripts/contract.ts does this, or .ci/run for the whole suite).
const directory = process.env[CONTRACT_RECORD_ENV] ?? '';

const armShape = (method: string, url: string): string => {
  const pathname = new URL(url, 'https://arm.invalid').pathname;
  const operation = ARM_OPERATIONS.find(
    (candidate) => candidate.method === method && candidate.path.test(pathname),
  );
  return operation?.operationId ?? `${method} (no operation)`;
};

const pathShape = (method: string, url: string): string =>
  `${method} ${new URL(url, 'http://host.invalid').pathname.replace(/\/[0-9a-f-]{36}(?=\/|$)/gi, '/{tenant}')}`;

describe('recorded emulator traffic against the published contracts', () => {
  it('has a recording to validate', () => {
    expect(
      directory,
      `set ${CONTRACT_RECORD_ENV} to the directory the test run recorded into`,
    ).not.toBe('');
    expect(existsSync(directory)).toBe(true);
    expect(readRecordedTraffic(directory, 'arm').length).toBeGreaterThan(0);
  });

  it('ARM: every request and answer matches its operation definition and the RP contract', () => {
    const exchanges = readRecordedTraffic(directory, 'arm');
    const findings = findViolations(exchanges, validateArmExchange, (exchange) =>
      armShape(exchange.method, exchange.url),
    );
    expect(findings).toEqual([]);
  });

  it('IMDS: token and instance metadata answers and errors match the documented shapes', () => {
    const exchanges = readRecordedTraffic(directory, 'imds');
    expect(exchanges.length).toBeGreaterThan(0);
    const findings = findViolations(exchanges, validateImdsExchange, (exchange) =>
      pathShape(exchange.method, exchange.url),
    );
    expect(findings).toEqual([]);
  });

  it('Entra: token answers, AADSTS errors and client assertions match the protocol', () => {
    const exchanges = readRecordedTraffic(directory, 'entra');
    expect(exchanges.length).toBeGreaterThan(0);
    const findings = findViolations(exchanges, validateEntraExchange, (exchange) =>
      pathShape(exchange.method, exchange.url),
    );
    expect(findings).toEqual([]);
  });
});
