// How NMI answers refusals: final ones (nothing in flight can change them) at once with IMDS's 400
// for an identity that is not there, whatever the wait policy; ones MIC may still resolve with 503 +
// Retry-After after a bounded hold; before its caches are complete, never a final answer; and, with
// refusalStyle 'original', the original NMI's 404 in plain text.
import { createMemoryClusterState, createNmi, type Nmi } from '@pod-identity/nmi';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  azureAssignedIdentity,
  azureIdentity,
  azureIdentityBinding,
  tokenRequest,
} from './nmi-test-support.js';

const state = createMemoryClusterState();
const warming = { ...state, isSynced: () => false };
const nmis: Nmi[] = [];
let patient: Nmi;
let quick: Nmi;
let original: Nmi;
let cold: Nmi;

const pods = {
  nolabel: '127.0.0.21',
  unselected: '127.0.0.22',
  bound: '127.0.0.23',
  waiting: '127.0.0.24',
} as const;

beforeAll(async () => {
  for (const [name, ip] of Object.entries(pods)) {
    state.pods.upsert({
      namespace: 'default',
      name,
      phase: 'Running',
      podIPs: [ip],
      labels: name === 'nolabel' ? {} : { aadpodidbinding: name },
    });
  }
  const web = azureIdentity('default', 'web-id', {
    type: 0,
    clientID: 'web-client',
    resourceID: 'r',
  });
  state.set({
    identities: [web] as never,
    bindings: [
      azureIdentityBinding('default', 'web-id-binding', 'web-id', 'bound'),
      azureIdentityBinding('default', 'waiting-binding', 'web-id', 'waiting'),
    ] as never,
    assignedIdentities: [
      azureAssignedIdentity(
        { name: 'bound', namespace: 'default', selector: 'bound' },
        web,
        'n',
        'Assigned',
      ),
    ] as never,
  });
  const start = (options: Partial<Parameters<typeof createNmi>[0]>) =>
    createNmi({
      nodeName: 'n',
      state,
      listenAddress: '127.0.0.1',
      port: 0,
      tokenSourceFor: () => Promise.reject(new Error('no tokens in this test')),
      logger: pino({ level: 'silent' }),
      ...options,
    }).then((nmi) => {
      nmis.push(nmi);
      return nmi;
    });
  // The original's wait: 16 attempts of 5 s. A final refusal must not wait for any of them.
  patient = await start({});
  quick = await start({ retryAttemptsForCreated: 2, findIdentityRetryIntervalMs: 20 });
  original = await start({
    refusalStyle: 'original',
    retryAttemptsForCreated: 1,
    findIdentityRetryIntervalMs: 20,
  });
  cold = await start({
    state: warming,
    retryAttemptsForCreated: 1,
    findIdentityRetryIntervalMs: 20,
  });
});

afterAll(async () => {
  await Promise.all(nmis.map((nmi) => nmi.close()));
});

function imdsError(body: string): { error: string; error_description: string } {
  return JSON.parse(body) as { error: string; error_description: string };
}

describe('final refusals (IMDS style, the default)', () => {
  it('answers a pod without the label at once with 400 Identity not found and what to fix', async () => {
    const answer = await tokenRequest(patient.url, pods.nolabel, 'resource=r');
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['retry-after']).toBeUndefined();
    expect(imdsError(answer.body)).toEqual({
      error: 'invalid_request',
      error_description:
        'Identity not found: no azure identity is assigned to pod default/nolabel: it has no aadpodidbinding label; label it with the selector of an AzureIdentityBinding',
    });
  });

  it('answers a label no binding selects at once, naming the selector', async () => {
    const answer = await tokenRequest(patient.url, pods.unselected, 'resource=r');
    expect(answer.status).toBe(400);
    expect(imdsError(answer.body).error_description).toContain(
      'no AzureIdentityBinding selects aadpodidbinding=unselected',
    );
  });

  it('answers a client_id the pod is not bound to at once, when every binding of the pod has its record', async () => {
    const answer = await tokenRequest(patient.url, pods.bound, 'resource=r&client_id=someone-else');
    expect(answer.status).toBe(400);
    expect(imdsError(answer.body).error_description).toMatch(
      /^Identity not found: no azure identity found for pod default\/bound matching the requested client ID/,
    );
  });
});

describe('refusals MIC may still resolve', () => {
  it('holds a pod whose binding has no record yet, then answers 503 + Retry-After', async () => {
    const answer = await tokenRequest(quick.url, pods.waiting, 'resource=r');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(imdsError(answer.body).error).toBe('temporarily_unavailable');
  });

  it('never answers finally before its caches are complete (a binding may not have arrived)', async () => {
    const answer = await tokenRequest(cold.url, pods.nolabel, 'resource=r');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBeDefined();
  });
});

describe("refusalStyle 'original'", () => {
  it('answers 404 in plain text, as the original NMI did', async () => {
    const answer = await tokenRequest(original.url, pods.nolabel, 'resource=r');
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.body).toContain('no azure identity is assigned to pod default/nolabel');
  });
});
