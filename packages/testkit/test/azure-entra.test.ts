import { sign } from 'node:crypto';
import { ComputeManagementClient } from '@azure/arm-compute';
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
} from '@azure/core-rest-pipeline';
import {
  AuthenticationRequiredError,
  ClientCertificateCredential,
  ClientSecretCredential,
} from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  azureClientTlsOptions,
  createSelfSignedCertificate,
  decodeToken,
  startArmEmulator,
  startEntraEmulator,
  verifyToken,
} from '@pod-identity/testkit';
import type { ArmEmulator, EntraEmulator, IssuedCertificate } from '@pod-identity/testkit';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ARM_SCOPE = 'https://management.azure.com/.default';

describe('Entra emulator through @azure/identity', () => {
  let entra: EntraEmulator;
  let certificate: IssuedCertificate;
  let secretClientId: string;
  let certClientId: string;
  const secret = 'sp-secret-value~1';

  beforeAll(async () => {
    entra = await startEntraEmulator();
    certificate = createSelfSignedCertificate({ commonName: 'pod-identity-sp' });
    secretClientId = entra.registerServicePrincipal({
      tenantId: TENANT,
      clientSecret: secret,
    }).clientId;
    certClientId = entra.registerServicePrincipal({
      tenantId: TENANT,
      certificatePem: certificate.certificatePem,
    }).clientId;
  });

  afterAll(async () => {
    await entra.stop();
  });

  const credentialOptions = () => ({
    authorityHost: entra.url,
    // Instance discovery would ask login.microsoftonline.com about the authority; the emulator is its own authority.
    disableInstanceDiscovery: true,
    ...azureClientTlsOptions(entra.certificateAuthority),
  });

  it('issues a token for a client secret on the v2.0 endpoint, naming the service principal', async () => {
    const credential = new ClientSecretCredential(
      TENANT,
      secretClientId,
      secret,
      credentialOptions(),
    );
    const token = await credential.getToken(ARM_SCOPE);
    const claims = verifyToken(token.token, entra.tokenIssuer, {
      audience: 'https://management.azure.com',
    });
    expect(claims.appid).toBe(secretClientId);
    expect(claims.tid).toBe(TENANT);
    expect(claims.xms_mirid).toBeUndefined();
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_000_000);
    const tokenRequests = entra.requestLog().filter((entry) => entry.kind === 'secret');
    expect(tokenRequests.map((entry) => [entry.endpointVersion, entry.status])).toEqual([
      ['v2.0', 200],
    ]);
  });

  it('refuses a wrong secret with AADSTS7000215', async () => {
    const credential = new ClientSecretCredential(
      TENANT,
      secretClientId,
      'wrong',
      credentialOptions(),
    );
    const error = await credential.getToken(ARM_SCOPE).catch((caught: unknown) => caught);
    // @azure/identity surfaces MSAL's invalid_client as an AuthenticationRequiredError carrying Entra's text.
    expect(error).toBeInstanceOf(AuthenticationRequiredError);
    expect((error as Error).message).toContain('AADSTS7000215');
  });

  it('refuses an unknown tenant at OpenID discovery, which MSAL reports as endpoints_resolution_error', async () => {
    const unknown = '11111111-2222-3333-4444-555555555555';
    const credential = new ClientSecretCredential(
      unknown,
      secretClientId,
      secret,
      credentialOptions(),
    );
    await expect(credential.getToken(ARM_SCOPE)).rejects.toThrow(/endpoints_resolution_error/);
    expect(
      entra
        .requestLog()
        .filter((entry) => entry.tenantId === unknown)
        .map((entry) => [entry.kind, entry.status]),
    ).toEqual([['metadata', 400]]);
  });

  it('issues a token for a certificate assertion whose signature verifies against the registered certificate', async () => {
    const credential = new ClientCertificateCredential(
      TENANT,
      certClientId,
      { certificate: certificate.pem },
      credentialOptions(),
    );
    const token = await credential.getToken(ARM_SCOPE);
    expect(decodeToken(token.token).claims.appid).toBe(certClientId);
    expect(
      entra.requestLog().some((entry) => entry.kind === 'assertion' && entry.status === 200),
    ).toBe(true);
  });

  it('refuses an assertion signed by a certificate that is not registered', async () => {
    const stranger = createSelfSignedCertificate({ commonName: 'stranger' });
    const credential = new ClientCertificateCredential(
      TENANT,
      certClientId,
      { certificate: stranger.pem },
      credentialOptions(),
    );
    const error = await credential.getToken(ARM_SCOPE).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationRequiredError);
    expect((error as Error).message).toContain('AADSTS700027');
  });

  it('serves the v1 endpoint with a resource form field and string-valued times, as adal calls it', async () => {
    const pipeline = createPipelineFromOptions({
      ...azureClientTlsOptions(entra.certificateAuthority),
      retryOptions: { maxRetries: 0 },
    });
    const response = await pipeline.sendRequest(
      createDefaultHttpClient(),
      createPipelineRequest({
        url: `${entra.url}/${TENANT}/oauth2/token?api-version=1.0`,
        method: 'POST',
        headers: createHttpHeaders({ 'content-type': 'application/x-www-form-urlencoded' }),
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: secretClientId,
          client_secret: secret,
          resource: 'https://vault.azure.net',
        }).toString(),
      }),
    );
    expect(response.status).toBe(200);
    const body = JSON.parse(response.bodyAsText ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({
      token_type: 'Bearer',
      resource: 'https://vault.azure.net',
      expires_in: '3599',
    });
    expect(typeof body.expires_on).toBe('string');
    expect(decodeToken(String(body.access_token)).claims.aud).toBe('https://vault.azure.net');
  });

  it('verifies an RS256 assertion with an x5t thumbprint on the v1 endpoint, as adal sends it', async () => {
    const tokenUrl = `${entra.url}/${TENANT}/oauth2/token`;
    const assertion = (key: string, aud = tokenUrl): string => {
      const now = Math.floor(Date.now() / 1000);
      const head = Buffer.from(
        JSON.stringify({
          alg: 'RS256',
          typ: 'JWT',
          x5t: Buffer.from(certificate.thumbprintSha1Hex, 'hex').toString('base64url'),
        }),
      ).toString('base64url');
      const body = Buffer.from(
        JSON.stringify({
          aud,
          iss: certClientId,
          sub: certClientId,
          jti: 'j',
          nbf: now,
          exp: now + 600,
        }),
      ).toString('base64url');
      const signature = sign('sha256', Buffer.from(`${head}.${body}`), key).toString('base64url');
      return `${head}.${body}.${signature}`;
    };
    const pipeline = createPipelineFromOptions({
      ...azureClientTlsOptions(entra.certificateAuthority),
      retryOptions: { maxRetries: 0 },
    });
    const post = async (clientAssertion: string) => {
      const response = await pipeline.sendRequest(
        createDefaultHttpClient(),
        createPipelineRequest({
          url: tokenUrl,
          method: 'POST',
          headers: createHttpHeaders({ 'content-type': 'application/x-www-form-urlencoded' }),
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: certClientId,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: clientAssertion,
            resource: 'https://management.azure.com/',
          }).toString(),
        }),
      );
      return {
        status: response.status,
        body: JSON.parse(response.bodyAsText ?? '{}') as Record<string, unknown>,
      };
    };
    const ok = await post(assertion(certificate.privateKeyPem));
    expect(ok.status).toBe(200);
    expect(decodeToken(String(ok.body.access_token)).claims.appid).toBe(certClientId);

    const forged = await post(
      assertion(createSelfSignedCertificate({ commonName: 'forger' }).privateKeyPem),
    );
    expect(forged.status).toBe(401);
    expect(forged.body.error_codes).toEqual([700027]);
    const misaddressed = await post(
      assertion(certificate.privateKeyPem, 'https://login.microsoftonline.com/other/oauth2/token'),
    );
    expect(misaddressed.status).toBe(401);
  });

  describe('with ARM verifying the tokens', () => {
    let arm: ArmEmulator;
    beforeAll(async () => {
      arm = await startArmEmulator({
        tenantId: TENANT,
        verifyToken: (token) => {
          try {
            entra.tokenIssuer.verify(token, { audience: 'https://management.azure.com' });
            return true;
          } catch {
            return false;
          }
        },
      });
    });
    afterAll(async () => {
      await arm.stop();
    });

    it('lets ComputeManagementClient authenticate with a service principal end to end', async () => {
      const vm = arm.addVirtualMachine({
        subscriptionId: 'sub-1',
        resourceGroup: 'rg',
        name: 'vm0',
      });
      const credential = new ClientSecretCredential(
        TENANT,
        secretClientId,
        secret,
        credentialOptions(),
      );
      const client = new ComputeManagementClient(credential, 'sub-1', {
        endpoint: arm.url,
        ...azureClientTlsOptions(arm.certificateAuthority),
      });
      const got = await client.virtualMachines.get('rg', 'vm0');
      expect(got.id).toBe(vm.id);
    });
  });
});
