import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { parseProviderId } from './parse-provider-id.js';

describe('parseProviderId', () => {
  it('reads a scale-set instance (the reference example)', () => {
    expect(
      parseProviderId(
        'azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss1/virtualMachines/0',
      ),
    ).toEqual({
      kind: 'vmss',
      subscriptionId: 's',
      resourceGroup: 'rg',
      scaleSet: 'vmss1',
      instanceId: '0',
    });
  });

  it('reads a plain virtual machine (the original test fakes’ default)', () => {
    expect(
      parseProviderId(
        'azure:///subscriptions/testSub/resourceGroups/fakeGroup/providers/Microsoft.Compute/virtualMachines/node-1',
      ),
    ).toEqual({
      kind: 'vm',
      subscriptionId: 'testSub',
      resourceGroup: 'fakeGroup',
      name: 'node-1',
    });
  });

  it('treats an empty provider ID as none', () => {
    expect(parseProviderId('')).toEqual({ kind: 'none' });
  });

  it('matches the scheme and fixed segments case-insensitively and keeps the values’ case', () => {
    expect(
      parseProviderId(
        'AZURE:///subscriptions/S/resourcegroups/MC_rg_aks_westeurope/providers/microsoft.compute/virtualmachinescalesets/aks-nodepool1-123-vmss/virtualmachines/12',
      ),
    ).toEqual({
      kind: 'vmss',
      subscriptionId: 'S',
      resourceGroup: 'MC_rg_aks_westeurope',
      scaleSet: 'aks-nodepool1-123-vmss',
      instanceId: '12',
    });
  });

  it.each([
    ['another cloud', 'kind://docker/kind/kind-control-plane', 'does not start with "azure://"'],
    ['AWS', 'aws:///us-east-1a/i-0123456789abcdef0', 'does not start with "azure://"'],
    [
      'two slashes only',
      'azure://subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm',
      "must start with '/'",
    ],
    [
      'a scale set without an instance',
      'azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss1',
      '/virtualMachines/{instance}',
    ],
    [
      'a VM with extra segments',
      'azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/x',
      '/virtualMachines/{name}',
    ],
    [
      'another resource provider',
      'azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.AzureStackHCI/virtualMachines/vm',
      'not Microsoft.Compute',
    ],
    [
      'another resource type',
      'azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d',
      '"disks" is neither',
    ],
    [
      'a trailing slash',
      'azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/',
      'empty segment',
    ],
    [
      'no resource group',
      'azure:///subscriptions/s/providers/Microsoft.Compute/virtualMachines/vm',
      'does not name a subscription',
    ],
    [
      'whitespace',
      ' azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm',
      'does not start with',
    ],
  ])('rejects %s with a clear error on spec.providerID', (_what, providerId, message) => {
    let error: unknown;
    try {
      parseProviderId(providerId);
    } catch (caught) {
      error = caught;
    }
    expect(ValidationError.is(error)).toBe(true);
    expect((error as ValidationError).field).toBe('spec.providerID');
    expect((error as ValidationError).message).toContain(message);
  });
});
