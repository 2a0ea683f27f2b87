// The ARM identity assigner through the real @azure/arm-compute client against the testkit's ARM
// emulator over https.
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { createManualClock, makeTarget, type IdentityRef } from '@pod-identity/core';
import {
  ARM_REQUEST_TIMEOUT_CODE,
  CloudProviderError,
  createIdentityAssigner,
} from '@pod-identity/core/arm';
import {
  ArmOperation,
  IdentityDenial,
  azureClientTlsOptions,
  startArmEmulator,
  type ArmEmulator,
} from '@pod-identity/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const SUB = '11111111-2222-3333-4444-555555555555';
const credential: TokenCredential = {
  getToken: (): Promise<AccessToken> =>
    Promise.resolve({ token: 'arm-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

let arm: ArmEmulator;
let counter = 0;

beforeAll(async () => {
  arm = await startArmEmulator();
});
afterAll(async () => {
  await arm.stop();
});
beforeEach(() => {
  arm.faults.clear();
});

function assigner(): ReturnType<typeof createIdentityAssigner> {
  return createIdentityAssigner({
    credential,
    endpoint: arm.url,
    clientOptions: azureClientTlsOptions(arm.certificateAuthority),
    pollIntervalMs: 10,
    refusalRetryIntervalMs: 1,
  });
}

function uami(name: string): IdentityRef {
  const info = arm.createUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'ids', name });
  return { resourceId: info.id, key: info.id.toLowerCase(), clientId: info.clientId };
}

function scaleSet(options: { system?: boolean; preassigned?: string[] } = {}) {
  counter += 1;
  const name = `vmss-${counter}`;
  const info = arm.addScaleSet({
    subscriptionId: SUB,
    resourceGroup: 'nodes',
    name,
    instanceCount: 2,
    ...(options.system === true ? { systemAssignedIdentity: true } : {}),
    ...(options.preassigned === undefined ? {} : { userAssignedIdentities: options.preassigned }),
  });
  return { info, target: makeTarget('vmss', SUB, 'nodes', name) };
}

function idsOn(resourceId: string): string[] {
  return (arm.getIdentityAssignment(resourceId)?.userAssigned ?? [])
    .map((u) => u.resourceId.toLowerCase())
    .sort();
}

describe('createIdentityAssigner', () => {
  it('adds and removes only the delta, keeping identities it was not told about', async () => {
    const [a, b, handmade] = [uami('a'), uami('b'), uami('handmade')];
    const { info, target } = scaleSet({ preassigned: [handmade.resourceId] });
    const result = await assigner().apply(target, { ensure: [a, b], remove: [] });
    expect(result.added.map((r) => r.key).sort()).toEqual([a.key, b.key].sort());
    expect(result.patches).toBe(1);
    expect(idsOn(info.id)).toEqual([a.key, b.key, handmade.key].sort());

    const second = await assigner().apply(target, { ensure: [b], remove: [a] });
    expect(second.removed.map((r) => r.key)).toEqual([a.key]);
    expect(idsOn(info.id)).toEqual([b.key, handmade.key].sort());
  });

  it('sends nothing when the target already matches', async () => {
    const a = uami('a');
    const { info, target } = scaleSet({ preassigned: [a.resourceId] });
    arm.clearRequestLog();
    const result = await assigner().apply(target, { ensure: [a], remove: [uami('absent')] });
    expect(result.patches).toBe(0);
    expect(arm.countRequests({ operation: ArmOperation.ScaleSetUpdate, target: info.id })).toBe(0);
  });

  it('keeps a system-assigned identity when the last user-assigned one goes', async () => {
    const a = uami('a');
    const { info, target } = scaleSet({ system: true, preassigned: [a.resourceId] });
    await assigner().apply(target, { ensure: [], remove: [a] });
    const after = arm.getIdentityAssignment(info.id);
    expect(after?.userAssigned).toEqual([]);
    expect(after?.systemAssigned).toBeDefined();
    expect(after?.type).toBe('SystemAssigned');
  });

  it('splits more than 150 identities into PATCHes of at most 150', async () => {
    const many = Array.from({ length: 320 }, (_, i) => uami(`bulk-${i}`));
    const { info, target } = scaleSet();
    arm.clearRequestLog();
    const result = await assigner().apply(target, { ensure: many, remove: [] });
    expect(result.patches).toBe(3);
    const patches = arm.requestLog().filter((r) => r.operation === ArmOperation.ScaleSetUpdate);
    expect(patches.map((p) => p.identityCount)).toEqual([150, 150, 20]);
    expect(idsOn(info.id)).toHaveLength(320);
  });

  it('takes identities ARM refuses out of the PATCH, retries without them, and reports them', async () => {
    const [good, denied, gone] = [uami('good'), uami('denied'), uami('gone')];
    arm.faults.denyIdentities([denied.resourceId], IdentityDenial.LinkedAuthorizationFailed);
    arm.faults.denyIdentities([gone.resourceId], IdentityDenial.FailedIdentityOperation);
    const { info, target } = scaleSet();
    const result = await assigner().apply(target, { ensure: [good, denied, gone], remove: [] });
    expect(result.added.map((r) => r.key)).toEqual([good.key]);
    expect(result.refused.map((r) => [r.identity.key, r.armCode]).sort()).toEqual(
      [
        [denied.key, 'LinkedAuthorizationFailed'],
        [gone.key, 'FailedIdentityOperation'],
      ].sort(),
    );
    expect(idsOn(info.id)).toEqual([good.key]);
  });

  it('honours Retry-After per target: a throttled target fails fast, another is unaffected', async () => {
    const a = uami('a');
    const throttled = scaleSet();
    const other = scaleSet();
    arm.faults.throttleNext({ target: throttled.info.id, retryAfterSeconds: 60 });
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const shared = createIdentityAssigner({
      credential,
      endpoint: arm.url,
      clientOptions: azureClientTlsOptions(arm.certificateAuthority),
      clock,
    });
    const first = await shared
      .apply(throttled.target, { ensure: [a], remove: [] })
      .catch((e: unknown) => e);
    expect(CloudProviderError.is(first) && first.statusCode).toBe(429);
    expect(CloudProviderError.is(first) && first.retryAfterMs).toBe(60_000);
    arm.clearRequestLog();
    await clock.advance(20_000);
    const again = await shared
      .apply(throttled.target, { ensure: [a], remove: [] })
      .catch((e: unknown) => e);
    // Refused without asking ARM, for what is left of the minute.
    expect(CloudProviderError.is(again) && again.retryAfterMs).toBe(40_000);
    expect(arm.countRequests({ target: throttled.info.id })).toBe(0);
    await shared.apply(other.target, { ensure: [a], remove: [] });
    expect(idsOn(other.info.id)).toEqual([a.key]);
    await clock.advance(40_000);
    await shared.apply(throttled.target, { ensure: [a], remove: [] });
    expect(idsOn(throttled.info.id)).toEqual([a.key]);
  });

  it('aborts an ARM request at its deadline with a retryable error, and the next call goes through', async () => {
    const a = uami('deadline');
    const { info, target } = scaleSet();
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const timed = createIdentityAssigner({
      credential,
      endpoint: arm.url,
      clientOptions: azureClientTlsOptions(arm.certificateAuthority),
      pollIntervalMs: 10,
      requestTimeoutMs: 10_000,
      clock,
    });
    // The GET hangs for 10 minutes of real time; only the deadline on the test's clock can end it.
    arm.faults.setLatency(ArmOperation.ScaleSetGet, 600_000);
    const pending = timed.apply(target, { ensure: [a], remove: [] }).catch((e: unknown) => e);
    await clock.whenSleeping(1); // the GET is in flight and its deadline is set
    await clock.advance(9_999);
    expect(clock.pendingSleeps()).toBe(1); // not yet
    await clock.advance(1);
    const error = await pending;
    expect(CloudProviderError.is(error) && error.armCode).toBe(ARM_REQUEST_TIMEOUT_CODE);
    expect(CloudProviderError.is(error) && error.retryable).toBe(true);
    expect(CloudProviderError.is(error) && error.operation).toBe('vmss_get');
    arm.faults.setLatency(ArmOperation.ScaleSetGet, 0);
    await timed.apply(target, { ensure: [a], remove: [] });
    expect(idsOn(info.id)).toEqual([a.key]);
    expect(clock.pendingSleeps()).toBe(0); // every request's deadline timer was cleared
  });

  it('re-adds an identity that was deleted and recreated in Azure (stale client ID)', async () => {
    const old = uami('recreated');
    const { info, target } = scaleSet({ preassigned: [old.resourceId] });
    arm.deleteUserAssignedIdentity(old.resourceId);
    const fresh = uami('recreated');
    expect(fresh.clientId).not.toBe(old.clientId);
    const result = await assigner().apply(target, { ensure: [fresh], remove: [] });
    expect(result.removed.map((r) => r.key)).toEqual([fresh.key]);
    expect(result.added.map((r) => r.key)).toEqual([fresh.key]);
    expect(arm.getIdentityAssignment(info.id)?.userAssigned.map((u) => u.clientId)).toEqual([
      fresh.clientId,
    ]);
  });

  it('assigns to and removes from a standalone VM the same way', async () => {
    const a = uami('vm-a');
    counter += 1;
    const vm = arm.addVirtualMachine({
      subscriptionId: SUB,
      resourceGroup: 'nodes',
      name: `vm-${counter}`,
    });
    const target = makeTarget('vm', SUB, 'nodes', vm.name);
    arm.clearRequestLog();
    await assigner().apply(target, { ensure: [a], remove: [] });
    expect(idsOn(vm.id)).toEqual([a.key]);
    expect(arm.countRequests({ operation: ArmOperation.VmUpdate, target: vm.id })).toBe(1);
    await assigner().apply(target, { ensure: [], remove: [a] });
    expect(idsOn(vm.id)).toEqual([]);
    expect(arm.getIdentityAssignment(vm.id)?.type).toBe('None');
  });
});
