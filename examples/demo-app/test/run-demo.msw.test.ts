// The demo program unit-tested the way an application developer would, without a cluster: the IMDS
// token endpoint emulated by @pod-identity/testkit/msw as NMI answers it, and ARM and the instance
// metadata by two handlers of the test's own. Nothing leaves the process.
import { runDemoRound } from '@pod-identity/example-demo';
import { createImdsTokenHandlers, imdsAnswer } from '@pod-identity/testkit/msw';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

const IMDS = 'http://imds.demo-msw.test';
const ARM = 'https://arm.demo-msw.test';
const CLIENT_ID = '00000000-0000-0000-0000-0000000de770';
const VM_ID =
  '/subscriptions/sub/resourceGroups/nodes/providers/Microsoft.Compute/virtualMachines/vm0';

const imds = createImdsTokenHandlers({ endpoint: IMDS, identities: [{ clientId: CLIENT_ID }] });
const armAuthorizations: (string | null)[] = [];
const server = setupServer(
  ...imds.handlers,
  http.get(
    `${ARM}/subscriptions/sub/resourceGroups/nodes/providers/Microsoft.Compute/virtualMachines`,
    ({ request }) => {
      armAuthorizations.push(request.headers.get('authorization'));
      return HttpResponse.json({ value: [{ id: VM_ID, name: 'vm0', location: 'westeurope' }] });
    },
  ),
  http.get(`${IMDS}/metadata/instance`, () =>
    HttpResponse.json({ compute: { name: 'vm0', vmId: 'v-0', resourceId: VM_ID } }),
  ),
);

beforeAll(() => {
  server.listen({ onUnhandledFrame: 'error' });
});
afterEach(() => {
  imds.reset();
  armAuthorizations.length = 0;
});
afterAll(() => {
  server.close();
});

const options = {
  subscriptionId: 'sub',
  resourceGroup: 'nodes',
  clientId: CLIENT_ID,
  imdsEndpoint: IMDS,
  armEndpoint: ARM,
};

it('lists the VMs with the token of its identity and reads the instance metadata', async () => {
  const lines: string[] = [];
  const result = await runDemoRound({ ...options, log: (line) => lines.push(line) });
  expect(result).toEqual({
    vmCount: 1,
    instanceCompute: { name: 'vm0', vmId: 'v-0', resourceId: VM_ID },
  });
  expect(lines[2]).toBe('successfully doARMOperations vm count 1');
  // ARM got a bearer token from the credential, which the emulated NMI issued for this identity.
  expect(armAuthorizations).toHaveLength(1);
  expect(armAuthorizations[0]).toMatch(/^Bearer .+\..+\..+$/);
  expect(imds.requests.map((r) => r.identity)).toContainEqual({
    kind: 'clientId',
    clientId: CLIENT_ID,
  });
});

it('stops at once, naming the refusal, when Azure refuses the identity', async () => {
  imds.answerNext(imdsAnswer.forbidden({ message: 'identity not found' }));
  await expect(runDemoRound({ ...options, log: () => undefined })).rejects.toMatchObject({
    name: 'IdentityRefusedError',
  });
  expect(imds.requests).toHaveLength(1);
  expect(armAuthorizations).toEqual([]);
});
