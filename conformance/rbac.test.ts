/**
 * The ClusterRoles the project ships (`deploy/rbac/`) against a real kube-apiserver with RBAC on:
 * the MIC and NMI identities, bound only to those roles by the global setup, may make every call
 * their component makes (docs/conformance.md lists them) and are refused what they do not need.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  connectRealCluster,
  manifestFiles,
  type ClusterUser,
  type RealCluster,
} from './harness.ts';

const group = '/apis/aadpodidentity.k8s.io/v1';
let cluster: RealCluster;
const ns = `rbac-${randomBytes(3).toString('hex')}`;
const node = 'aks-nodepool1-12345678-vmss000000';

async function status(
  as: ClusterUser,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<number> {
  const watch = path.includes('watch=true');
  const res = await cluster.request(method, path, {
    as,
    body,
    ...(contentType === undefined ? {} : { contentType }),
    statusOnly: watch,
  });
  if (res.status === 403) {
    // A refusal must come from the authorizer, not from some other failure that happens to be 403.
    expect((res.body as { reason?: string }).reason).toBe('Forbidden');
  }
  return res.status;
}

async function adminCreate(path: string, body: unknown): Promise<void> {
  const res = await cluster.request('POST', path, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

function assignedIdentity(name: string): unknown {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureAssignedIdentity',
    metadata: {
      name,
      namespace: ns,
      labels: { nodename: node },
      finalizers: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'],
    },
    spec: { pod: 'demo', podNamespace: ns, nodename: node },
    status: { status: 'Created', availableReplicas: 1 },
  };
}

beforeAll(async () => {
  cluster = await connectRealCluster();
  await adminCreate('/api/v1/namespaces', { metadata: { name: ns } });
  await adminCreate(`/api/v1/namespaces/${ns}/pods`, {
    metadata: { name: 'demo', labels: { aadpodidbinding: 'demo' } },
    spec: { nodeName: node, containers: [{ name: 'demo', image: 'demo:latest' }] },
  });
  await adminCreate(`/api/v1/namespaces/${ns}/secrets`, {
    metadata: { name: 'sp-secret' },
    stringData: { clientSecret: 'not-a-real-secret' },
  });
});

describe('MIC bound to the shipped pod-identity-mic ClusterRole', () => {
  it('lists and watches pods and nodes cluster-wide', async () => {
    expect(await status('mic', 'GET', '/api/v1/pods?labelSelector=aadpodidbinding')).toBe(200);
    expect(
      await status('mic', 'GET', '/api/v1/pods?labelSelector=aadpodidbinding&watch=true'),
    ).toBe(200);
    expect(await status('mic', 'GET', '/api/v1/nodes')).toBe(200);
    expect(await status('mic', 'GET', '/api/v1/nodes?watch=true')).toBe(200);
  });

  it('lists and watches identities and bindings', async () => {
    for (const r of ['azureidentities', 'azureidentitybindings']) {
      expect(await status('mic', 'GET', `${group}/${r}`)).toBe(200);
      expect(await status('mic', 'GET', `${group}/${r}?watch=true`)).toBe(200);
    }
  });

  it('creates, replaces, patches and deletes assigned identities', async () => {
    const base = `${group}/namespaces/${ns}/azureassignedidentities`;
    expect(await status('mic', 'GET', `${group}/azureassignedidentities`)).toBe(200);
    expect(await status('mic', 'GET', `${group}/azureassignedidentities?watch=true`)).toBe(200);
    const created = await cluster.request('POST', base, {
      as: 'mic',
      body: assignedIdentity('demo-rbac-id'),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const obj = created.body as { status: { status: string } };
    obj.status.status = 'Assigned';
    expect(await status('mic', 'PUT', `${base}/demo-rbac-id`, obj)).toBe(200);
    expect(
      await status(
        'mic',
        'PATCH',
        `${base}/demo-rbac-id`,
        [
          {
            op: 'test',
            path: '/metadata/finalizers',
            value: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'],
          },
          { op: 'remove', path: '/metadata/finalizers' },
        ],
        'application/json-patch+json',
      ),
    ).toBe(200);
    expect(await status('mic', 'DELETE', `${base}/demo-rbac-id`)).toBe(200);
    expect((await cluster.request('GET', `${base}/demo-rbac-id`)).status).toBe(404);
  });

  it('holds its leader-election Lease in its own namespace, and only that lease', async () => {
    const base = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
    const lease = {
      metadata: { name: 'aad-pod-identity-mic' },
      spec: { holderIdentity: 'mic-0', leaseDurationSeconds: 15 },
    };
    // The real MIC may have run against this cluster already; start from no lease (admin).
    await cluster.request('DELETE', `${base}/aad-pod-identity-mic`);
    expect(await status('mic', 'GET', `${base}/aad-pod-identity-mic`)).toBe(404);
    expect(await status('mic', 'POST', base, lease)).toBe(201);
    const got = await cluster.request('GET', `${base}/aad-pod-identity-mic`, { as: 'mic' });
    expect(got.status).toBe(200);
    const current = got.body as { spec: { holderIdentity: string } };
    current.spec.holderIdentity = 'mic-1';
    expect(await status('mic', 'PUT', `${base}/aad-pod-identity-mic`, current)).toBe(200);
    // Another controller's lease in the same namespace can be neither read nor taken over.
    const other = await cluster.request('POST', base, {
      body: {
        metadata: { name: `kube-controller-manager-${ns}` },
        spec: { holderIdentity: 'kcm', leaseDurationSeconds: 15 },
      },
    });
    expect(other.status).toBe(201);
    expect(await status('mic', 'GET', `${base}/kube-controller-manager-${ns}`)).toBe(403);
    expect(await status('mic', 'PUT', `${base}/kube-controller-manager-${ns}`, other.body)).toBe(
      403,
    );
    expect((await cluster.request('DELETE', `${base}/aad-pod-identity-mic`)).status).toBe(200);
  });

  it('keeps its ownership ledger in ConfigMaps of its own namespace', async () => {
    const base = '/api/v1/namespaces/kube-system/configmaps';
    const name = `aad-pod-identity-mic-owned-${ns}`;
    expect(
      await status(
        'mic',
        'GET',
        `${base}?labelSelector=aadpodidentity.k8s.io%2Fmic-ownership-ledger`,
      ),
    ).toBe(200);
    expect(await status('mic', 'GET', `${base}/${name}`)).toBe(404);
    const cm = {
      metadata: { name, labels: { 'aadpodidentity.k8s.io/mic-ownership-ledger': 'true' } },
      data: { 'identities.json': '[]' },
    };
    const created = await cluster.request('POST', base, { as: 'mic', body: cm });
    expect(created.status).toBe(201);
    const current = created.body as { data: Record<string, string> };
    current.data['identities.json'] = '[{"resourceId":"x"}]';
    expect(await status('mic', 'PUT', `${base}/${name}`, current)).toBe(200);
  });

  it('records events and replaces them to count repeats', async () => {
    const event = {
      metadata: { name: `demo-binding.${ns}` },
      involvedObject: {
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentityBinding',
        name: 'demo-binding',
        namespace: ns,
      },
      reason: 'binding applied',
      message: 'Binding demo-binding applied on node n for pod demo',
      type: 'Normal',
      source: { component: 'aadpodidentity.k8s.io' },
      count: 1,
    };
    const created = await cluster.request('POST', `/api/v1/namespaces/${ns}/events`, {
      as: 'mic',
      body: event,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(
      await status('mic', 'PUT', `/api/v1/namespaces/${ns}/events/${event.metadata.name}`, {
        ...(created.body as object),
        count: 2,
      }),
    ).toBe(200);
  });

  it('is refused what MIC never does', async () => {
    expect(await status('mic', 'DELETE', `/api/v1/namespaces/${ns}/pods/demo`)).toBe(403);
    expect(
      await status(
        'mic',
        'PATCH',
        `/api/v1/namespaces/${ns}/pods/demo`,
        { metadata: { labels: { a: 'b' } } },
        'application/merge-patch+json',
      ),
    ).toBe(403);
    expect(await status('mic', 'GET', `/api/v1/namespaces/${ns}/pods/demo`)).toBe(403);
    expect(await status('mic', 'GET', `/api/v1/namespaces/${ns}/secrets/sp-secret`)).toBe(403);
    expect(await status('mic', 'GET', '/api/v1/secrets')).toBe(403);
    expect(await status('mic', 'DELETE', `/api/v1/nodes/${node}`)).toBe(403);
    expect(
      await status('mic', 'POST', `${group}/namespaces/${ns}/azureidentities`, {
        metadata: { name: 'x' },
        spec: { type: 0 },
      }),
    ).toBe(403);
    expect(await status('mic', 'DELETE', `${group}/namespaces/${ns}/azureidentitybindings/x`)).toBe(
      403,
    );
    expect(await status('mic', 'GET', `${group}/azurepodidentityexceptions`)).toBe(403);
    expect(
      await status('mic', 'DELETE', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x'),
    ).toBe(403);
    // Leases and ConfigMaps only in its own namespace: not other controllers' leader locks.
    expect(
      await status('mic', 'GET', '/apis/coordination.k8s.io/v1/namespaces/default/leases/x'),
    ).toBe(403);
    expect(
      await status('mic', 'POST', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, {
        metadata: { name: 'l' },
      }),
    ).toBe(403);
    expect(await status('mic', 'GET', '/apis/coordination.k8s.io/v1/leases')).toBe(403);
    expect(await status('mic', 'GET', `/api/v1/namespaces/${ns}/configmaps`)).toBe(403);
    expect(await status('mic', 'DELETE', '/api/v1/namespaces/kube-system/configmaps/x')).toBe(403);
    expect(
      await status('mic', 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions'),
    ).toBe(403);
    expect(
      await status('mic', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {}),
    ).toBe(403);
    // The pod is still there: the refused delete really did nothing.
    expect((await cluster.request('GET', `/api/v1/namespaces/${ns}/pods/demo`)).status).toBe(200);
  });
});

describe('NMI bound to the shipped pod-identity-nmi ClusterRole', () => {
  it("lists and watches the node's pods", async () => {
    const sel = `fieldSelector=spec.nodeName%3D${node}`;
    const list = await cluster.request('GET', `/api/v1/pods?${sel}`, { as: 'nmi' });
    expect(list.status).toBe(200);
    expect(
      (list.body as { items: { metadata: { name: string } }[] }).items.map((p) => p.metadata.name),
    ).toContain('demo');
    expect(await status('nmi', 'GET', `/api/v1/pods?${sel}&watch=true`)).toBe(200);
  });

  it('lists and watches assigned identities, identities, bindings and exceptions', async () => {
    expect(
      await status(
        'nmi',
        'GET',
        `${group}/azureassignedidentities?labelSelector=nodename%3D${node}`,
      ),
    ).toBe(200);
    expect(
      await status(
        'nmi',
        'GET',
        `${group}/azureassignedidentities?labelSelector=nodename%3D${node}&watch=true`,
      ),
    ).toBe(200);
    for (const r of ['azureidentities', 'azureidentitybindings', 'azurepodidentityexceptions']) {
      expect(await status('nmi', 'GET', `${group}/${r}`)).toBe(200);
      expect(await status('nmi', 'GET', `${group}/${r}?watch=true`)).toBe(200);
    }
  });

  it("reads a service principal's secret by name", async () => {
    const res = await cluster.request('GET', `/api/v1/namespaces/${ns}/secrets/sp-secret`, {
      as: 'nmi',
    });
    expect(res.status).toBe(200);
    expect((res.body as { data: Record<string, string> }).data.clientSecret).toBe(
      Buffer.from('not-a-real-secret').toString('base64'),
    );
  });

  it('records refusal events on pods and replaces them to count repeats', async () => {
    const event = {
      metadata: { name: `demo.nmi-refused.${ns}` },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'demo', namespace: ns },
      reason: 'IdentityNotFound',
      message: 'refused a token',
      type: 'Warning',
      source: { component: 'nmi' },
      count: 1,
    };
    const created = await cluster.request('POST', `/api/v1/namespaces/${ns}/events`, {
      as: 'nmi',
      body: event,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(
      await status('nmi', 'PUT', `/api/v1/namespaces/${ns}/events/${event.metadata.name}`, {
        ...(created.body as object),
        count: 2,
      }),
    ).toBe(200);
    expect(
      await status('nmi', 'DELETE', `/api/v1/namespaces/${ns}/events/${event.metadata.name}`),
    ).toBe(403);
  });

  it('reads service accounts for federated mode, and cannot mint their tokens', async () => {
    expect(await status('nmi', 'GET', '/api/v1/serviceaccounts')).toBe(200);
    expect(await status('nmi', 'GET', '/api/v1/serviceaccounts?watch=true')).toBe(200);
    // Pods' tokens are requested with the node's credentials (NodeRestriction), never NMI's own.
    expect(
      await status('nmi', 'POST', `/api/v1/namespaces/${ns}/serviceaccounts/default/token`, {
        spec: { audiences: ['api://AzureADTokenExchange'] },
      }),
    ).toBe(403);
    expect(
      await status(
        'nmi',
        'PATCH',
        `/api/v1/namespaces/${ns}/serviceaccounts/default`,
        {},
        'application/merge-patch+json',
      ),
    ).toBe(403);
  });

  it('is refused what NMI never does', async () => {
    expect(await status('nmi', 'GET', '/api/v1/secrets')).toBe(403);
    expect(await status('nmi', 'GET', `/api/v1/namespaces/${ns}/secrets`)).toBe(403);
    expect(await status('nmi', 'GET', `/api/v1/namespaces/${ns}/secrets?watch=true`)).toBe(403);
    expect(await status('nmi', 'DELETE', `/api/v1/namespaces/${ns}/pods/demo`)).toBe(403);
    expect(await status('nmi', 'GET', '/api/v1/nodes')).toBe(403);
    expect(
      await status(
        'nmi',
        'POST',
        `${group}/namespaces/${ns}/azureassignedidentities`,
        assignedIdentity('nmi-may-not'),
      ),
    ).toBe(403);
    expect(
      await status('nmi', 'DELETE', `${group}/namespaces/${ns}/azureassignedidentities/x`),
    ).toBe(403);
    expect(
      await status('nmi', 'PUT', `${group}/namespaces/${ns}/azureidentities/x`, {
        metadata: { name: 'x' },
      }),
    ).toBe(403);
    expect(
      await status('nmi', 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
        metadata: { name: 'l' },
      }),
    ).toBe(403);
  });
});

describe('the identities themselves', () => {
  it('authenticate as the chart service accounts and nothing grants them more than the shipped roles', async () => {
    // SelfSubjectReview says who the token is; a SelfSubjectRulesReview lists what it may do in a
    // namespace, which must be exactly the shipped rules plus the discovery rules every
    // authenticated user has.
    const who = await cluster.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      as: 'mic',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(who.status).toBe(201);
    expect(
      (who.body as { status: { userInfo: { username: string } } }).status.userInfo.username,
    ).toBe('system:serviceaccount:kube-system:pod-identity-mic');
    interface Rule {
      verbs: string[];
      apiGroups?: string[];
      resources?: string[];
      resourceNames?: string[];
    }
    const same = (a: Rule, b: Rule): boolean =>
      JSON.stringify([a.verbs, a.apiGroups ?? [], a.resources ?? [], a.resourceNames ?? []]) ===
      JSON.stringify([b.verbs, b.apiGroups ?? [], b.resources ?? [], b.resourceNames ?? []]);
    for (const user of ['mic', 'nmi'] as const) {
      const clusterRole = await cluster.request(
        'GET',
        `/apis/rbac.authorization.k8s.io/v1/clusterroles/pod-identity-${user}`,
      );
      expect(clusterRole.status).toBe(200);
      const role = await cluster.request(
        'GET',
        `/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/pod-identity-${user}`,
      );
      const roleRules = role.status === 200 ? (role.body as { rules: Rule[] }).rules : [];
      for (const namespace of [ns, 'kube-system']) {
        const review = await cluster.request(
          'POST',
          '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
          {
            as: user,
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectRulesReview',
              spec: { namespace },
            },
          },
        );
        expect(review.status).toBe(201);
        const granted = (review.body as { status: { resourceRules: Rule[] } }).status.resourceRules;
        const shipped = [
          ...(clusterRole.body as { rules: Rule[] }).rules,
          ...(namespace === 'kube-system' ? roleRules : []),
        ];
        // Every authenticated user may create self-reviews (system:basic-user); nothing else may
        // come from anywhere but the shipped roles.
        const beyond = granted.filter(
          (r) =>
            !(r.apiGroups ?? []).every(
              (g) => g === 'authorization.k8s.io' || g === 'authentication.k8s.io',
            ) && !shipped.some((s) => same(s, r)),
        );
        expect(beyond, `${user} in ${namespace} may do more than its shipped roles`).toEqual([]);
        // And every shipped rule is in force.
        for (const rule of shipped)
          expect(
            granted.some((r) => same(r, rule)),
            `${user}: ${JSON.stringify(rule)}`,
          ).toBe(true);
      }
    }
  });
});

describe('what the chart installs', () => {
  interface RoleDoc {
    kind: string;
    metadata: { name: string; labels?: Record<string, string> };
    rules: unknown[];
  }
  async function roles(files: string[]): Promise<Map<string, unknown[]>> {
    const out = new Map<string, unknown[]>();
    for (const file of files) {
      for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
        const obj = doc.toJS() as RoleDoc | null;
        const component = obj?.metadata.labels?.['app.kubernetes.io/component'];
        if (
          (obj?.kind === 'ClusterRole' || obj?.kind === 'Role') &&
          (component === 'mic' || component === 'nmi')
        ) {
          out.set(`${obj.kind}/${component}`, obj.rules);
        }
      }
    }
    return out;
  }

  it('is every role of deploy/rbac with the same rules, so what is proven here is what ships', async () => {
    const shipped = await roles(await manifestFiles('deploy/rbac'));
    const installed = await roles(
      await manifestFiles('deploy/manifests').then((f) =>
        f.filter((x) => x.endsWith('standard.yaml')),
      ),
    );
    expect([...shipped.keys()].sort()).toEqual(['ClusterRole/mic', 'ClusterRole/nmi', 'Role/mic']);
    expect(Object.fromEntries(installed)).toEqual(Object.fromEntries(shipped));
  });
});
