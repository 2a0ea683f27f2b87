import {
  createManualClock,
  type AzureAssignedIdentity,
  type Logger,
  type LogFields,
} from '@pod-identity/core';
import { createMemoryOwnershipLedger, type OwnershipLedger } from '@pod-identity/core/kubernetes';
import { describe, expect, it } from 'vitest';
import { adoptGoMicAssignments } from './go-mic-adoption.js';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';
const uami = (name: string): string =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const nodeProviderIds = new Map([
  [
    'node-0',
    `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool/virtualMachines/0`,
  ],
]);

/** A record as the Go MIC writes it: no pod UID annotation. */
function goRecord(
  identity: string,
  state: 'Assigned' | 'Created' = 'Assigned',
): AzureAssignedIdentity {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureAssignedIdentity',
    metadata: { name: `web-0-default-${identity}`, namespace: 'default' },
    spec: {
      azureIdentityRef: {
        metadata: { name: identity, namespace: 'default' },
        spec: { type: 0, resourceID: uami(identity), clientID: `client-${identity}` },
      },
      azureBindingRef: {
        metadata: { name: `${identity}-binding`, namespace: 'default' },
        spec: { azureIdentity: identity, selector: identity },
      },
      pod: 'web-0',
      podNamespace: 'default',
      nodename: 'node-0',
    },
    status: { status: state },
  } as AzureAssignedIdentity;
}

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const write =
    (level: string) =>
    (_fields: LogFields, message?: string): void => {
      lines.push(`${level} ${message ?? ''}`);
    };
  const logger: Logger = {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: () => logger,
  };
  return { logger, lines };
}

/** A ledger whose first `failures` writes fail. */
function flakyLedger(failures: number): OwnershipLedger & { attempts: () => number } {
  const inner = createMemoryOwnershipLedger();
  let attempts = 0;
  return {
    ...inner,
    add: (target, identities) => {
      attempts += 1;
      if (attempts <= failures) return Promise.reject(new Error('409 conflict'));
      return inner.add(target, identities);
    },
    attempts: () => attempts,
  };
}

const owned = (ledger: OwnershipLedger): string[] =>
  [...ledger.snapshot().values()].flatMap((map) => [...map.keys()]).sort();

describe('adoptGoMicAssignments', () => {
  it('takes what Assigned Go records prove into the ledger, once: a second start adopts nothing', async () => {
    const ledger = createMemoryOwnershipLedger();
    const options = {
      ledger,
      records: [goRecord('web'), goRecord('pending', 'Created'), goRecord('kept')],
      nodeProviderIds,
      immutable: ['client-kept'],
      clock: createManualClock(),
      abortSignal: new AbortController().signal,
    };
    expect(await adoptGoMicAssignments(options)).toBe(1);
    expect(owned(ledger)).toEqual([uami('web').toLowerCase()]);
    expect(await adoptGoMicAssignments(options)).toBe(0);
  });

  it('retries a failing ledger write after a pause, and gives the target up after maxAttempts, logged', async () => {
    const clock = createManualClock();
    const ledger = flakyLedger(1);
    const adopting = adoptGoMicAssignments({
      ledger,
      records: [goRecord('web')],
      nodeProviderIds,
      immutable: [],
      clock,
      abortSignal: new AbortController().signal,
    });
    await clock.whenSleeping(1);
    await clock.advance(500);
    expect(await adopting).toBe(1);
    expect(ledger.attempts()).toBe(2);

    const failing = flakyLedger(Number.POSITIVE_INFINITY);
    const { logger, lines } = capture();
    const givingUp = adoptGoMicAssignments({
      ledger: failing,
      records: [goRecord('web')],
      nodeProviderIds,
      immutable: [],
      clock,
      logger,
      abortSignal: new AbortController().signal,
      maxAttempts: 3,
    });
    for (let attempt = 1; attempt < 3; attempt += 1) {
      await clock.whenSleeping(1);
      await clock.advance(500 * attempt);
    }
    expect(await givingUp).toBe(0);
    expect(failing.attempts()).toBe(3);
    expect(lines).toEqual([
      'error failed to adopt identities the Go MIC assigned; they stay on the target until removed by hand',
    ]);
  });

  it('stops when leadership ends during a pause', async () => {
    const clock = createManualClock();
    const leadership = new AbortController();
    const ledger = flakyLedger(Number.POSITIVE_INFINITY);
    const adopting = adoptGoMicAssignments({
      ledger,
      records: [goRecord('web')],
      nodeProviderIds,
      immutable: [],
      clock,
      abortSignal: leadership.signal,
    });
    await clock.whenSleeping(1);
    leadership.abort();
    expect(await adopting).toBe(0);
    expect(ledger.attempts()).toBe(1);
  });
});
