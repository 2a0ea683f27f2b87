import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloudConfigFromEnv } from '@pod-identity/mic';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR } from '../../scripts/deploy/helm.ts';
import {
  find,
  helmOnChart,
  podOf,
  renderChart,
  renderChartError,
  type RenderedObject,
} from './render-chart.ts';

const chartVersion = (
  parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as {
    appVersion: string;
  }
).appVersion;

function objectIds(objects: readonly RenderedObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
}

function rulesOf(
  role: RenderedObject,
): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  return role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

function allows(role: RenderedObject, group: string, resource: string, verb: string): boolean {
  return rulesOf(role).some(
    (rule) =>
      rule.apiGroups.includes(group) &&
      (rule.resources.includes(resource) || rule.resources.includes('*')) &&
      (rule.verbs.includes(verb) || rule.verbs.includes('*')),
  );
}

function leaseRules(role: RenderedObject): unknown[] {
  return rulesOf(role).filter((rule) => rule.resources.includes('leases'));
}

/** Every key/value of `selector` is a label of `labels`. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

function podLabels(workload: RenderedObject): Record<string, string> {
  return (workload.spec as { template: { metadata: { labels: Record<string, string> } } }).template
    .metadata.labels;
}

describe('helm lint', () => {
  it('passes --strict with the default values', async () => {
    const result = await helmOnChart('lint');
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('passes --strict with every optional part on (ci/full-values.yaml)', async () => {
    const result = await helmOnChart('lint', { valuesFiles: ['ci/full-values.yaml'] });
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('never renders two objects with the same kind, namespace and name', async () => {
    for (const valuesFiles of [[], ['ci/managed-values.yaml'], ['ci/full-values.yaml']]) {
      const ids = objectIds(await renderChart({ namespace: 'kube-system', valuesFiles }));
      expect(new Set(ids).size, valuesFiles.join()).toBe(ids.length);
    }
  });

  it('passes --strict in managed mode', async () => {
    const result = await helmOnChart('lint', { valuesFiles: ['ci/managed-values.yaml'] });
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });
});

describe('standard mode with the default values', () => {
  const rendered = renderChart({ namespace: 'kube-system' });

  it('installs the CRDs, MIC, NMI, their RBAC, the PDB and the two exceptions, nothing else', async () => {
    const ids = objectIds(await rendered);
    expect(ids).toEqual(
      [
        'AzurePodIdentityException/kube-system/aks-addon-exception',
        'AzurePodIdentityException/kube-system/pod-identity-mic',
        'ClusterRole//pod-identity-mic',
        'ClusterRole//pod-identity-nmi',
        'ClusterRoleBinding//pod-identity-mic',
        'ClusterRoleBinding//pod-identity-nmi',
        'ConfigMap/kube-system/pod-identity-settings',
        'CustomResourceDefinition//azureassignedidentities.aadpodidentity.k8s.io',
        'CustomResourceDefinition//azureidentities.aadpodidentity.k8s.io',
        'CustomResourceDefinition//azureidentitybindings.aadpodidentity.k8s.io',
        'CustomResourceDefinition//azurepodidentityexceptions.aadpodidentity.k8s.io',
        'DaemonSet/kube-system/pod-identity-nmi',
        'Deployment/kube-system/pod-identity-mic',
        'PodDisruptionBudget/kube-system/pod-identity-mic',
        'Role/kube-system/pod-identity-mic',
        'RoleBinding/kube-system/pod-identity-mic',
        'ServiceAccount/kube-system/pod-identity-mic',
        'ServiceAccount/kube-system/pod-identity-nmi',
      ].sort(),
    );
  });

  it('runs two MIC replicas with leader election on a Lease in the release namespace', async () => {
    const mic = find(await rendered, 'Deployment', 'pod-identity-mic');
    expect((mic.spec as { replicas: number }).replicas).toBe(2);
    const { container, pod } = podOf(mic);
    expect(container.image).toBe(`ghcr.io/pod-identity/mic:${chartVersion}`);
    expect(container.args).toEqual(
      expect.arrayContaining([
        '--cloudconfig=/etc/kubernetes/azure.json',
        '--leader-election-namespace=kube-system',
        '--leader-election-name=aad-pod-identity-mic',
        '--leader-election-duration=15s',
        '--http-probe-port=8080',
        '--prometheus-port=8888',
      ]),
    );
    expect(container.args.some((arg) => arg.startsWith('--forceNamespaced'))).toBe(false);
    expect(pod.serviceAccountName).toBe('pod-identity-mic');
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
  });

  it('gives MIC its namespace in MIC_POD_NAMESPACE, which it refuses to start without', async () => {
    const { container } = podOf(find(await rendered, 'Deployment', 'pod-identity-mic'));
    expect(container.env).toContainEqual({
      name: 'MIC_POD_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
  });

  it('probes MIC on /healthz and exposes /metrics on 8888', async () => {
    const { container } = podOf(find(await rendered, 'Deployment', 'pod-identity-mic'));
    expect(container.ports).toEqual([
      expect.objectContaining({ name: 'health', containerPort: 8080 }),
      expect.objectContaining({ name: 'metrics', containerPort: 8888 }),
    ]);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
  });

  it('mounts the node azure.json read-only and reads it as uid 0 with no capability', async () => {
    const { container, pod } = podOf(find(await rendered, 'Deployment', 'pod-identity-mic'));
    expect(pod.volumes).toContainEqual({
      name: 'cloud-config',
      hostPath: { path: '/etc/kubernetes/azure.json', type: 'File' },
    });
    expect(container.volumeMounts).toContainEqual({
      name: 'cloud-config',
      mountPath: '/etc/kubernetes/azure.json',
      readOnly: true,
    });
    expect(container.securityContext).toMatchObject({
      runAsUser: 0,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.securityContext?.capabilities?.add).toBeUndefined();
  });

  it('keeps one MIC available through voluntary disruptions, and selects only MIC pods', async () => {
    const objects = await rendered;
    const pdb = find(objects, 'PodDisruptionBudget', 'pod-identity-mic');
    const spec = pdb.spec as {
      minAvailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    expect(spec.minAvailable).toBe(1);
    expect(
      selects(
        spec.selector.matchLabels,
        podLabels(find(objects, 'Deployment', 'pod-identity-mic')),
      ),
    ).toBe(true);
    expect(
      selects(spec.selector.matchLabels, podLabels(find(objects, 'DaemonSet', 'pod-identity-nmi'))),
    ).toBe(false);
  });

  it("excepts MIC's own pods: every label of the mic exception is on them", async () => {
    const objects = await rendered;
    const exception = find(objects, 'AzurePodIdentityException', 'pod-identity-mic');
    const labels = (exception.spec as { podLabels: Record<string, string> }).podLabels;
    expect(labels).toEqual({ app: 'mic', component: 'mic', 'app.kubernetes.io/component': 'mic' });
    expect(selects(labels, podLabels(find(objects, 'Deployment', 'pod-identity-mic')))).toBe(true);
    expect(selects(labels, podLabels(find(objects, 'DaemonSet', 'pod-identity-nmi')))).toBe(false);
  });

  it('excepts AKS add-ons in kube-system', async () => {
    const exception = find(await rendered, 'AzurePodIdentityException', 'aks-addon-exception');
    expect(exception.metadata.namespace).toBe('kube-system');
    expect(exception.spec).toEqual({ podLabels: { 'kubernetes.azure.com/managedby': 'aks' } });
  });

  it('runs NMI on the host network with cluster DNS, NET_ADMIN and NET_RAW as root', async () => {
    const { pod, container } = podOf(find(await rendered, 'DaemonSet', 'pod-identity-nmi'));
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.serviceAccountName).toBe('pod-identity-nmi');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(container.securityContext).toEqual({
      runAsUser: 0,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
    });
  });

  it("shares the node's xtables lock and reads its kubelet config read-only", async () => {
    const { pod, container } = podOf(find(await rendered, 'DaemonSet', 'pod-identity-nmi'));
    expect(pod.volumes).toEqual([
      { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
      { name: 'kubelet-config', hostPath: { path: '/etc/default/kubelet', type: 'FileOrCreate' } },
    ]);
    expect(container.volumeMounts).toEqual([
      { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
      { name: 'kubelet-config', mountPath: '/etc/default/kubelet', readOnly: true },
    ]);
    expect(container.args).toContain('--kubelet-config=/etc/default/kubelet');
  });

  it('tells NMI its node through NODE_NAME and probes it on 8085', async () => {
    const { container } = podOf(find(await rendered, 'DaemonSet', 'pod-identity-nmi'));
    expect(container.image).toBe(`ghcr.io/pod-identity/nmi:${chartVersion}`);
    expect(container.env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
    expect(container.args).toEqual(
      expect.arrayContaining([
        '--node=$(NODE_NAME)',
        '--operation-mode=standard',
        '--MICNamespace=kube-system',
        '--http-probe-port=8085',
        '--prometheus-port=9090',
        '--enableScaleFeatures=true',
        '--metadata-header-required=true',
      ]),
    );
    expect(container.args.some((arg) => arg.startsWith('--forceNamespaced'))).toBe(false);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(container.ports).toContainEqual(
      expect.objectContaining({ name: 'health', containerPort: 8085 }),
    );
  });

  it('binds each service account to its own ClusterRole', async () => {
    const objects = await rendered;
    for (const component of ['mic', 'nmi']) {
      const binding = find(objects, 'ClusterRoleBinding', `pod-identity-${component}`);
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: `pod-identity-${component}`,
      });
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: `pod-identity-${component}`, namespace: 'kube-system' },
      ]);
    }
  });

  it('lets MIC write assigned identities cluster-wide and NMI read secrets', async () => {
    const objects = await rendered;
    const mic = find(objects, 'ClusterRole', 'pod-identity-mic');
    for (const verb of ['create', 'update', 'delete']) {
      expect(allows(mic, 'aadpodidentity.k8s.io', 'azureassignedidentities', verb)).toBe(true);
    }
    expect(allows(mic, 'coordination.k8s.io', 'leases', 'update')).toBe(false);
    const nmi = find(objects, 'ClusterRole', 'pod-identity-nmi');
    expect(allows(nmi, '', 'secrets', 'get')).toBe(true);
    expect(allows(nmi, 'aadpodidentity.k8s.io', 'azureassignedidentities', 'create')).toBe(false);
  });

  it('lets MIC hold only its own Lease, in its namespace, bound to its service account', async () => {
    const objects = await rendered;
    const role = find(objects, 'Role', 'pod-identity-mic');
    expect(role.metadata.namespace).toBe('kube-system');
    expect(leaseRules(role)).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['aad-pod-identity-mic'],
        verbs: ['get', 'update'],
      },
    ]);
    const binding = find(objects, 'RoleBinding', 'pod-identity-mic');
    expect(binding.metadata.namespace).toBe('kube-system');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'pod-identity-mic',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'pod-identity-mic', namespace: 'kube-system' },
    ]);
  });
});

describe('managed mode', () => {
  const rendered = renderChart({
    valuesFiles: ['ci/managed-values.yaml'],
    namespace: 'kube-system',
  });

  it('runs NMI only: no MIC, no MIC RBAC, PDB or exception; AKS add-ons stay excepted', async () => {
    const ids = objectIds(await rendered).filter(
      (id) => !id.startsWith('CustomResourceDefinition/'),
    );
    expect(ids).toEqual([
      'AzurePodIdentityException/kube-system/aks-addon-exception',
      'ClusterRole//pod-identity-nmi',
      'ClusterRoleBinding//pod-identity-nmi',
      'ConfigMap/kube-system/pod-identity-settings',
      'DaemonSet/kube-system/pod-identity-nmi',
      'ServiceAccount/kube-system/pod-identity-nmi',
    ]);
  });

  it("records managed mode where the CLI reads it, from the value that sets NMI's flag", async () => {
    const settings = find(await rendered, 'ConfigMap', 'pod-identity-settings');
    expect(settings.metadata.namespace).toBe('kube-system');
    expect(settings.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    expect(settings.data).toEqual({ mode: 'managed' });
  });

  it('starts NMI in managed mode, namespaced (NMI refuses managed mode otherwise)', async () => {
    const { container } = podOf(find(await rendered, 'DaemonSet', 'pod-identity-nmi'));
    expect(container.args).toEqual(
      expect.arrayContaining(['--operation-mode=managed', '--forceNamespaced=true']),
    );
  });
});

describe('values', () => {
  it("accepts forceNamespaced as the Go chart's string and passes it to MIC and NMI", async () => {
    const on = await renderChart({ values: { forceNamespaced: 'true' } });
    expect(podOf(find(on, 'Deployment', 'pod-identity-mic')).container.args).toContain(
      '--forceNamespaced=true',
    );
    expect(podOf(find(on, 'DaemonSet', 'pod-identity-nmi')).container.args).toContain(
      '--forceNamespaced=true',
    );
    const off = await renderChart({ values: { forceNamespaced: 'false' } });
    for (const workload of [
      find(off, 'Deployment', 'pod-identity-mic'),
      find(off, 'DaemonSet', 'pod-identity-nmi'),
    ]) {
      expect(podOf(workload).container.args.some((a) => a.startsWith('--forceNamespaced'))).toBe(
        false,
      );
    }
  });

  it('leaves the exceptions out when installMICException is "false"', async () => {
    const objects = await renderChart({ values: { installMICException: 'false' } });
    expect(objects.filter((o) => o.kind === 'AzurePodIdentityException')).toEqual([]);
  });

  it('keeps the Go chart names for a release called aad-pod-identity', async () => {
    const objects = await renderChart({ releaseName: 'aad-pod-identity' });
    expect(find(objects, 'Deployment', 'aad-pod-identity-mic')).toBeDefined();
    expect(find(objects, 'DaemonSet', 'aad-pod-identity-nmi')).toBeDefined();
  });

  it('grants the Lease MIC is told to use, in the namespace it is told to use', async () => {
    const objects = await renderChart({
      namespace: 'kube-system',
      values: { mic: { leaderElection: { name: 'my-lock', namespace: 'locks' } } },
    });
    const args = podOf(find(objects, 'Deployment', 'pod-identity-mic')).container.args;
    expect(args).toEqual(
      expect.arrayContaining([
        '--leader-election-name=my-lock',
        '--leader-election-namespace=locks',
      ]),
    );
    const lock = find(objects, 'Role', 'pod-identity-mic-leader-election');
    expect(lock.metadata.namespace).toBe('locks');
    expect(leaseRules(lock)).toContainEqual(
      expect.objectContaining({ resourceNames: ['my-lock'], verbs: ['get', 'update'] }),
    );
    expect(
      find(objects, 'RoleBinding', 'pod-identity-mic-leader-election').metadata.namespace,
    ).toBe('locks');
    // The ledger ConfigMaps stay in MIC's own namespace, without the lease rules.
    const own = find(objects, 'Role', 'pod-identity-mic');
    expect(own.metadata.namespace).toBe('kube-system');
    expect(leaseRules(own)).toEqual([]);
    expect(allows(own, '', 'configmaps', 'update')).toBe(true);
  });

  it('passes the immutable identities as one comma-separated flag', async () => {
    const objects = await renderChart({ values: { mic: { immutableUserMSIs: ['id-1', 'id-2'] } } });
    expect(podOf(find(objects, 'Deployment', 'pod-identity-mic')).container.args).toContain(
      '--immutable-user-msis=id-1,id-2',
    );
  });

  it('reads MIC credentials from a secret instead of the node, and then runs MIC as non-root', async () => {
    const objects = await renderChart({
      values: {
        adminsecret: {
          cloud: 'AzurePublicCloud',
          subscriptionID: 'sub',
          resourceGroup: 'MC_rg_cluster_eastus',
          vmType: 'vmss',
          tenantID: 'tenant',
          clientID: 'client',
          clientSecret: 's3cret',
        },
      },
    });
    const secret = find(objects, 'Secret', 'pod-identity-mic');
    const data = secret.data as Record<string, string>;
    expect(Buffer.from(data.ClientSecret!, 'base64').toString()).toBe('s3cret');
    expect(Buffer.from(data.ResourceGroup!, 'base64').toString()).toBe('MC_rg_cluster_eastus');
    expect(data.UseMSI).toBeUndefined();
    const mic = find(objects, 'Deployment', 'pod-identity-mic');
    const { container, pod } = podOf(mic);
    expect(container.env).toContainEqual({
      name: 'CLIENT_SECRET',
      valueFrom: {
        secretKeyRef: { name: 'pod-identity-mic', key: 'ClientSecret', optional: true },
      },
    });
    expect(container.args.some((a) => a.startsWith('--cloudconfig'))).toBe(false);
    expect(pod.volumes).toBeUndefined();
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    const annotations = (
      mic.spec as { template: { metadata: { annotations: Record<string, string> } } }
    ).template.metadata.annotations;
    expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives MIC, through the secret, exactly the cloud config the values hold', async () => {
    const adminsecret = {
      cloud: 'AzureUSGovernmentCloud',
      subscriptionID: 'sub',
      resourceGroup: 'MC_rg_cluster_usgovvirginia',
      vmType: 'vmss',
      tenantID: 'tenant',
      clientID: 'client',
      clientSecret: 's3cret',
      useMSI: 'true',
      userAssignedMSIClientID: 'kubelet-identity',
    };
    const objects = await renderChart({ values: { adminsecret } });
    const data = find(objects, 'Secret', 'pod-identity-mic').data as Record<string, string>;
    // The env the kubelet builds from the secretKeyRefs, read the way the MIC CLI reads it.
    const env: Record<string, string> = {};
    for (const variable of podOf(find(objects, 'Deployment', 'pod-identity-mic')).container.env ??
      []) {
      const ref = variable.valueFrom?.secretKeyRef as { name: string; key: string } | undefined;
      if (ref === undefined) continue;
      expect(ref.name).toBe('pod-identity-mic');
      const value = data[ref.key];
      if (value !== undefined) env[variable.name] = Buffer.from(value, 'base64').toString();
    }
    expect(cloudConfigFromEnv(env)).toEqual({
      cloud: 'AzureUSGovernmentCloud',
      tenantId: 'tenant',
      aadClientId: 'client',
      aadClientSecret: 's3cret',
      subscriptionId: 'sub',
      resourceGroup: 'MC_rg_cluster_usgovvirginia',
      vmType: 'vmss',
      useManagedIdentityExtension: true,
      userAssignedIdentityID: 'kubelet-identity',
    });
  });

  it('drops only the secrets rule from NMI when allowAccessToSecrets is false', async () => {
    const withSecrets = find(await renderChart(), 'ClusterRole', 'pod-identity-nmi');
    const without = find(
      await renderChart({ values: { rbac: { allowAccessToSecrets: false } } }),
      'ClusterRole',
      'pod-identity-nmi',
    );
    expect(allows(without, '', 'secrets', 'get')).toBe(false);
    expect(rulesOf(without)).toEqual(
      rulesOf(withSecrets).filter((r) => !r.resources.includes('secrets')),
    );
    expect(rulesOf(without).length).toBeGreaterThan(0);
  });

  it('creates identities and bindings from values with the exact wire fields', async () => {
    const objects = await renderChart({
      values: {
        azureIdentities: {
          demo: {
            namespace: 'my-app',
            type: 0,
            resourceID:
              '/subscriptions/s/resourcegroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo',
            clientID: '00000000-0000-0000-0000-000000000001',
            binding: { name: 'demo-binding', selector: 'demo' },
          },
          sp: {
            namespace: 'my-app',
            type: 1,
            clientID: 'sp-client',
            tenantID: 'tenant',
            clientPassword: '{"name":"sp-secret","namespace":"my-app"}',
            binding: { name: 'sp-binding', selector: 'sp' },
          },
        },
      },
    });
    const demo = find(objects, 'AzureIdentity', 'demo');
    expect(demo.apiVersion).toBe('aadpodidentity.k8s.io/v1');
    expect(demo.metadata.namespace).toBe('my-app');
    expect(demo.spec).toEqual({
      type: 0,
      resourceID:
        '/subscriptions/s/resourcegroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo',
      clientID: '00000000-0000-0000-0000-000000000001',
    });
    expect(find(objects, 'AzureIdentityBinding', 'demo-binding').spec).toEqual({
      azureIdentity: 'demo',
      selector: 'demo',
    });
    expect(find(objects, 'AzureIdentity', 'sp').spec).toEqual({
      type: 1,
      clientID: 'sp-client',
      tenantID: 'tenant',
      clientPassword: { name: 'sp-secret', namespace: 'my-app' },
    });
  });

  it('aggregates the user-facing roles into view, edit and admin when asked', async () => {
    const objects = await renderChart({ values: { rbac: { createUserFacingClusterRoles: true } } });
    const view = find(objects, 'ClusterRole', 'pod-identity-view');
    expect(view.metadata.labels).toMatchObject({
      'rbac.authorization.k8s.io/aggregate-to-view': 'true',
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
    });
    expect(allows(view, 'aadpodidentity.k8s.io', 'azureidentities', 'list')).toBe(true);
    expect(allows(view, 'aadpodidentity.k8s.io', 'azureidentities', 'create')).toBe(false);
    const edit = find(objects, 'ClusterRole', 'pod-identity-edit');
    expect(edit.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view']).toBeUndefined();
    expect(allows(edit, 'aadpodidentity.k8s.io', 'azureidentitybindings', 'create')).toBe(true);
    expect(allows(edit, 'aadpodidentity.k8s.io', 'azureassignedidentities', 'create')).toBe(false);
  });

  it.each([
    [{ operationMode: 'Managed' }, 'operationMode'],
    [{ rbac: { pspEnabld: true } }, 'pspEnabld'],
    [{ nmi: { probePort: 'http' } }, 'probePort'],
    [{ nmi: { blockInstanceMetadata: 'yes' } }, 'blockInstanceMetadata'],
    [{ mic: { logLevel: 'debug' } }, 'logLevel'],
    [{ mic: { leaderElection: { duration: '15' } } }, 'duration'],
    [{ nmi: { probePort: 70000 } }, 'probePort'],
    [{ azureIdentities: { demo: { clientID: 'x' } } }, 'binding'],
  ])('refuses %j, naming %s', async (values, named) => {
    expect(await renderChartError({ values })).toContain(named);
  });
});

describe('the mode record', () => {
  it('stays in kube-system whatever the release namespace, beside the daemons that share its value', async () => {
    // One record per cluster, where the CLI looks without knowing the release: MIC and NMI take the
    // same operationMode as flags in the release namespace.
    const objects = await renderChart({
      values: { operationMode: 'managed' },
      namespace: 'pod-identity',
    });
    const settings = find(objects, 'ConfigMap', 'pod-identity-settings');
    expect(settings.metadata.namespace).toBe('kube-system');
    expect(settings.data).toEqual({ mode: 'managed' });
    const nmi = find(objects, 'DaemonSet', 'pod-identity-nmi');
    expect(nmi.metadata.namespace).toBe('pod-identity');
    expect(podOf(nmi).container.args).toContain('--operation-mode=managed');
  });
});
