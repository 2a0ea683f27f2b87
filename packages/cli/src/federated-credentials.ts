import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { ClientAssertionCredential } from '@azure/identity';
import { parseUserAssignedIdentityId } from '@pod-identity/core';
import { armEndpoint, type AzureAccess } from './azure-access.js';
import { CliError } from './cli-error.js';
import type { ExistingCredential } from './commands/plan-migration.js';
import { EXCHANGE_AUDIENCE } from './commands/plan-migration.js';

/** The federated identity credentials of user-assigned identities, through ARM (`@azure/arm-msi`). */
export interface FederatedCredentialsApi {
  /** The credentials of an identity. */
  list(identityResourceId: string): Promise<ExistingCredential[]>;
  /** Creates (or updates) one credential for the token-exchange audience. */
  create(identityResourceId: string, name: string, issuer: string, subject: string): Promise<void>;
  /** Deletes one; `false` when it did not exist. */
  remove(identityResourceId: string, name: string): Promise<boolean>;
  /** The tenant the identity belongs to. */
  tenantOf(identityResourceId: string): Promise<string>;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

function armFailure(what: string, error: unknown): CliError {
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(
    `${what}: ${message}${status === undefined ? '' : ` (HTTP ${String(status)})`}`,
    {
      cause: error,
      ...(status === 401 || status === 403
        ? { hint: 'the Azure credential needs Managed Identity Contributor on the identity' }
        : {}),
    },
  );
}

/**
 * {@link FederatedCredentialsApi} on `@azure/arm-msi`'s `ManagedServiceIdentityClient`, one client per
 * subscription.
 * @param access - credential, endpoint, TLS
 * @param abortSignal - cancels the calls
 */
export function createFederatedCredentialsApi(
  access: AzureAccess,
  abortSignal?: AbortSignal,
): FederatedCredentialsApi {
  const clients = new Map<string, ManagedServiceIdentityClient>();
  const clientFor = (identityResourceId: string) => {
    const id = parseUserAssignedIdentityId(identityResourceId);
    let client = clients.get(id.subscriptionId.toLowerCase());
    if (client === undefined) {
      client = new ManagedServiceIdentityClient(access.credential, id.subscriptionId, {
        endpoint: armEndpoint(access),
        // The token is for ARM whatever endpoint reaches it (the client would ask for `<endpoint>/.default`).
        credentialScopes: ['https://management.azure.com/.default'],
        ...(access.tlsOptions === undefined ? {} : { tlsOptions: access.tlsOptions }),
      });
      clients.set(id.subscriptionId.toLowerCase(), client);
    }
    return { client, id };
  };
  const options = abortSignal === undefined ? {} : { abortSignal };
  return {
    async list(identityResourceId) {
      const { client, id } = clientFor(identityResourceId);
      const found: ExistingCredential[] = [];
      try {
        for await (const credential of client.federatedIdentityCredentials.list(
          id.resourceGroup,
          id.name,
          options,
        )) {
          found.push({
            name: credential.name ?? '',
            issuer: credential.issuer ?? '',
            subject: credential.subject ?? '',
          });
        }
      } catch (error) {
        throw armFailure(`list the federated credentials of ${id.name}`, error);
      }
      return found;
    },
    async create(identityResourceId, name, issuer, subject) {
      const { client, id } = clientFor(identityResourceId);
      try {
        await client.federatedIdentityCredentials.createOrUpdate(
          id.resourceGroup,
          id.name,
          name,
          { issuer, subject, audiences: [EXCHANGE_AUDIENCE] },
          options,
        );
      } catch (error) {
        throw armFailure(`create federated credential ${name} on ${id.name}`, error);
      }
    },
    async remove(identityResourceId, name) {
      const { client, id } = clientFor(identityResourceId);
      try {
        await client.federatedIdentityCredentials.delete(id.resourceGroup, id.name, name, options);
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw armFailure(`delete federated credential ${name} of ${id.name}`, error);
      }
    },
    async tenantOf(identityResourceId) {
      const { client, id } = clientFor(identityResourceId);
      try {
        const identity = await client.userAssignedIdentities.get(
          id.resourceGroup,
          id.name,
          options,
        );
        if (identity.tenantId === undefined) throw new Error('ARM returned no tenantId');
        return identity.tenantId;
      } catch (error) {
        throw armFailure(`read identity ${id.name}`, error);
      }
    },
  };
}

/** Where `migrate` checks that Entra accepts a service account's token for an identity. */
export interface ExchangeCheck {
  /** Entra's authority host; default `https://login.microsoftonline.com`. */
  readonly authorityHost?: string;
  /** TLS settings for a private CA (the testkit's Entra). */
  readonly tlsOptions?: AzureAccess['tlsOptions'];
}

/**
 * Exchanges a service-account token at Entra for an ARM token of the identity: what NMI does for the
 * pod, done once by the administrator before a binding is removed, so that no binding goes before
 * its pods can be served by federation (federated credentials take a moment to be honoured).
 * @returns `undefined` when Entra issued a token, else Entra's reason
 */
export async function checkExchange(
  check: ExchangeCheck,
  tenantId: string,
  clientId: string,
  assertion: string,
): Promise<string | undefined> {
  const authorityHost = check.authorityHost ?? 'https://login.microsoftonline.com';
  const credential = new ClientAssertionCredential(
    tenantId,
    clientId,
    () => Promise.resolve(assertion),
    {
      authorityHost,
      // Instance discovery asks the public cloud about the authority; a private one is used as given.
      disableInstanceDiscovery: authorityHost !== 'https://login.microsoftonline.com',
      retryOptions: { maxRetries: 1 },
      ...(check.tlsOptions === undefined ? {} : { tlsOptions: check.tlsOptions }),
    },
  );
  try {
    await credential.getToken('https://management.azure.com/.default');
    return undefined;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return /AADSTS\d+: [^\r\n]*/.exec(text)?.[0] ?? text.split('\n')[0];
  }
}
