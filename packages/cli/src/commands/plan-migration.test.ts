import { describe, expect, test } from 'vitest';
import {
  FEDERATED_CREDENTIALS_PER_IDENTITY,
  federatedCredentialName,
  planMigration,
  type MigrationInput,
} from './plan-migration.js';

const ISSUER = 'https://oidc.example/cluster/';
const id = (name: string): string =>
  `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

function input(overrides: Partial<MigrationInput> = {}): MigrationInput {
  return {
    issuer: ISSUER,
    bindings: [
      { namespace: 'shop', name: 'cart-binding', azureIdentity: 'cart', selector: 'cart' },
    ],
    identities: [
      { namespace: 'shop', name: 'cart', type: 0, resourceId: id('cart'), clientId: 'c-1' },
    ],
    pods: [
      {
        namespace: 'shop',
        name: 'cart-a',
        labels: { aadpodidbinding: 'cart' },
        serviceAccountName: 'cart',
      },
      {
        namespace: 'shop',
        name: 'cart-b',
        labels: { aadpodidbinding: 'cart' },
        serviceAccountName: 'cart',
      },
      {
        namespace: 'shop',
        name: 'cart-job',
        labels: { aadpodidbinding: 'cart' },
        serviceAccountName: 'jobs',
      },
      {
        namespace: 'other',
        name: 'cart-x',
        labels: { aadpodidbinding: 'cart' },
        serviceAccountName: 'cart',
      },
    ],
    serviceAccounts: [{ namespace: 'shop', name: 'cart', annotations: {} }],
    credentials: new Map(),
    ...overrides,
  };
}

describe('planMigration', () => {
  test('one entry per service account of the binding`s pods, in its namespace', () => {
    const plan = planMigration(input());
    expect(plan.problems).toEqual([]);
    expect(
      plan.entries.map((e) => [e.serviceAccount.name, e.pods, e.subject, e.credential]),
    ).toEqual([
      [
        'cart',
        ['cart-a', 'cart-b'],
        'system:serviceaccount:shop:cart',
        { name: 'pod-identity-shop-cart', action: 'create' },
      ],
      [
        'jobs',
        ['cart-job'],
        'system:serviceaccount:shop:jobs',
        { name: 'pod-identity-shop-jobs', action: 'create' },
      ],
    ]);
    expect(plan.entries.every((e) => e.annotate && e.clientId === 'c-1')).toBe(true);
  });

  test('a credential with the same issuer and subject is reused, and an annotation naming the identity kept', () => {
    const plan = planMigration(
      input({
        credentials: new Map([
          [
            id('cart').toLowerCase(),
            [{ name: 'mine', issuer: ISSUER, subject: 'system:serviceaccount:shop:cart' }],
          ],
        ]),
        serviceAccounts: [
          {
            namespace: 'shop',
            name: 'cart',
            annotations: { 'azure.workload.identity/client-id': 'C-1' },
          },
        ],
      }),
    );
    const cart = plan.entries.find((e) => e.serviceAccount.name === 'cart');
    expect(cart?.credential).toEqual({ name: 'mine', action: 'exists' });
    expect(cart?.annotate).toBe(false);
  });

  test('a credential of another issuer does not count as present', () => {
    const plan = planMigration(
      input({
        credentials: new Map([
          [
            id('cart').toLowerCase(),
            [
              {
                name: 'old',
                issuer: 'https://elsewhere/',
                subject: 'system:serviceaccount:shop:cart',
              },
            ],
          ],
        ]),
      }),
    );
    expect(plan.entries[0]?.credential.action).toBe('create');
  });

  test('a service account federated to another identity is a problem', () => {
    const plan = planMigration(
      input({
        serviceAccounts: [
          {
            namespace: 'shop',
            name: 'cart',
            annotations: { 'azure.workload.identity/client-id': 'other' },
          },
        ],
      }),
    );
    expect(plan.problems).toEqual([
      expect.stringContaining('already federated to client id other'),
    ]);
  });

  test('a service account wanted by two identities is a problem', () => {
    const plan = planMigration(
      input({
        bindings: [
          { namespace: 'shop', name: 'a', azureIdentity: 'cart', selector: 'cart' },
          { namespace: 'shop', name: 'b', azureIdentity: 'pay', selector: 'pay' },
        ],
        identities: [
          { namespace: 'shop', name: 'cart', type: 0, resourceId: id('cart'), clientId: 'c-1' },
          { namespace: 'shop', name: 'pay', type: 0, resourceId: id('pay'), clientId: 'c-2' },
        ],
        pods: [
          {
            namespace: 'shop',
            name: 'p1',
            labels: { aadpodidbinding: 'cart' },
            serviceAccountName: 'shared',
          },
          {
            namespace: 'shop',
            name: 'p2',
            labels: { aadpodidbinding: 'pay' },
            serviceAccountName: 'shared',
          },
        ],
      }),
    );
    expect(plan.problems).toEqual([
      expect.stringContaining('service account shop/shared is used by pods of two identities'),
    ]);
  });

  test(`more than ${String(FEDERATED_CREDENTIALS_PER_IDENTITY)} credentials on one identity is a problem naming the limit`, () => {
    const existing = Array.from({ length: 19 }, (_, i) => ({
      name: `c${String(i)}`,
      issuer: ISSUER,
      subject: `s${String(i)}`,
    }));
    const plan = planMigration(
      input({ credentials: new Map([[id('cart').toLowerCase(), existing]]) }),
    );
    expect(plan.problems).toEqual([
      expect.stringMatching(
        /would need 21 federated identity credentials \(19 exist, 2 to create\); Azure allows 20/,
      ),
    ]);
    const fits = planMigration(
      input({ credentials: new Map([[id('cart').toLowerCase(), existing.slice(1)]]) }),
    );
    expect(fits.problems).toEqual([]);
  });

  test('service principals, missing identities and bindings without pods are skipped with a reason', () => {
    const plan = planMigration(
      input({
        bindings: [
          { namespace: 'shop', name: 'sp', azureIdentity: 'sp', selector: 'sp' },
          { namespace: 'shop', name: 'gone', azureIdentity: 'nope', selector: 'x' },
          { namespace: 'shop', name: 'idle', azureIdentity: 'cart', selector: 'idle' },
        ],
        identities: [
          { namespace: 'shop', name: 'sp', type: 1, resourceId: undefined, clientId: 'c-9' },
          { namespace: 'shop', name: 'cart', type: 0, resourceId: id('cart'), clientId: 'c-1' },
        ],
      }),
    );
    expect(plan.entries).toEqual([]);
    expect(plan.skipped.map((s) => s.binding)).toEqual(['shop/gone', 'shop/idle', 'shop/sp']);
  });

  test('credential names fit Azure`s rule, long ones stay distinct', () => {
    const long = 'a'.repeat(200);
    const name = federatedCredentialName('ns', long);
    expect(name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$/);
    expect(federatedCredentialName('ns', `${long}b`)).not.toBe(name);
    expect(federatedCredentialName('my.ns', 'sa.x')).toBe('pod-identity-my-ns-sa-x');
  });
});
