import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { FederatedIdentityCredential } from '@azure/arm-msi';
import type { TokenCredential } from '@azure/core-auth';
import { isRestError } from '@azure/core-rest-pipeline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArmOperation, azureClientTlsOptions, startArmEmulator } from '@pod-identity/testkit';
import type { ArmEmulator, UserAssignedIdentityInfo } from '@pod-identity/testkit';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';
const RG = 'identities';
const ISSUER = 'https://oidc.example.test/cluster-1';

const credential: TokenCredential = {
  getToken: () =>
    Promise.resolve({ token: 'arm-test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

const fic = (subject: string, issuer = ISSUER): FederatedIdentityCredential => ({
  issuer,
  subject,
  audiences: ['api://AzureADTokenExchange'],
});

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await promise;
  } catch (error) {
    if (isRestError(error)) return { status: error.statusCode ?? 0, code: error.code ?? '' };
    throw error;
  }
  throw new Error('expected the request to be refused');
}

describe('ARM emulator: federated identity credentials through @azure/arm-msi', () => {
  let arm: ArmEmulator;
  let client: ManagedServiceIdentityClient;
  let identity: UserAssignedIdentityInfo;

  beforeEach(async () => {
    arm = await startArmEmulator();
    client = new ManagedServiceIdentityClient(credential, SUBSCRIPTION, {
      endpoint: arm.url,
      ...azureClientTlsOptions(arm.certificateAuthority),
      retryOptions: { maxRetries: 0 },
    });
    identity = arm.createUserAssignedIdentity({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: RG,
      name: 'frontend',
    });
  });

  afterEach(async () => {
    await arm.stop();
  });

  it('creates (201), replaces (200), gets, lists and deletes (200, then 204) a credential', async () => {
    const created = await client.federatedIdentityCredentials.createOrUpdate(
      RG,
      'frontend',
      'ns-default-sa',
      fic('system:serviceaccount:default:sa'),
    );
    expect(created.id).toBe(`${identity.id}/federatedIdentityCredentials/ns-default-sa`);
    expect(created.type).toBe(
      'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
    );
    expect(
      arm.countRequests({ operation: ArmOperation.FederatedCredentialCreate, status: 201 }),
    ).toBe(1);

    const replaced = await client.federatedIdentityCredentials.createOrUpdate(
      RG,
      'frontend',
      'ns-default-sa',
      fic('system:serviceaccount:default:other'),
    );
    expect(replaced.subject).toBe('system:serviceaccount:default:other');
    expect(
      arm.countRequests({ operation: ArmOperation.FederatedCredentialCreate, status: 200 }),
    ).toBe(1);

    const got = await client.federatedIdentityCredentials.get(RG, 'frontend', 'NS-DEFAULT-SA');
    expect(got).toMatchObject({
      name: 'ns-default-sa',
      issuer: ISSUER,
      subject: 'system:serviceaccount:default:other',
      audiences: ['api://AzureADTokenExchange'],
    });
    expect(arm.listFederatedIdentityCredentials(identity.id)?.map((c) => c.subject)).toEqual([
      'system:serviceaccount:default:other',
    ]);

    await client.federatedIdentityCredentials.delete(RG, 'frontend', 'ns-default-sa');
    await client.federatedIdentityCredentials.delete(RG, 'frontend', 'ns-default-sa');
    expect(
      arm
        .requestLog()
        .filter((entry) => entry.operation === ArmOperation.FederatedCredentialDelete)
        .map((entry) => entry.status),
    ).toEqual([200, 204]);
    expect(
      await refusal(client.federatedIdentityCredentials.get(RG, 'frontend', 'ns-default-sa')),
    ).toEqual({ status: 404, code: 'ResourceNotFound' });
  });

  it('pages a list with $top through nextLink, as the SDK follows it', async () => {
    for (let index = 0; index < 5; index += 1) {
      await client.federatedIdentityCredentials.createOrUpdate(
        RG,
        'frontend',
        `fic-${index}`,
        fic(`system:serviceaccount:ns:sa-${index}`),
      );
    }
    const names: string[] = [];
    for await (const item of client.federatedIdentityCredentials.list(RG, 'frontend', { top: 2 }))
      names.push(item.name ?? '');
    expect(names).toEqual(['fic-0', 'fic-1', 'fic-2', 'fic-3', 'fic-4']);
    expect(arm.countRequests({ operation: ArmOperation.FederatedCredentialList })).toBe(3);
  });

  it('refuses the 21st credential of an identity with a 400 in ARM error shape; 20 are fine', async () => {
    for (let index = 0; index < 20; index += 1) {
      await client.federatedIdentityCredentials.createOrUpdate(
        RG,
        'frontend',
        `fic-${index}`,
        fic(`system:serviceaccount:ns:sa-${index}`),
      );
    }
    expect(
      await refusal(
        client.federatedIdentityCredentials.createOrUpdate(
          RG,
          'frontend',
          'fic-20',
          fic('system:serviceaccount:ns:sa-20'),
        ),
      ),
    ).toEqual({ status: 400, code: 'BadRequest' });
    // Replacing one of the twenty is not a new credential.
    await client.federatedIdentityCredentials.createOrUpdate(
      RG,
      'frontend',
      'fic-0',
      fic('system:serviceaccount:ns:sa-renamed'),
    );
    expect(arm.listFederatedIdentityCredentials(identity.id)).toHaveLength(20);
  });

  it('refuses a duplicate issuer and subject, a bad name, a missing field, and an unknown identity', async () => {
    await client.federatedIdentityCredentials.createOrUpdate(RG, 'frontend', 'first', fic('s'));
    expect(
      await refusal(
        client.federatedIdentityCredentials.createOrUpdate(RG, 'frontend', 'second', fic('s')),
      ),
    ).toEqual({ status: 400, code: 'BadRequest' });
    expect(
      await refusal(
        client.federatedIdentityCredentials.createOrUpdate(RG, 'frontend', 'a!', fic('t')),
      ),
    ).toEqual({ status: 400, code: 'BadRequest' });
    expect(
      await refusal(
        client.federatedIdentityCredentials.createOrUpdate(RG, 'frontend', 'third', {
          issuer: ISSUER,
          subject: 'u',
        }),
      ),
    ).toEqual({ status: 400, code: 'BadRequest' });
    expect(
      await refusal(
        client.federatedIdentityCredentials.createOrUpdate(RG, 'missing', 'fourth', fic('v')),
      ),
    ).toEqual({ status: 404, code: 'ResourceNotFound' });
    // Deleting the identity deletes its credentials with it.
    arm.deleteUserAssignedIdentity(identity.id);
    expect(arm.listFederatedIdentityCredentials(identity.id)).toBeUndefined();
  });

  it('answers identities with isolationScope at api-version 2024-11-30 (what @azure/arm-msi sends)', async () => {
    const got = await client.userAssignedIdentities.get(RG, 'frontend');
    expect(got).toMatchObject({ clientId: identity.clientId, isolationScope: 'None' });
  });
});
