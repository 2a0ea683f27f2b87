/**
 * IMDS emulator through `ManagedIdentityCredential`. MSAL caches the managed-identity source (and
 * so the IMDS address) in static fields, so this file starts one IMDS and sets
 * `AZURE_POD_IDENTITY_AUTHORITY_HOST` before any credential is used; vitest runs each file in its
 * own worker, so no other file sees it.
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
} from '@azure/core-rest-pipeline';
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  azureClientTlsOptions,
  decodeToken,
  getSharedTokenIssuer,
  startArmEmulator,
  startImdsEmulator,
  verifyToken,
} from '@pod-identity/testkit';
import type {
  ArmEmulator,
  ImdsEmulator,
  ScaleSetInfo,
  UserAssignedIdentityInfo,
} from '@pod-identity/testkit';

const SUBSCRIPTION = 'c1089427-83d3-4286-9f35-5af546a6eb67';
const RG = 'MC_rg_cluster_westus2';
const ARM_SCOPE = 'https://management.azure.com/.default';

describe('IMDS emulator through @azure/identity ManagedIdentityCredential', () => {
  let arm: ArmEmulator;
  let imds: ImdsEmulator;
  let scaleSet: ScaleSetInfo;
  let alpha: UserAssignedIdentityInfo;
  let beta: UserAssignedIdentityInfo;
  let gamma: UserAssignedIdentityInfo;
  const previousHost = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;

  beforeAll(async () => {
    arm = await startArmEmulator();
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
    gamma = arm.createUserAssignedIdentity({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: RG,
      name: 'gamma',
    });
    scaleSet = arm.addScaleSet({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: RG,
      name: 'aks-agentpool-12345678-vmss',
      instanceCount: 2,
      systemAssignedIdentity: true,
      userAssignedIdentities: [alpha.id, beta.id],
    });
    imds = await startImdsEmulator({
      arm,
      resourceId: scaleSet.instances[1]!.id,
      host: '127.0.0.2',
    });
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = imds.url;
  });

  afterAll(async () => {
    if (previousHost === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = previousHost;
    await imds.stop();
    await arm.stop();
  });

  it('issues a token for the user-assigned identity named by client id, with claims naming it', async () => {
    const token = await new ManagedIdentityCredential({ clientId: alpha.clientId }).getToken(
      ARM_SCOPE,
    );
    const claims = verifyToken(token.token, getSharedTokenIssuer(), {
      audience: 'https://management.azure.com',
    });
    expect(claims).toMatchObject({
      appid: alpha.clientId,
      oid: alpha.principalId,
      xms_mirid: alpha.id,
      tid: arm.tenantId,
    });
    expect(imds.requestLog().at(-1)).toMatchObject({
      selector: 'client_id',
      status: 200,
      clientId: alpha.clientId,
    });
  });

  it('selects by resource id and by object id', async () => {
    const byResource = await new ManagedIdentityCredential({ resourceId: beta.id }).getToken(
      'https://vault.azure.net/.default',
    );
    expect(decodeToken(byResource.token).claims.appid).toBe(beta.clientId);
    const byObject = await new ManagedIdentityCredential({ objectId: alpha.principalId }).getToken(
      'https://storage.azure.com/.default',
    );
    expect(decodeToken(byObject.token).claims.oid).toBe(alpha.principalId);
  });

  it('uses the system-assigned identity when none is named', async () => {
    const token = await new ManagedIdentityCredential().getToken(
      'https://graph.microsoft.com/.default',
    );
    const system = arm.getIdentityAssignment(scaleSet.id)?.systemAssigned;
    expect(decodeToken(token.token).claims).toMatchObject({
      appid: system?.clientId,
      xms_mirid: scaleSet.id,
    });
  });

  it('refuses an identity not assigned in ARM with 400 Identity not found, and serves it once ARM assigns it', async () => {
    await expect(
      new ManagedIdentityCredential({ clientId: gamma.clientId }).getToken(ARM_SCOPE),
    ).rejects.toThrow(/Identity not found/);
    expect(imds.requestLog().at(-1)).toMatchObject({ status: 400, selector: 'client_id' });

    const compute = new ComputeManagementClient(
      {
        getToken: () => Promise.resolve({ token: 'mic', expiresOnTimestamp: Date.now() + 60_000 }),
      },
      SUBSCRIPTION,
      { endpoint: arm.url, ...azureClientTlsOptions(arm.certificateAuthority) },
    );
    await compute.virtualMachineScaleSets.update(
      RG,
      scaleSet.name,
      {
        identity: {
          type: 'SystemAssigned, UserAssigned',
          userAssignedIdentities: { [gamma.id]: {} },
        },
      },
      { updateIntervalInMs: 5 },
    );
    const token = await new ManagedIdentityCredential({ clientId: gamma.clientId }).getToken(
      'https://vault.azure.net/.default',
    );
    expect(decodeToken(token.token).claims.xms_mirid).toBe(gamma.id);
  });

  it('answers injected retryable errors, which the SDK retries', async () => {
    imds.faults.failNext({ status: 500, count: 1 });
    const token = await new ManagedIdentityCredential({ clientId: beta.clientId }).getToken(
      'https://management.core.windows.net/.default',
    );
    expect(decodeToken(token.token).claims.appid).toBe(beta.clientId);
    expect(
      imds
        .requestLog()
        .slice(-2)
        .map((entry) => entry.status),
    ).toEqual([500, 200]);
  });

  describe('wire contract (the SDK transport, no credential)', () => {
    const pipeline = createPipelineFromOptions({ retryOptions: { maxRetries: 0 } });
    const get = async (path: string, headers: Record<string, string> = { Metadata: 'true' }) => {
      const response = await pipeline.sendRequest(
        createDefaultHttpClient(),
        createPipelineRequest({
          url: `${imds.url}${path}`,
          method: 'GET',
          headers: createHttpHeaders(headers),
          allowInsecureConnection: true,
        }),
      );
      return {
        status: response.status,
        body: JSON.parse(response.bodyAsText ?? 'null') as Record<string, unknown>,
      };
    };

    it('requires Metadata: true and answers the SDK probe (no query, no header) with 400 at once', async () => {
      const probe = await get('/metadata/identity/oauth2/token', {});
      expect(probe).toEqual({
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'Required metadata header not specified',
        },
      });
    });

    it('answers string-valued JSON on the path with a trailing slash too', async () => {
      const { status, body } = await get(
        `/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=${encodeURIComponent('https://management.azure.com/')}&client_id=${alpha.clientId}`,
      );
      expect(status).toBe(200);
      for (const field of [
        'access_token',
        'expires_in',
        'expires_on',
        'not_before',
        'resource',
        'token_type',
        'client_id',
      ]) {
        expect(typeof body[field], field).toBe('string');
      }
      expect(body.resource).toBe('https://management.azure.com/');
      expect(Number(body.expires_on) - Number(body.not_before)).toBeGreaterThan(86_000);
    });

    it('serves compute and network instance metadata of its own instance', async () => {
      const { status, body } = await get('/metadata/instance?api-version=2021-02-01');
      expect(status).toBe(200);
      expect(body.compute).toMatchObject({
        name: 'aks-agentpool-12345678-vmss_1',
        vmScaleSetName: scaleSet.name,
        subscriptionId: SUBSCRIPTION,
        resourceGroupName: RG,
        resourceId: scaleSet.instances[1]!.id,
        osProfile: { computerName: scaleSet.instances[1]!.computerName },
      });
      expect(JSON.stringify(body.network)).toContain('127.0.0.2');
    });

    it("answers each api-version's compute shape: a field appears from the version that introduced it", async () => {
      const instance = scaleSet.instances[1]!;
      // 2017-08-01, as the Go original's demo asks: no scale set name, resource id or OS profile yet.
      const old = await get('/metadata/instance/compute?api-version=2017-08-01');
      expect(old.status).toBe(200);
      expect(old.body).toMatchObject({
        name: 'aks-agentpool-12345678-vmss_1',
        subscriptionId: SUBSCRIPTION,
      });
      for (const field of [
        'vmScaleSetName',
        'resourceId',
        'osProfile',
        'azEnvironment',
        'tagsList',
      ])
        expect(old.body, field).not.toHaveProperty(field);
      // 2020-07-15 introduced osProfile's names; disablePasswordAuthentication came in 2020-10-01.
      const osProfile = await get('/metadata/instance/compute?api-version=2020-07-15');
      expect(osProfile.body.osProfile).toEqual({
        adminUsername: 'azureuser',
        computerName: instance.computerName,
      });
      expect(osProfile.body.vmScaleSetName).toBe(scaleSet.name);
    });

    it('refuses an api-version IMDS does not document, naming its newest versions', async () => {
      for (const query of ['', '?api-version=2022-01-01']) {
        expect(await get(`/metadata/instance${query}`)).toEqual({
          status: 400,
          body: {
            error: expect.stringContaining('api-version is invalid or was not specified') as string,
            'newest-versions': ['2025-04-07', '2024-07-17', '2024-03-15'],
          },
        });
      }
      // Tokens came with 2018-02-01: an older (documented) version gets none.
      const token = await get(
        `/metadata/identity/oauth2/token?api-version=2017-12-01&resource=${encodeURIComponent('https://management.azure.com/')}&client_id=${alpha.clientId}`,
      );
      expect(token.status).toBe(400);
      expect(token.body.error).toBe('invalid_request');
    });
  });
});
