import { describe, expect, it } from 'vitest';
import {
  CloudConfigError,
  cloudConfigFromEnv,
  cloudEndpoints,
  parseCloudConfig,
} from './cloud-config.js';

describe('parseCloudConfig', () => {
  it('reads the exact, case-sensitive keys of azure.json', () => {
    const config = parseCloudConfig(
      JSON.stringify({
        cloud: 'AzurePublicCloud',
        tenantId: 't',
        aadClientId: 'c',
        aadClientSecret: 's',
        subscriptionId: 'sub',
        resourceGroup: 'MC_rg',
        vmType: 'vmss',
        useManagedIdentityExtension: true,
        userAssignedIdentityID: 'kubelet-client-id',
        TenantID: 'ignored: wrong case',
      }),
    );
    expect(config).toEqual({
      cloud: 'AzurePublicCloud',
      tenantId: 't',
      aadClientId: 'c',
      aadClientSecret: 's',
      subscriptionId: 'sub',
      resourceGroup: 'MC_rg',
      vmType: 'vmss',
      useManagedIdentityExtension: true,
      userAssignedIdentityID: 'kubelet-client-id',
    });
  });

  it('refuses a malformed file with a message naming the problem', () => {
    expect(() => parseCloudConfig('{"tenantId": ', '/etc/kubernetes/azure.json')).toThrow(
      /azure\.json is not valid JSON or YAML/,
    );
    expect(() => parseCloudConfig('[1,2]')).toThrow(CloudConfigError);
    expect(() => parseCloudConfig('{"useManagedIdentityExtension": "yes"}')).toThrow(
      /useManagedIdentityExtension must be a boolean/,
    );
    expect(() => parseCloudConfig('{"subscriptionId": 42}')).toThrow(
      /subscriptionId must be a string/,
    );
  });
});

describe('cloudConfigFromEnv', () => {
  it('maps the environment variables of the chart, USE_MSI case-insensitively', () => {
    expect(
      cloudConfigFromEnv({
        CLOUD: 'AzureChinaCloud',
        TENANT_ID: 't',
        CLIENT_ID: 'c',
        CLIENT_SECRET: 's',
        SUBSCRIPTION_ID: 'sub',
        RESOURCE_GROUP: 'rg',
        VM_TYPE: 'standard',
        USE_MSI: 'TRUE',
        USER_ASSIGNED_MSI_CLIENT_ID: 'u',
      }),
    ).toEqual({
      cloud: 'AzureChinaCloud',
      tenantId: 't',
      aadClientId: 'c',
      aadClientSecret: 's',
      subscriptionId: 'sub',
      resourceGroup: 'rg',
      vmType: 'standard',
      useManagedIdentityExtension: true,
      userAssignedIdentityID: 'u',
    });
  });
});

describe('cloudEndpoints', () => {
  it('knows the clouds by their case-insensitive names and refuses others', () => {
    expect(cloudEndpoints('azurechinacloud').arm).toBe('https://management.chinacloudapi.cn');
    expect(cloudEndpoints('').arm).toBe('https://management.azure.com');
    expect(() => cloudEndpoints('MarsCloud')).toThrow(/unknown cloud "MarsCloud"/);
  });
});
