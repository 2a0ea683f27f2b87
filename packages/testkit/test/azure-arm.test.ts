import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import {
  createDefaultHttpClient,
  createPipelineFromOptions,
  createPipelineRequest,
  isRestError,
} from '@azure/core-rest-pipeline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArmOperation,
  IdentityDenial,
  azureClientTlsOptions,
  startArmEmulator,
} from '@pod-identity/testkit';
import type { ArmEmulator, ScaleSetInfo, UserAssignedIdentityInfo } from '@pod-identity/testkit';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';
const RG = 'MC_rg_cluster_westus2';

const credential: TokenCredential = {
  getToken: () =>
    Promise.resolve({ token: 'arm-test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** The SDK's update takes `null` to remove an identity, which its model type does not admit. */
const removal = null as unknown as Record<string, never>;

/**
 * The Go original's `extractIdentitiesFromError` pattern (pkg/cloudprovider): the first single-quoted,
 * comma-separated run of user-assigned identity ids in an ARM error message. MIC drops these ids and retries.
 */
const ERRONEOUS_IDS =
  /'(,?\/subscriptions\/[a-zA-Z0-9-_]+\/resourcegroups\/[a-zA-Z0-9-_]+\/providers\/Microsoft.ManagedIdentity\/userAssignedIdentities\/[a-zA-Z0-9-_]+)+'/i;
const erroneousIds = (message: string): string[] =>
  ERRONEOUS_IDS.exec(message)?.[0].slice(1, -1).split(',') ?? [];

describe('ARM emulator through @azure/arm-compute', () => {
  let arm: ArmEmulator;
  let client: ComputeManagementClient;
  let scaleSet: ScaleSetInfo;
  let alpha: UserAssignedIdentityInfo;
  let beta: UserAssignedIdentityInfo;

  beforeEach(async () => {
    arm = await startArmEmulator();
    client = new ComputeManagementClient(credential, SUBSCRIPTION, {
      endpoint: arm.url,
      ...azureClientTlsOptions(arm.certificateAuthority),
      retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    });
    alpha = arm.createUserAssignedIdentity({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: RG,
      name: 'alpha',
    });
    beta = arm.createUserAssignedIdentity({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: RG,
      name: 'beta',
    });
    scaleSet = arm.addScaleSet({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: RG,
      name: 'aks-nodepool1-vmss',
      instanceCount: 2,
    });
  });

  afterEach(async () => {
    await arm.stop();
  });

  it('serves a scale set with its instances and lists them', async () => {
    const got = await client.virtualMachineScaleSets.get(RG, scaleSet.name);
    expect(got.id).toBe(scaleSet.id);
    expect(got.identity).toBeUndefined();
    const instances = [];
    for await (const vm of client.virtualMachineScaleSetVMs.list(RG, scaleSet.name))
      instances.push(vm);
    expect(instances.map((vm) => vm.instanceId)).toEqual(['0', '1']);
    expect(instances[1]?.id).toBe(`${scaleSet.id}/virtualMachines/1`);
    const one = await client.virtualMachineScaleSetVMs.get(RG, scaleSet.name, '1');
    expect(one.name).toBe('aks-nodepool1-vmss_1');
  });

  it('adds with {} and removes with null through the long-running PATCH, case-insensitively', async () => {
    const added = await client.virtualMachineScaleSets.update(
      RG,
      scaleSet.name,
      {
        identity: {
          type: 'UserAssigned',
          userAssignedIdentities: { [alpha.id.toLowerCase()]: {}, [beta.id]: {} },
        },
      },
      { updateIntervalInMs: 5 },
    );
    expect(added.provisioningState).toBe('Succeeded');
    expect(added.identity?.type).toBe('UserAssigned');
    const values = Object.values(added.identity?.userAssignedIdentities ?? {});
    expect(values.map((value) => value.clientId).sort()).toEqual(
      [alpha.clientId, beta.clientId].sort(),
    );
    // The PATCH was answered with Azure-AsyncOperation and polled to completion.
    expect(
      arm.countRequests({ operation: ArmOperation.OperationStatusGet }),
    ).toBeGreaterThanOrEqual(1);

    const removed = await client.virtualMachineScaleSets.update(
      RG,
      scaleSet.name,
      {
        identity: {
          type: 'UserAssigned',
          userAssignedIdentities: { [alpha.id.toUpperCase()]: removal },
        },
      },
      { updateIntervalInMs: 5 },
    );
    expect(
      Object.values(removed.identity?.userAssignedIdentities ?? {}).map((value) => value.clientId),
    ).toEqual([beta.clientId]);
    expect(
      arm
        .getIdentityAssignment(`${scaleSet.id}/virtualMachines/0`)
        ?.userAssigned.map((identity) => identity.clientId),
    ).toEqual([beta.clientId]);
    expect(arm.countRequests({ operation: ArmOperation.ScaleSetUpdate, target: scaleSet.id })).toBe(
      2,
    );
  });

  it('keeps a system-assigned identity only while the type names it, as ARM takes the type literally', async () => {
    const vm = arm.addVirtualMachine({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: RG,
      name: 'vm1',
      systemAssignedIdentity: true,
    });
    const before = await client.virtualMachines.get(RG, vm.name);
    expect(before.identity?.type).toBe('SystemAssigned');
    const principalId = before.identity?.principalId;
    expect(principalId).toMatch(/^[0-9a-f-]{36}$/);

    const both = await client.virtualMachines.update(
      RG,
      vm.name,
      {
        identity: {
          type: 'SystemAssigned, UserAssigned',
          userAssignedIdentities: { [alpha.id]: {} },
        },
      },
      { updateIntervalInMs: 5 },
    );
    expect(both.identity?.type).toBe('SystemAssigned, UserAssigned');
    expect(both.identity?.principalId).toBe(principalId);

    const systemOnly = await client.virtualMachines.update(
      RG,
      vm.name,
      { identity: { type: 'SystemAssigned', userAssignedIdentities: { [alpha.id]: removal } } },
      { updateIntervalInMs: 5 },
    );
    expect(systemOnly.identity?.type).toBe('SystemAssigned');
    expect(systemOnly.identity?.userAssignedIdentities).toBeUndefined();

    const userOnly = await client.virtualMachines.update(
      RG,
      vm.name,
      { identity: { type: 'UserAssigned', userAssignedIdentities: { [beta.id]: {} } } },
      { updateIntervalInMs: 5 },
    );
    expect(userOnly.identity?.type).toBe('UserAssigned');
    expect(userOnly.identity?.principalId).toBeUndefined();

    const vms = [];
    for await (const listed of client.virtualMachines.list(RG)) vms.push(listed.name);
    expect(vms).toEqual(['vm1']);
    const all = [];
    for await (const listed of client.virtualMachines.listAll()) all.push(listed.name);
    expect(all).toEqual(['vm1']);
  });

  it('refuses a request without a bearer token with 401 AuthenticationFailed', async () => {
    // The Azure pipeline without its bearer-token policy: the SDK's own transport, no Authorization header.
    const pipeline = createPipelineFromOptions({
      ...azureClientTlsOptions(arm.certificateAuthority),
      retryOptions: { maxRetries: 0 },
    });
    const response = await pipeline.sendRequest(
      createDefaultHttpClient(),
      createPipelineRequest({
        url: `${arm.url}${scaleSet.id}?api-version=2026-04-01`,
        method: 'GET',
      }),
    );
    expect(response.status).toBe(401);
    expect(JSON.parse(response.bodyAsText ?? '{}')).toMatchObject({
      error: { code: 'AuthenticationFailed' },
    });
    expect(arm.countRequests({ operation: ArmOperation.ScaleSetGet, status: 401 })).toBe(1);
  });

  it('honours Retry-After on 429 and counts the throttled attempt', async () => {
    arm.faults.throttleNext({ operation: ArmOperation.ScaleSetGet, retryAfterSeconds: 1 });
    const started = Date.now();
    const got = await client.virtualMachineScaleSets.get(RG, scaleSet.name);
    expect(got.name).toBe(scaleSet.name);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(arm.countRequests({ operation: ArmOperation.ScaleSetGet, status: 429 })).toBe(1);
    expect(arm.countRequests({ operation: ArmOperation.ScaleSetGet, status: 200 })).toBe(1);
  });

  it('answers 409 to a concurrent update of one scale set while an operation is in progress', async () => {
    arm.faults.setLatency(ArmOperation.ScaleSetUpdate, 200);
    const first = client.virtualMachineScaleSets.update(
      RG,
      scaleSet.name,
      { identity: { type: 'UserAssigned', userAssignedIdentities: { [alpha.id]: {} } } },
      { updateIntervalInMs: 5 },
    );
    const second = client.virtualMachineScaleSets
      .update(
        RG,
        scaleSet.name,
        { identity: { type: 'UserAssigned', userAssignedIdentities: { [beta.id]: {} } } },
        { updateIntervalInMs: 5 },
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const [result, conflict] = await Promise.all([first, second]);
    expect(Object.keys(result.identity?.userAssignedIdentities ?? {})).toEqual([alpha.id]);
    expect(isRestError(conflict) && conflict.statusCode).toBe(409);
    expect(isRestError(conflict) && conflict.code).toBe('OperationNotAllowed');
  });

  it('refuses denied identities with LinkedAuthorizationFailed naming them, quoted and comma-separated', async () => {
    arm.faults.denyIdentities([alpha.id, beta.id], IdentityDenial.LinkedAuthorizationFailed);
    const error = await client.virtualMachineScaleSets
      .update(RG, scaleSet.name, {
        identity: {
          type: 'UserAssigned',
          userAssignedIdentities: { [alpha.id]: {}, [beta.id]: {} },
        },
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(isRestError(error) && error.statusCode).toBe(403);
    expect(isRestError(error) && error.code).toBe('LinkedAuthorizationFailed');
    expect(error instanceof Error && error.message).toContain(
      `on the linked scope(s) '${alpha.id},${beta.id}'`,
    );
    expect(erroneousIds(error instanceof Error ? error.message : '')).toEqual([alpha.id, beta.id]);
    expect(arm.getIdentityAssignment(scaleSet.id)?.userAssigned).toEqual([]);
  });

  it('refuses an identity that does not exist with FailedIdentityOperation, and more than 150 at once', async () => {
    const ghost = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost`;
    const failed = await client.virtualMachineScaleSets
      .update(RG, scaleSet.name, {
        identity: { type: 'UserAssigned', userAssignedIdentities: { [ghost]: {}, [alpha.id]: {} } },
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(isRestError(failed) && failed.code).toBe('FailedIdentityOperation');
    expect(failed instanceof Error && failed.message).toContain(`'${ghost}'`);
    expect(erroneousIds(failed instanceof Error ? failed.message : '')).toEqual([ghost]);

    const many = Object.fromEntries(
      Array.from({ length: 151 }, (_, index) => [
        `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id${index}`,
        {},
      ]),
    );
    const tooMany = await client.virtualMachineScaleSets
      .update(RG, scaleSet.name, {
        identity: { type: 'UserAssigned', userAssignedIdentities: many },
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(isRestError(tooMany) && tooMany.statusCode).toBe(400);
    expect(arm.requestLog().at(-1)?.identityCount).toBe(151);
  });

  it('refuses a PATCH whose If-Match is stale with 412, and lists scale sets by group and subscription', async () => {
    const current = await client.virtualMachineScaleSets.get(RG, scaleSet.name);
    expect(current.etag).toMatch(/^".+"$/);
    await client.virtualMachineScaleSets.update(
      RG,
      scaleSet.name,
      { identity: { type: 'UserAssigned', userAssignedIdentities: { [alpha.id]: {} } } },
      { updateIntervalInMs: 5, ifMatch: current.etag! },
    );
    const stale = await client.virtualMachineScaleSets
      .update(
        RG,
        scaleSet.name,
        { identity: { type: 'UserAssigned', userAssignedIdentities: { [beta.id]: {} } } },
        { updateIntervalInMs: 5, ifMatch: current.etag! },
      )
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(isRestError(stale) && stale.statusCode).toBe(412);
    const inGroup = [];
    for await (const listed of client.virtualMachineScaleSets.list(RG)) inGroup.push(listed.id);
    const inSubscription = [];
    for await (const listed of client.virtualMachineScaleSets.listAll())
      inSubscription.push(listed.id);
    expect(inGroup).toEqual([scaleSet.id]);
    expect(inSubscription).toEqual([scaleSet.id]);
  });

  it('fails an accepted update asynchronously: the poller throws, identities stay, provisioningState is Failed', async () => {
    arm.faults.failNextOperation({ target: scaleSet.id, code: 'InternalExecutionError' });
    const error = await client.virtualMachineScaleSets
      .update(
        RG,
        scaleSet.name,
        { identity: { type: 'UserAssigned', userAssignedIdentities: { [alpha.id]: {} } } },
        { updateIntervalInMs: 5 },
      )
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain('InternalExecutionError');
    expect(
      arm.countRequests({
        operation: ArmOperation.ScaleSetUpdate,
        target: scaleSet.id,
        status: 200,
      }),
    ).toBe(1);
    const failed = await client.virtualMachineScaleSets.get(RG, scaleSet.name);
    expect(failed.provisioningState).toBe('Failed');
    expect(failed.identity).toBeUndefined();

    const retried = await client.virtualMachineScaleSets.update(
      RG,
      scaleSet.name,
      { identity: { type: 'UserAssigned', userAssignedIdentities: { [alpha.id]: {} } } },
      { updateIntervalInMs: 5 },
    );
    expect(retried.provisioningState).toBe('Succeeded');
    expect(Object.keys(retried.identity?.userAssignedIdentities ?? {})).toEqual([alpha.id]);
  });

  it('fails the next calls with an injected 5xx, which the SDK retries', async () => {
    arm.faults.failNext({ operation: ArmOperation.ScaleSetGet, status: 503, count: 2 });
    const got = await client.virtualMachineScaleSets.get(RG, scaleSet.name);
    expect(got.name).toBe(scaleSet.name);
    expect(arm.countRequests({ operation: ArmOperation.ScaleSetGet, status: 503 })).toBe(2);
  });
});
