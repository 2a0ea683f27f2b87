import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { PodIdentityError } from '@pod-identity/core';

/** The keys of azure.json that MIC reads (`pkg/config/azureconfig.go`), with their exact names. */
export interface CloudConfig {
  cloud: string;
  tenantId: string;
  aadClientId: string;
  aadClientSecret: string;
  subscriptionId: string;
  /** The node resource group. */
  resourceGroup: string;
  /** Read for compatibility; the node type comes from each node's provider ID. */
  vmType: string;
  useManagedIdentityExtension: boolean;
  /** Client ID of the cluster's user-assigned identity; never removed from a scale set. */
  userAssignedIdentityID: string;
}

/** A malformed cloud configuration (azure.json or its environment variables). */
export class CloudConfigError extends PodIdentityError {
  override readonly name = 'CloudConfigError';
  readonly code = 'CONFIG_INVALID';
}

const STRING_KEYS = [
  'cloud',
  'tenantId',
  'aadClientId',
  'aadClientSecret',
  'subscriptionId',
  'resourceGroup',
  'vmType',
  'userAssignedIdentityID',
] as const;

/**
 * Parses azure.json. Like the original (yaml.v2), keys are exact and case-sensitive and the file may
 * be JSON or YAML; unknown keys are ignored (the file is shared with the cloud provider).
 * @param text - the file's contents
 * @param source - the path, for messages
 * @returns the configuration
 * @throws CloudConfigError when it is not an object or a known key has the wrong type
 */
export function parseCloudConfig(text: string, source = 'azure.json'): CloudConfig {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new CloudConfigError(`${source} is not valid JSON or YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CloudConfigError(`${source} must hold an object of settings`);
  }
  const record = value as Record<string, unknown>;
  const config: CloudConfig = {
    cloud: '',
    tenantId: '',
    aadClientId: '',
    aadClientSecret: '',
    subscriptionId: '',
    resourceGroup: '',
    vmType: '',
    useManagedIdentityExtension: false,
    userAssignedIdentityID: '',
  };
  for (const key of STRING_KEYS) {
    const v = record[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new CloudConfigError(`${source}: ${key} must be a string`);
    config[key] = v;
  }
  const msi = record.useManagedIdentityExtension;
  if (msi !== undefined && msi !== null) {
    if (typeof msi !== 'boolean')
      throw new CloudConfigError(`${source}: useManagedIdentityExtension must be a boolean`);
    config.useManagedIdentityExtension = msi;
  }
  return config;
}

/**
 * The configuration from environment variables, used when there is no `--cloudconfig`:
 * `CLOUD`, `TENANT_ID`, `CLIENT_ID`, `CLIENT_SECRET`, `SUBSCRIPTION_ID`, `RESOURCE_GROUP`, `VM_TYPE`,
 * `USE_MSI` (`true`, any case) and `USER_ASSIGNED_MSI_CLIENT_ID`.
 * @param env - the environment
 */
export function cloudConfigFromEnv(env: NodeJS.ProcessEnv): CloudConfig {
  return {
    cloud: env.CLOUD ?? '',
    tenantId: env.TENANT_ID ?? '',
    aadClientId: env.CLIENT_ID ?? '',
    aadClientSecret: env.CLIENT_SECRET ?? '',
    subscriptionId: env.SUBSCRIPTION_ID ?? '',
    resourceGroup: env.RESOURCE_GROUP ?? '',
    vmType: env.VM_TYPE ?? '',
    useManagedIdentityExtension: (env.USE_MSI ?? '').toLowerCase() === 'true',
    userAssignedIdentityID: env.USER_ASSIGNED_MSI_CLIENT_ID ?? '',
  };
}

/**
 * Reads the configuration from a file (`--cloudconfig`) or, without one, from the environment.
 * @param path - azure.json path, or `''`
 * @param env - the environment
 */
export async function loadCloudConfig(path: string, env: NodeJS.ProcessEnv): Promise<CloudConfig> {
  if (path === '') return cloudConfigFromEnv(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CloudConfigError(`cannot read cloud config ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseCloudConfig(text, path);
}

/** ARM endpoints of the clouds `azure.EnvironmentFromName` knows (case-insensitive names). */
const ARM_ENDPOINTS: Record<string, { arm: string; authority: string }> = {
  azurepubliccloud: {
    arm: 'https://management.azure.com',
    authority: 'https://login.microsoftonline.com',
  },
  azurecloud: {
    arm: 'https://management.azure.com',
    authority: 'https://login.microsoftonline.com',
  },
  azurechinacloud: {
    arm: 'https://management.chinacloudapi.cn',
    authority: 'https://login.chinacloudapi.cn',
  },
  azuregermancloud: {
    arm: 'https://management.microsoftazure.de',
    authority: 'https://login.microsoftonline.de',
  },
  azureusgovernmentcloud: {
    arm: 'https://management.usgovcloudapi.net',
    authority: 'https://login.microsoftonline.us',
  },
  azureusgovernment: {
    arm: 'https://management.usgovcloudapi.net',
    authority: 'https://login.microsoftonline.us',
  },
};

/**
 * The ARM endpoint and Entra authority of a cloud name. An empty name means the public cloud
 * (the original refused it; a missing `cloud` is common in hand-written configs).
 * @param cloud - azure.json `cloud`
 * @throws CloudConfigError for an unknown cloud
 */
export function cloudEndpoints(cloud: string): { arm: string; authority: string } {
  const found = ARM_ENDPOINTS[(cloud === '' ? 'AzurePublicCloud' : cloud).toLowerCase()];
  if (found === undefined) throw new CloudConfigError(`unknown cloud ${JSON.stringify(cloud)}`);
  return found;
}
