import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { TokenCredential } from '@azure/core-auth';
import { runCli } from '@pod-identity/cli';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pod-identity migrate` against the sandbox: the Kubernetes emulator (its own service-account
// issuer), ARM's federated identity credentials through @azure/arm-msi, and Entra honouring what ARM
// holds when the CLI checks the exchange.
let sandbox: Sandbox;
const admin: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'admin', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    kubeConfig: sandbox.kubeConfig,
    azure: {
      credential: admin,
      endpoint: sandbox.endpoints.arm,
      tlsOptions: sandbox.azureClientOptions.tlsOptions,
      authorityHost: sandbox.endpoints.entra,
    },
  });
  return { code, stdout, stderr };
}

const store = () => sandbox.kubernetes.store;

function serviceAccount(namespace: string, name: string) {
  return store().get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace, name });
}

function podLabels(namespace: string, name: string): Record<string, string> {
  const pod = store().get({ apiVersion: 'v1', kind: 'Pod', namespace, name });
  return (pod?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
}

function bindingExists(namespace: string, name: string): boolean {
  return (
    store().get({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentityBinding',
      namespace,
      name,
    }) !== undefined
  );
}

function podIdentity(
  namespace: string,
  name: string,
  identityName: string,
  selector: string,
): void {
  const identity = sandbox.identities.get(identityName)!;
  store().put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { namespace, name },
    spec: { type: 0, resourceID: identity.id, clientID: identity.clientId },
  });
  store().put({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { namespace, name: `${name}-binding` },
    spec: { azureIdentity: name, selector },
  });
}

beforeAll(async () => {
  sandbox = await startSandbox({
    nodeCount: 1,
    identities: ['shop-id', 'crowded-id'],
    federated: true,
  });
  const node = sandbox.nodes[0]!;
  for (const name of ['shop', 'crowded'])
    store().put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const name of ['cart', 'jobs'])
    store().put({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { namespace: 'shop', name },
    });
  podIdentity('shop', 'shop-identity', 'shop-id', 'shop');
  sandbox.createPod({
    namespace: 'shop',
    name: 'cart-1',
    nodeName: node.name,
    serviceAccountName: 'cart',
    labels: { aadpodidbinding: 'shop' },
  });
  sandbox.createPod({
    namespace: 'shop',
    name: 'cart-2',
    nodeName: node.name,
    serviceAccountName: 'cart',
    labels: { aadpodidbinding: 'shop' },
  });
  sandbox.createPod({
    namespace: 'shop',
    name: 'job-1',
    nodeName: node.name,
    serviceAccountName: 'jobs',
    labels: { aadpodidbinding: 'shop' },
  });
  // An identity with 19 credentials already: its two service accounts would make 21.
  podIdentity('crowded', 'crowded-identity', 'crowded-id', 'crowded');
  // Written through ARM with the real client, as an administrator would have.
  const msi = new ManagedServiceIdentityClient(admin, sandbox.subscriptionId, {
    endpoint: sandbox.endpoints.arm,
    ...sandbox.azureClientOptions,
  });
  for (let i = 0; i < 19; i += 1)
    await msi.federatedIdentityCredentials.createOrUpdate(
      sandbox.resourceGroup,
      'crowded-id',
      `existing-${String(i)}`,
      {
        issuer: 'https://oidc.example/elsewhere/',
        subject: `system:serviceaccount:elsewhere:sa-${String(i)}`,
        audiences: ['api://AzureADTokenExchange'],
      },
    );
  for (const name of ['a', 'b']) {
    store().put({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { namespace: 'crowded', name },
    });
    sandbox.createPod({
      namespace: 'crowded',
      name: `pod-${name}`,
      nodeName: node.name,
      serviceAccountName: name,
      labels: { aadpodidbinding: 'crowded' },
    });
  }
}, 120_000);

afterAll(async () => {
  await sandbox.stop();
});

describe('pod-identity migrate', { timeout: 60_000 }, () => {
  it('plans one federated credential per service account, as a table and as JSON, changing nothing', async () => {
    const table = await cli('migrate', 'plan', '-n', 'shop');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`OIDC issuer: ${sandbox.oidcIssuerUrl}`);
    expect(table.stdout).toMatch(
      /shop\/shop-identity-binding\s+shop\/shop-identity\s+\S+\s+shop\/cart\s+cart-1,cart-2\s+pod-identity-shop-cart \(create\)\s+add/,
    );
    const json = await cli('migrate', 'plan', '-n', 'shop', '-o', 'json');
    const plan = JSON.parse(json.stdout) as {
      entries: { subject: string; credential: { action: string } }[];
      problems: string[];
    };
    expect(plan.entries.map((e) => e.subject)).toEqual([
      'system:serviceaccount:shop:cart',
      'system:serviceaccount:shop:jobs',
    ]);
    expect(plan.problems).toEqual([]);
    expect(
      sandbox.arm.listFederatedIdentityCredentials(sandbox.identities.get('shop-id')!.id),
    ).toEqual([]);
  });

  it('refuses to apply past 20 federated credentials on one identity, naming the limit, and changes nothing', async () => {
    const refused = await cli('migrate', 'apply', '-n', 'crowded');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'would need 21 federated identity credentials (19 exist, 2 to create); Azure allows 20',
    );
    expect(podLabels('crowded', 'pod-a')['azure.workload.identity/use']).toBeUndefined();
    expect(
      sandbox.arm.listFederatedIdentityCredentials(sandbox.identities.get('crowded-id')!.id),
    ).toHaveLength(19);
  });

  it('keeps every binding when Entra does not accept the tokens (a wrong issuer), and says why', async () => {
    const failed = await cli(
      'migrate',
      'apply',
      '-n',
      'shop',
      '--oidc-issuer',
      'https://oidc.example.invalid/other/',
      '--remove-bindings',
      '--verify-timeout',
      '0',
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('AADSTS700211');
    expect(bindingExists('shop', 'shop-identity-binding')).toBe(true);
    const rolledBack = await cli('migrate', 'rollback', '-n', 'shop');
    expect(rolledBack.code).toBe(0);
    expect(
      sandbox.arm.listFederatedIdentityCredentials(sandbox.identities.get('shop-id')!.id),
    ).toEqual([]);
    expect(podLabels('shop', 'cart-1')['azure.workload.identity/use']).toBeUndefined();
  });

  it('applies: credentials in ARM, annotated service accounts, labelled pods, Entra checked, then the binding removed', async () => {
    const dryRun = await cli('migrate', 'apply', '-n', 'shop', '--dry-run');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stderr).toContain('dry run: nothing was changed');
    expect(podLabels('shop', 'cart-1')['azure.workload.identity/use']).toBeUndefined();

    const applied = await cli('migrate', 'apply', '-n', 'shop', '--remove-bindings');
    expect(applied.code, applied.stderr).toBe(0);
    const identity = sandbox.identities.get('shop-id')!;
    expect(
      sandbox.arm
        .listFederatedIdentityCredentials(identity.id)
        ?.map((c) => [c.name, c.issuer, c.subject, c.audiences]),
    ).toEqual([
      [
        'pod-identity-shop-cart',
        sandbox.oidcIssuerUrl,
        'system:serviceaccount:shop:cart',
        ['api://AzureADTokenExchange'],
      ],
      [
        'pod-identity-shop-jobs',
        sandbox.oidcIssuerUrl,
        'system:serviceaccount:shop:jobs',
        ['api://AzureADTokenExchange'],
      ],
    ]);
    const annotations = (
      serviceAccount('shop', 'cart')?.metadata as { annotations: Record<string, string> }
    ).annotations;
    expect(annotations['azure.workload.identity/client-id']).toBe(identity.clientId);
    expect(annotations['azure.workload.identity/tenant-id']).toBe(sandbox.tenantId);
    for (const pod of ['cart-1', 'cart-2', 'job-1'])
      expect(podLabels('shop', pod)['azure.workload.identity/use']).toBe('true');
    expect(applied.stdout).toMatch(/shop\/shop-identity-binding\s+shop\/cart\s+\S+\s+yes\s+yes/);
    expect(bindingExists('shop', 'shop-identity-binding')).toBe(false);
    // Entra answered the CLI's check for each service account with a token of the identity.
    expect(
      sandbox.entra.requestLog().filter((r) => r.kind === 'federated' && r.status === 200).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('plans nothing more for a migrated namespace', async () => {
    const plan = JSON.parse((await cli('migrate', 'plan', '-n', 'shop', '-o', 'json')).stdout) as {
      entries: unknown[];
      skipped: { binding: string }[];
    };
    expect(plan.entries).toEqual([]);
  });

  it('rolls back exactly what apply did: the binding again, no labels, annotations or credentials', async () => {
    const dryRun = await cli('migrate', 'rollback', '-n', 'shop', '--dry-run');
    expect(dryRun.stdout).toContain('recreate AzureIdentityBinding shop/shop-identity-binding');
    expect(bindingExists('shop', 'shop-identity-binding')).toBe(false);
    const rolledBack = await cli('migrate', 'rollback', '-n', 'shop');
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    expect(bindingExists('shop', 'shop-identity-binding')).toBe(true);
    for (const pod of ['cart-1', 'cart-2', 'job-1'])
      expect(podLabels('shop', pod)['azure.workload.identity/use']).toBeUndefined();
    const annotations =
      (serviceAccount('shop', 'cart')?.metadata as { annotations?: Record<string, string> })
        .annotations ?? {};
    expect(
      Object.keys(annotations).filter(
        (key) => key.startsWith('azure.workload.identity') || key.startsWith('pod-identity'),
      ),
    ).toEqual([]);
    expect(
      sandbox.arm.listFederatedIdentityCredentials(sandbox.identities.get('shop-id')!.id),
    ).toEqual([]);
  });
});
