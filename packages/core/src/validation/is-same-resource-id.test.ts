import { describe, expect, it } from 'vitest';
import { isSameResourceId } from './is-same-resource-id.js';

const ID =
  '/subscriptions/s/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id1';

describe('isSameResourceId', () => {
  it('treats IDs that differ only in case as the same resource, as ARM does', () => {
    expect(isSameResourceId(ID, ID.toLowerCase())).toBe(true);
    expect(isSameResourceId(ID.toUpperCase(), ID)).toBe(true);
  });

  it('tells different resources apart', () => {
    expect(isSameResourceId(ID, ID.replace('Id1', 'Id2'))).toBe(false);
    expect(isSameResourceId(ID, `${ID}/`)).toBe(false);
  });
});
