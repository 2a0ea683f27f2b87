import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeManagementClient } from '@azure/arm-compute';
import {
  azureClientTlsOptions,
  decodeToken,
  getSharedTokenIssuer,
  startArmEmulator,
  startImdsEmulator,
  verifyToken,
  type ArmEmulator,
  type ImdsEmulator,
} from '@pod-identity/testkit';
import { getToken, IdentityNotAssignedError, PodIdentityCredential } from '@pod-identity/client';

// The client through its public entry against the testkit's IMDS emulator, whose answers follow the
// ARM emulator's live identity assignments, and the credential driving a real @azure/arm-compute
// client against the ARM emulator.
const SUBSCRIPTION = '00000000-0000-0000-0000-0000000000bb';
const GROUP = 'MC_demo';
let arm: ArmEmulator;
let imds: ImdsEmulator;
let assigned: { id: string; clientId: string; principalId: string };
let unassigned: { id: string; clientId: string };

beforeAll(async () => {
  const issuer = getSharedTokenIssuer();
  // ARM accepts only tokens the issuer signed, so the credential must hand over what IMDS issued.
  arm = await startArmEmulator({
    verifyToken: (token) => {
      try {
        verifyToken(token, issuer);
        return true;
      } catch {
        return false;
      }
    },
  });
  assigned = arm.createUserAssignedIdentity({
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'ids',
    name: 'app',
  });
  unassigned = arm.createUserAssignedIdentity({
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'ids',
    name: 'other',
  });
  const scaleSet = arm.addScaleSet({
    subscriptionId: SUBSCRIPTION,
    resourceGroup: GROUP,
    name: 'pool',
    instanceCount: 1,
    userAssignedIdentities: [assigned.id],
  });
  imds = await startImdsEmulator({
    arm,
    resourceId: scaleSet.instances[0]!.id,
    tokenIssuer: issuer,
  });
});
afterAll(async () => {
  await imds.stop();
  await arm.stop();
});

describe('client against the IMDS emulator', () => {
  it('acquires a token of the identity it names', async () => {
    const token = await getToken(
      'https://management.azure.com/',
      { clientId: assigned.clientId },
      { endpoint: imds.url },
    );
    expect(decodeToken(token.token).claims).toMatchObject({
      appid: assigned.clientId,
      oid: assigned.principalId,
    });
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_600_000);
    const byResourceId = await getToken(
      'https://management.azure.com/',
      { resourceId: assigned.id },
      { endpoint: imds.url },
    );
    expect(decodeToken(byResourceId.token).claims.appid).toBe(assigned.clientId);
  });

  it('rides out transient 503s and 429s with Retry-After', async () => {
    imds.faults.failNext({ status: 503, count: 2, retryAfterSeconds: 0 });
    imds.faults.failNext({ status: 429, count: 1, retryAfterSeconds: 0 });
    const retries: number[] = [];
    const token = await getToken(
      'https://management.azure.com/',
      { clientId: assigned.clientId },
      {
        endpoint: imds.url,
        onRetry: (event) => retries.push(event.status ?? 0),
      },
    );
    expect(token.token).not.toBe('');
    expect(retries.sort()).toEqual([429, 503, 503]);
  });

  it('reports an identity still not there after the deadline as not assigned', async () => {
    imds.faults.failNext({ status: 404, count: 1000 });
    let now = 0;
    const error = await getToken(
      'https://management.azure.com/',
      { clientId: assigned.clientId },
      {
        endpoint: imds.url,
        deadlineMs: 5000,
        now: () => now,
        sleep: (ms) => {
          now += ms;
          return Promise.resolve();
        },
      },
    ).catch((e: unknown) => e);
    imds.faults.clear();
    expect(error).toBeInstanceOf(IdentityNotAssignedError);
    expect((error as IdentityNotAssignedError).imdsError).toBe('not_found');
  });

  it("does not retry IMDS's 400 for an identity the machine does not have", async () => {
    const error = await getToken(
      'https://management.azure.com/',
      { clientId: unassigned.clientId },
      { endpoint: imds.url },
    ).catch((e: unknown) => e);
    // IMDS's final "Identity not found", as NMI answers an identity not bound to the pod.
    expect(error).toBeInstanceOf(IdentityNotAssignedError);
    expect((error as IdentityNotAssignedError).status).toBe(400);
    expect((error as IdentityNotAssignedError).attempts).toBe(1);
    expect((error as IdentityNotAssignedError).retryable).toBe(false);
    expect((error as IdentityNotAssignedError).message).toContain('Identity not found');
  });

  it('gives a real ComputeManagementClient the tokens it needs', async () => {
    const credential = new PodIdentityCredential({
      endpoint: imds.url,
      identity: { clientId: assigned.clientId },
    });
    const compute = new ComputeManagementClient(credential, SUBSCRIPTION, {
      endpoint: arm.url,
      ...azureClientTlsOptions(arm.certificateAuthority),
    });
    const names: string[] = [];
    for await (const scaleSet of compute.virtualMachineScaleSets.list(GROUP))
      names.push(scaleSet.name ?? '');
    expect(names).toEqual(['pool']);
    const before = imds.requestLog().length;
    for await (const vm of compute.virtualMachines.list(GROUP)) names.push(vm.name ?? '');
    // The second call reused the cached token.
    expect(imds.requestLog().length).toBe(before);
  });
});
