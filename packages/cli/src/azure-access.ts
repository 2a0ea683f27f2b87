import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type TlsSettings,
} from '@azure/core-rest-pipeline';
import { isSameResourceId, parseUserAssignedIdentityId } from '@pod-identity/core';
import { CliError } from './cli-error.js';

/** How the CLI reaches Azure Resource Manager. */
export interface AzureAccess {
  /** The credential for ARM (the administrator's; `DefaultAzureCredential` in the binary). */
  credential: TokenCredential;
  /** ARM's base URL. Default `https://management.azure.com`. */
  endpoint?: string;
  /** TLS settings for a private CA (the testkit's emulators). */
  tlsOptions?: TlsSettings;
  /**
   * Microsoft Entra's authority host, where `migrate` checks token exchanges. Default
   * `$AZURE_AUTHORITY_HOST`, else `https://login.microsoftonline.com`.
   */
  authorityHost?: string;
}

/** A scale set named by its parts. */
export interface ScaleSetRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** What ARM says about a user-assigned managed identity. */
export interface UserAssignedIdentityInfo {
  /** Its resource ID as ARM returns it. */
  id: string;
  /** The application (client) ID that tokens are requested with. */
  clientId: string;
  /** The service principal's object ID. */
  principalId: string;
}

const ARM_SCOPE = 'https://management.azure.com/.default';
const MANAGED_IDENTITY_API_VERSION = '2023-01-31';

/** The ARM base URL in use. */
export function armEndpoint(access: AzureAccess): string {
  return (access.endpoint ?? 'https://management.azure.com').replace(/\/+$/, '');
}

/**
 * Reads a user-assigned identity (`Microsoft.ManagedIdentity/userAssignedIdentities`) from ARM, as
 * `az aks pod-identity add` does to learn its client ID.
 *
 * @param resourceId - the identity's resource ID (already validated)
 * @param access - credential and endpoint
 * @param abortSignal - cancels the request
 * @throws {@link CliError} when ARM answers with an error or the answer lacks a client ID
 */
export async function readUserAssignedIdentity(
  resourceId: string,
  access: AzureAccess,
  abortSignal?: AbortSignal,
): Promise<UserAssignedIdentityInfo> {
  const { id } = parseUserAssignedIdentityId(resourceId);
  const pipeline = createPipelineFromOptions(
    access.tlsOptions === undefined ? {} : { tlsOptions: access.tlsOptions },
  );
  pipeline.addPolicy(
    bearerTokenAuthenticationPolicy({ credential: access.credential, scopes: ARM_SCOPE }),
  );
  const request = createPipelineRequest({
    url: `${armEndpoint(access)}${id}?api-version=${MANAGED_IDENTITY_API_VERSION}`,
    method: 'GET',
    headers: createHttpHeaders({ Accept: 'application/json' }),
    ...(abortSignal === undefined ? {} : { abortSignal }),
  });
  let response;
  try {
    response = await pipeline.sendRequest(createDefaultHttpClient(), request);
  } catch (error) {
    throw new CliError(
      `read identity ${id} from ARM at ${armEndpoint(access)}: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'check your Azure login (az login, or the AZURE_* environment variables)',
      },
    );
  }
  const body = parseJson(response.bodyAsText ?? '');
  if (response.status === 404) {
    throw new CliError(`identity ${id} not found in ARM`, {
      hint: 'create it first: az identity create',
    });
  }
  if (response.status !== 200) {
    throw new CliError(
      `read identity ${id} from ARM: ${armErrorMessage(body)} (HTTP ${response.status})`,
    );
  }
  const properties = (
    body as { properties?: { clientId?: unknown; principalId?: unknown } } | undefined
  )?.properties;
  if (typeof properties?.clientId !== 'string' || properties.clientId === '') {
    throw new CliError(`ARM returned identity ${id} without a client ID`);
  }
  return {
    id: typeof (body as { id?: unknown }).id === 'string' ? (body as { id: string }).id : id,
    clientId: properties.clientId,
    principalId: typeof properties.principalId === 'string' ? properties.principalId : '',
  };
}

/**
 * The user-assigned identities on a scale set, as ARM reports them.
 * @throws {@link CliError} on an ARM error
 */
export async function scaleSetIdentities(
  scaleSet: ScaleSetRef,
  access: AzureAccess,
  abortSignal?: AbortSignal,
): Promise<string[]> {
  const client = computeClient(scaleSet.subscriptionId, access);
  try {
    const vmss = await client.virtualMachineScaleSets.get(
      scaleSet.resourceGroup,
      scaleSet.name,
      abortSignal === undefined ? {} : { abortSignal },
    );
    return Object.keys(vmss.identity?.userAssignedIdentities ?? {});
  } catch (error) {
    throw armFailure(`read scale set ${scaleSet.resourceGroup}/${scaleSet.name}`, error);
  }
}

/**
 * Adds (`assign: true`) or removes a user-assigned identity on a scale set with one PATCH, keeping
 * every other identity (ARM merges `userAssignedIdentities`; `null` removes one key). Does nothing
 * when the scale set already has (or lacks) it.
 *
 * @returns whether a PATCH was sent
 * @throws {@link CliError} on an ARM error (e.g. the caller may not assign the identity)
 */
export async function setScaleSetIdentity(
  scaleSet: ScaleSetRef,
  identityId: string,
  assign: boolean,
  access: AzureAccess,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  const client = computeClient(scaleSet.subscriptionId, access);
  const what = `${assign ? 'assign' : 'remove'} identity on scale set ${scaleSet.resourceGroup}/${scaleSet.name}`;
  try {
    const options = abortSignal === undefined ? {} : { abortSignal };
    const vmss = await client.virtualMachineScaleSets.get(
      scaleSet.resourceGroup,
      scaleSet.name,
      options,
    );
    const current = Object.keys(vmss.identity?.userAssignedIdentities ?? {});
    const present = current.find((id) => isSameResourceId(id, identityId));
    if (assign === (present !== undefined)) return false;
    const systemAssigned = /SystemAssigned/i.test(vmss.identity?.type ?? '');
    const remaining = assign ? current.length + 1 : current.length - 1;
    const type =
      remaining > 0
        ? systemAssigned
          ? 'SystemAssigned, UserAssigned'
          : 'UserAssigned'
        : systemAssigned
          ? 'SystemAssigned'
          : 'None';
    // `null` is ARM's way to remove one key of the map; the SDK's type does not admit it.
    const userAssignedIdentities = {
      [assign ? identityId : (present ?? identityId)]: assign ? {} : null,
    } as unknown as Record<string, object>;
    // The PATCH is a long-running operation; awaiting the poller waits for it to finish.
    await client.virtualMachineScaleSets.update(
      scaleSet.resourceGroup,
      scaleSet.name,
      { identity: { type, ...(remaining > 0 || !assign ? { userAssignedIdentities } : {}) } },
      { ...options, updateIntervalInMs: 50 },
    );
    return true;
  } catch (error) {
    throw armFailure(what, error);
  }
}

function computeClient(subscriptionId: string, access: AzureAccess): ComputeManagementClient {
  return new ComputeManagementClient(access.credential, subscriptionId, {
    endpoint: armEndpoint(access),
    ...(access.tlsOptions === undefined ? {} : { tlsOptions: access.tlsOptions }),
  });
}

function armFailure(what: string, error: unknown): CliError {
  const status = (error as { statusCode?: number }).statusCode;
  return new CliError(
    `${what}: ${(error as Error).message}${status === undefined ? '' : ` (HTTP ${status})`}`,
    { cause: error },
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function armErrorMessage(body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.message === 'string')
    return typeof error.code === 'string' ? `${error.code}: ${error.message}` : error.message;
  return 'unexpected answer';
}
