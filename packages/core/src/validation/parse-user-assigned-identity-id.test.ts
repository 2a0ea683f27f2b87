import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { parseUserAssignedIdentityId } from './parse-user-assigned-identity-id.js';

const SUB = '00000000-1111-2222-3333-444444444444';
const CANONICAL = `/subscriptions/${SUB}/resourceGroups/my-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-id`;

describe('parseUserAssignedIdentityId', () => {
  it('splits a canonical ID into subscription, resource group and name', () => {
    expect(parseUserAssignedIdentityId(CANONICAL)).toEqual({
      subscriptionId: SUB,
      resourceGroup: 'my-rg',
      name: 'demo-id',
      id: CANONICAL,
    });
  });

  it('matches the fixed segments case-insensitively, as ARM does, and canonicalises them', () => {
    // The original's docs write `resourcegroups`; ARM returns lower-cased IDs from a VMSS.
    const lower = `/subscriptions/${SUB}/resourcegroups/My-RG/providers/microsoft.managedidentity/userassignedidentities/Demo-Id`;
    const parsed = parseUserAssignedIdentityId(lower);
    expect(parsed).toEqual({
      subscriptionId: SUB,
      resourceGroup: 'My-RG',
      name: 'Demo-Id',
      id: `/subscriptions/${SUB}/resourceGroups/My-RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Demo-Id`,
    });
    expect(parseUserAssignedIdentityId(lower.toUpperCase()).name).toBe('DEMO-ID');
  });

  it.each([
    ['empty', '', 'it is empty'],
    ['a trailing slash', `${CANONICAL}/`, "must not end with '/'"],
    ['an extra segment', `${CANONICAL}/extra`, '9 segments'],
    ['a missing name', CANONICAL.replace('/demo-id', ''), '7 segments'],
    ['no leading slash', CANONICAL.slice(1), "must start with '/'"],
    ['an empty resource group', CANONICAL.replace('my-rg', ''), 'must not be empty'],
    ['whitespace', ` ${CANONICAL}`, 'whitespace'],
    [
      'another resource type',
      CANONICAL.replace('userAssignedIdentities', 'virtualMachines'),
      '"virtualMachines"',
    ],
    [
      'another provider',
      CANONICAL.replace('Microsoft.ManagedIdentity', 'Microsoft.Compute'),
      '"Microsoft.Compute"',
    ],
    ['a URL', `https://management.azure.com${CANONICAL}`, "must start with '/'"],
  ])('rejects %s, naming the field', (_what, id, message) => {
    let error: unknown;
    try {
      parseUserAssignedIdentityId(id);
    } catch (caught) {
      error = caught;
    }
    expect(ValidationError.is(error)).toBe(true);
    const validation = error as ValidationError;
    expect(validation.field).toBe('spec.resourceID');
    expect(validation.message).toContain(message);
    expect(validation.message).toMatch(/^spec\.resourceID: /);
  });

  it('reports the field it is given', () => {
    expect(() =>
      parseUserAssignedIdentityId('nope', 'spec.azureIdentityRef.spec.resourceID'),
    ).toThrow(
      /^spec\.azureIdentityRef\.spec\.resourceID: "nope" is not a user-assigned identity resource ID/,
    );
  });
});
