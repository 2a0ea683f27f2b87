/**
 * The CRD manifests the project ships (`deploy/crds/`, applied by the global setup) on a real
 * kube-apiserver: the kinds are served as the Go original served them, objects that violate the
 * structural schema are refused, and unknown fields (including the wrong-case names of pre-1.6
 * manifests) are pruned.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectRealCluster, type KubeResponse, type RealCluster } from './harness.ts';

const group = '/apis/aadpodidentity.k8s.io/v1';
let cluster: RealCluster;
const ns = `crds-${randomBytes(3).toString('hex')}`;

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

function create(resource: string, body: unknown, query = ''): Promise<KubeResponse> {
  return cluster.request('POST', `${group}/namespaces/${ns}/${resource}${query}`, { body });
}

function identity(
  name: string,
  spec: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): unknown {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { name },
    spec,
    ...extra,
  };
}

/** The `causes[].field` of a 422 Invalid status. */
function invalidFields(res: KubeResponse): string[] {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  const body = res.body as { reason: string; details?: { causes?: { field?: string }[] } };
  expect(body.reason).toBe('Invalid');
  return (body.details?.causes ?? []).map((c) => c.field ?? '');
}

beforeAll(async () => {
  cluster = await connectRealCluster();
  const res = await cluster.request('POST', '/api/v1/namespaces', {
    body: { metadata: { name: ns } },
  });
  expect(res.status).toBe(201);
});

describe('the shipped CRDs on a real kube-apiserver', () => {
  it('serve the four kinds of aadpodidentity.k8s.io/v1, namespaced, under the original names', async () => {
    const res = await cluster.request('GET', group);
    expect(res.status).toBe(200);
    const resources = (
      res.body as {
        resources: {
          name: string;
          singularName: string;
          kind: string;
          namespaced: boolean;
          verbs: string[];
        }[];
      }
    ).resources;
    const byName = Object.fromEntries(resources.map((r) => [r.name, r]));
    for (const [plural, kind] of [
      ['azureidentities', 'AzureIdentity'],
      ['azureidentitybindings', 'AzureIdentityBinding'],
      ['azureassignedidentities', 'AzureAssignedIdentity'],
      ['azurepodidentityexceptions', 'AzurePodIdentityException'],
    ] as const) {
      expect(byName[plural]?.kind).toBe(kind);
      expect(byName[plural]?.singularName).toBe(kind.toLowerCase());
      expect(byName[plural]?.namespaced).toBe(true);
      expect(byName[plural]?.verbs).toEqual(
        expect.arrayContaining(['create', 'get', 'list', 'watch', 'update', 'patch', 'delete']),
      );
    }
    // No status subresource: MIC writes status through the main resource, as the original did.
    expect(resources.filter((r) => r.name.endsWith('/status'))).toEqual([]);
  });

  it('store a valid AzureIdentity with its exact wire field names', async () => {
    const spec = {
      type: 1,
      resourceID:
        '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id',
      clientID: '00000000-0000-0000-0000-000000000001',
      clientPassword: { name: 'sp-secret', namespace: ns },
      tenantID: '00000000-0000-0000-0000-0000000000aa',
      auxiliaryTenantIDs: ['00000000-0000-0000-0000-0000000000bb'],
      adResourceID: 'https://management.azure.com/',
      adEndpoint: 'https://login.microsoftonline.com/',
      replicas: 1,
    };
    const res = await create('azureidentities', identity('valid', spec));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((res.body as Obj).spec).toEqual(spec);
  });

  it('prune unknown fields, including the capitalised names written before v1.6.0', async () => {
    const res = await create(
      'azureidentities',
      identity(
        'pruned',
        {
          type: 0,
          clientID: 'c',
          ClientID: 'old-spelling',
          ResourceID: 'old',
          clientPassword: { Name: 'x', Namespace: 'y' },
          bogus: true,
        },
        { topLevelExtra: 'x' },
      ),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const obj = res.body as Obj;
    expect(obj.spec).toEqual({ type: 0, clientID: 'c', clientPassword: {} });
    expect(obj).not.toHaveProperty('topLevelExtra');
    // Pruning is reported, not silent: the default field validation (Warn) names what it dropped.
    // (Warning: 299 - "unknown field \"spec.bogus\"", one per field.)
    for (const field of ['spec.ClientID', 'spec.ResourceID', 'spec.bogus', 'topLevelExtra']) {
      expect(String(res.headers.warning)).toContain(`unknown field \\"${field}\\"`);
    }
    // And what was stored is what is read back.
    const read = await cluster.request('GET', `${group}/namespaces/${ns}/azureidentities/pruned`);
    expect((read.body as Obj).spec).toEqual({ type: 0, clientID: 'c', clientPassword: {} });
  });

  it('refuse unknown fields under strict field validation', async () => {
    const res = await create(
      'azureidentities',
      identity('strict', { type: 0, bogus: 1 }),
      '?fieldValidation=Strict',
    );
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('unknown field \\"spec.bogus\\"');
  });

  it('refuse objects that violate the schema, naming the field', async () => {
    expect(
      invalidFields(
        await create('azureidentities', identity('bad-type', { type: 'UserAssignedMSI' })),
      ),
    ).toContain('spec.type');
    expect(
      invalidFields(
        await create('azureidentities', identity('bad-client', { type: 0, clientID: 42 })),
      ),
    ).toContain('spec.clientID');
    expect(
      invalidFields(
        await create(
          'azureidentities',
          identity('bad-aux', { type: 1, auxiliaryTenantIDs: 'not-a-list' }),
        ),
      ),
    ).toContain('spec.auxiliaryTenantIDs');
    expect(
      invalidFields(
        await create('azureidentitybindings', {
          apiVersion: 'aadpodidentity.k8s.io/v1',
          kind: 'AzureIdentityBinding',
          metadata: { name: 'bad-selector' },
          spec: { azureIdentity: 'valid', selector: { app: 'demo' } },
        }),
      ),
    ).toContain('spec.selector');
    expect(
      invalidFields(
        await create('azurepodidentityexceptions', {
          apiVersion: 'aadpodidentity.k8s.io/v1',
          kind: 'AzurePodIdentityException',
          metadata: { name: 'bad-labels' },
          spec: { podLabels: { app: 7 } },
        }),
      ),
    ).toContain('spec.podLabels.app');
    // Nothing was stored.
    const list = await cluster.request('GET', `${group}/namespaces/${ns}/azureidentities`);
    expect((list.body as { items: Obj[] }).items.map((i) => i.metadata.name).sort()).toEqual([
      'pruned',
      'valid',
    ]);
  });

  it('keep the embedded identity and binding of an AzureAssignedIdentity whole', async () => {
    const idRes = await cluster.request('GET', `${group}/namespaces/${ns}/azureidentities/valid`);
    const boundIdentity = idRes.body as Obj;
    const binding = await create('azureidentitybindings', {
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentityBinding',
      metadata: { name: 'demo-binding' },
      spec: { azureIdentity: 'valid', selector: 'demo', weight: 1 },
    });
    expect(binding.status, JSON.stringify(binding.body)).toBe(201);
    const boundBinding = binding.body as Obj;
    const res = await create('azureassignedidentities', {
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureAssignedIdentity',
      metadata: {
        name: `demo-${ns}-valid`,
        labels: { nodename: 'node-0' },
        finalizers: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'],
      },
      spec: {
        azureIdentityRef: boundIdentity,
        azureBindingRef: boundBinding,
        pod: 'demo',
        podNamespace: ns,
        nodename: 'node-0',
      },
      status: { status: 'Created', availableReplicas: 1 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const aai = res.body as Obj & { spec: { azureIdentityRef: Obj; azureBindingRef: Obj } };
    // x-kubernetes-embedded-resource: apiVersion, kind and metadata (with resourceVersion) survive pruning.
    expect(aai.spec.azureIdentityRef.apiVersion).toBe('aadpodidentity.k8s.io/v1');
    expect(aai.spec.azureIdentityRef.kind).toBe('AzureIdentity');
    expect(aai.spec.azureIdentityRef.metadata.name).toBe('valid');
    expect(aai.spec.azureIdentityRef.metadata.resourceVersion).toBe(
      boundIdentity.metadata.resourceVersion,
    );
    expect(aai.spec.azureIdentityRef.spec).toEqual(boundIdentity.spec);
    expect(aai.spec.azureBindingRef.spec).toEqual({
      azureIdentity: 'valid',
      selector: 'demo',
      weight: 1,
    });
    expect(aai.status).toEqual({ status: 'Created', availableReplicas: 1 });
    expect(aai.metadata.labels).toEqual({ nodename: 'node-0' });
  });

  it('print the columns kubectl shows for identities and bindings', async () => {
    const table = await cluster.request('GET', `${group}/namespaces/${ns}/azureidentities`, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    expect(table.status).toBe(200);
    const columns = (table.body as { columnDefinitions: { name: string }[] }).columnDefinitions.map(
      (c) => c.name,
    );
    expect(columns).toEqual(['Name', 'Type', 'ClientID', 'Age']);
    const bindings = await cluster.request(
      'GET',
      `${group}/namespaces/${ns}/azureidentitybindings`,
      {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      },
    );
    expect(
      (bindings.body as { columnDefinitions: { name: string }[] }).columnDefinitions.map(
        (c) => c.name,
      ),
    ).toEqual(['Name', 'AzureIdentity', 'Selector', 'Age']);
  });
});
