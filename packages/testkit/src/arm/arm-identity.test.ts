import { describe, expect, it } from 'vitest';
import {
  ArmHttpError,
  applyIdentityPatch,
  identityToJson,
  newSystemIdentity,
  parseIdentityPatch,
  parseIdentityType,
} from './arm-identity.js';
import type { ResourceIdentityState } from './arm-identity.js';

const id = (name: string): string =>
  `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const existing = new Set([id('a'), id('b')].map((value) => value.toLowerCase()));
const resolve = (resourceId: string) =>
  existing.has(resourceId.toLowerCase())
    ? {
        clientId: `client-${resourceId.slice(-1)}`,
        principalId: `principal-${resourceId.slice(-1)}`,
      }
    : undefined;

const state = (system: boolean, ...user: string[]): ResourceIdentityState => ({
  system: system ? newSystemIdentity() : undefined,
  user: new Map(
    user.map((resourceId) => [
      resourceId.toLowerCase(),
      { resourceId, clientId: 'c', principalId: 'p' },
    ]),
  ),
});

const patch = (identity: unknown) => {
  const parsed = parseIdentityPatch(identity);
  if (!parsed) throw new Error('expected a patch');
  return parsed;
};

describe('applyIdentityPatch', () => {
  it('adds with {} and removes with null, comparing ids case-insensitively and keeping the first spelling', () => {
    const current = state(false, id('a'));
    applyIdentityPatch(
      current,
      patch({
        type: 'UserAssigned',
        userAssignedIdentities: { [id('A').toUpperCase()]: {}, [id('b')]: {} },
      }),
      resolve,
    );
    expect([...current.user.values()].map((value) => value.resourceId)).toEqual([id('a'), id('b')]);
    applyIdentityPatch(
      current,
      patch({ type: 'UserAssigned', userAssignedIdentities: { [id('a').toLowerCase()]: null } }),
      resolve,
    );
    expect([...current.user.values()].map((value) => value.resourceId)).toEqual([id('b')]);
  });

  it('keeps the system-assigned identity only when the type names it (ARM takes the type literally)', () => {
    const current = state(true);
    const principal = current.system?.principalId;
    applyIdentityPatch(
      current,
      patch({ type: 'SystemAssigned,UserAssigned', userAssignedIdentities: { [id('a')]: {} } }),
      resolve,
    );
    expect(current.system?.principalId).toBe(principal);
    expect(identityToJson(current, 't')?.type).toBe('SystemAssigned, UserAssigned');
    applyIdentityPatch(
      current,
      patch({ type: 'UserAssigned', userAssignedIdentities: { [id('b')]: {} } }),
      resolve,
    );
    expect(current.system).toBeUndefined();
    applyIdentityPatch(
      current,
      patch({ type: 'None', userAssignedIdentities: { [id('a')]: null, [id('b')]: null } }),
      resolve,
    );
    expect(identityToJson(current, 't')).toBeUndefined();
  });

  it('clears user-assigned identities for SystemAssigned, and refuses UserAssigned with none left', () => {
    const current = state(true, id('a'));
    applyIdentityPatch(
      current,
      patch({ type: 'SystemAssigned', userAssignedIdentities: { [id('a')]: null } }),
      resolve,
    );
    expect(current.user.size).toBe(0);
    expect(current.system).toBeDefined();
    const onlyUser = state(false, id('a'));
    expect(() =>
      applyIdentityPatch(
        onlyUser,
        patch({ type: 'UserAssigned', userAssignedIdentities: { [id('a')]: null } }),
        resolve,
      ),
    ).toThrow(ArmHttpError);
    expect(onlyUser.user.size).toBe(1);
  });

  it('reports identities that do not exist and changes nothing', () => {
    const current = state(false);
    const result = applyIdentityPatch(
      current,
      patch({ type: 'UserAssigned', userAssignedIdentities: { [id('ghost')]: {}, [id('a')]: {} } }),
      resolve,
    );
    expect(result.missing).toEqual([id('ghost')]);
    expect(current.user.size).toBe(0);
  });

  it('rejects malformed types and keys with ARM error codes', () => {
    expect(() => parseIdentityType('Bogus')).toThrow(ArmHttpError);
    expect(parseIdentityType('userassigned, systemassigned')).toBe('SystemAssigned, UserAssigned');
    expect(() =>
      parseIdentityPatch({ type: 'UserAssigned', userAssignedIdentities: { 'not-an-id': {} } }),
    ).toThrow(/InvalidIdentityValues|Invalid value/);
    expect(() =>
      parseIdentityPatch({ type: 'UserAssigned', userAssignedIdentities: { [id('a')]: 'x' } }),
    ).toThrow(ArmHttpError);
  });
});
