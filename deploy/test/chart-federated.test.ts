/**
 * Federated mode from the chart (docs/federated.md): NMI gets the node's own kubeconfig and the files it
 * names, read-only and nothing more of the kubelet's directory; its flags parse to federated mode; the
 * nodes, and only they, are granted the token-exchange audience; NMI's own role may read service
 * accounts but never create their tokens; and an identity can be federated from values.
 */
import { parseNmiFlags } from '@pod-identity/nmi';
import { describe, expect, it } from 'vitest';
import { expandArgs } from './daemon-process.ts';
import { find, podOf, renderChart, renderChartError, type RenderedObject } from './render-chart.ts';

const FEDERATED = { nmi: { federated: { enabled: true, tenantId: 'tenant-1' } } };

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function nmiOf(objects: readonly RenderedObject[]): ReturnType<typeof podOf> {
  return podOf(find(objects, 'DaemonSet', 'pod-identity-nmi'));
}

function rulesOf(role: RenderedObject): Rule[] {
  return (role as unknown as { rules: Rule[] }).rules;
}

describe('federated mode from the chart', () => {
  it('is off by default: no flag, no node credentials mounted, no audience grant', async () => {
    const objects = await renderChart({ namespace: 'kube-system' });
    const { pod, container } = nmiOf(objects);
    expect(container.args.some((arg) => arg.startsWith('--token-request-kubeconfig'))).toBe(false);
    expect(pod.volumes?.map((v) => v.hostPath?.path)).not.toContain('/var/lib/kubelet/kubeconfig');
    expect(objects.filter((o) => o.metadata.name.endsWith('token-exchange-audience'))).toEqual([]);
  });

  it("gives NMI the node's kubeconfig and the credentials it names, read-only, and the flags parse to federated mode", async () => {
    const objects = await renderChart({
      namespace: 'kube-system',
      values: {
        nmi: {
          federated: {
            enabled: true,
            tenantId: 'tenant-1',
            authorityHost: 'https://login.microsoftonline.us',
          },
        },
      },
    });
    const { pod, container } = nmiOf(objects);
    const parsed = parseNmiFlags(expandArgs(container.args, { NODE_NAME: 'aks-nodepool1-0' }), {});
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.flags).toMatchObject({
      tokenRequestKubeconfig: '/var/lib/kubelet/kubeconfig',
      federatedTenantId: 'tenant-1',
      federatedAuthorityHost: 'https://login.microsoftonline.us',
    });
    const hostPaths = new Map(
      (pod.volumes ?? []).flatMap((v) =>
        v.hostPath === undefined ? [] : [[v.name, v.hostPath.path]],
      ),
    );
    const mounted = (container.volumeMounts ?? []).filter((m) =>
      [
        '/var/lib/kubelet/kubeconfig',
        '/var/lib/kubelet/pki',
        '/etc/kubernetes/certs/ca.crt',
      ].includes(hostPaths.get(m.name) ?? ''),
    );
    expect(mounted.map((m) => [hostPaths.get(m.name), m.mountPath, m.readOnly])).toEqual([
      ['/var/lib/kubelet/kubeconfig', '/var/lib/kubelet/kubeconfig', true],
      ['/var/lib/kubelet/pki', '/var/lib/kubelet/pki', true],
      ['/etc/kubernetes/certs/ca.crt', '/etc/kubernetes/certs/ca.crt', true],
    ]);
    // Never the kubelet's whole directory: the pods' volumes (their secrets and tokens) live there.
    for (const path of hostPaths.values()) expect(path).not.toMatch(/^\/var\/lib\/kubelet\/?$/);
  });

  it('takes other paths for the kubeconfig and its credentials', async () => {
    const { pod, container } = nmiOf(
      await renderChart({
        values: {
          nmi: {
            federated: {
              enabled: true,
              tokenRequestKubeconfig: '/etc/kubernetes/kubelet.conf',
              credentialPaths: ['/var/lib/kubelet/pki'],
            },
          },
        },
      }),
    );
    expect(container.args).toContain('--token-request-kubeconfig=/etc/kubernetes/kubelet.conf');
    expect(container.args.some((arg) => arg.startsWith('--federated-tenant-id'))).toBe(false);
    expect(pod.volumes?.map((v) => v.hostPath?.path)).toEqual(
      expect.arrayContaining(['/etc/kubernetes/kubelet.conf', '/var/lib/kubelet/pki']),
    );
    expect(pod.volumes?.map((v) => v.hostPath?.path)).not.toContain('/etc/kubernetes/certs/ca.crt');
  });

  it('grants system:nodes exactly the token-exchange audience, and NMI no token creation', async () => {
    const objects = await renderChart({ namespace: 'kube-system', values: FEDERATED });
    const role = find(objects, 'ClusterRole', 'pod-identity-token-exchange-audience');
    expect(rulesOf(role)).toEqual([
      {
        apiGroups: [''],
        resources: ['api://AzureADTokenExchange'],
        verbs: ['request-serviceaccounts-token-audience'],
      },
    ]);
    const binding = find(objects, 'ClusterRoleBinding', 'pod-identity-token-exchange-audience') as {
      roleRef?: unknown;
      subjects?: unknown;
    } & RenderedObject;
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'pod-identity-token-exchange-audience',
    });
    expect(binding.subjects).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' },
    ]);
    // NMI's own service account reads service accounts' annotations and never mints their tokens.
    const nmiRules = rulesOf(find(objects, 'ClusterRole', 'pod-identity-nmi'));
    expect(nmiRules).toContainEqual({
      apiGroups: [''],
      resources: ['serviceaccounts'],
      verbs: ['list', 'watch'],
    });
    expect(nmiRules.flatMap((r) => r.resources)).not.toContain('serviceaccounts/token');
  });

  it('leaves the audience grant out when the cluster grants it, or when RBAC is not the chart`s', async () => {
    for (const values of [
      { nmi: { federated: { enabled: true, grantNodeAudience: false } } },
      { ...FEDERATED, rbac: { enabled: false } },
    ]) {
      const objects = await renderChart({ values });
      expect(objects.filter((o) => o.metadata.name.endsWith('token-exchange-audience'))).toEqual(
        [],
      );
    }
  });

  it('refuses a relative kubeconfig path', async () => {
    expect(
      await renderChartError({
        values: { nmi: { federated: { enabled: true, tokenRequestKubeconfig: 'kubeconfig' } } },
      }),
    ).toContain('tokenRequestKubeconfig');
  });

  it('federates an identity from values with the annotation, and leaves others alone', async () => {
    const objects = await renderChart({
      values: {
        azureIdentities: {
          shop: {
            clientID: '00000000-0000-0000-0000-000000000001',
            resourceID:
              '/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shop',
            federated: true,
            binding: { name: 'shop-binding', selector: 'shop' },
          },
          plain: {
            clientID: '00000000-0000-0000-0000-000000000002',
            resourceID:
              '/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/plain',
            binding: { name: 'plain-binding', selector: 'plain' },
          },
        },
      },
    });
    const annotations = (name: string): unknown =>
      (find(objects, 'AzureIdentity', name).metadata as { annotations?: unknown }).annotations;
    expect(annotations('shop')).toEqual({ 'aadpodidentity.k8s.io/federated': 'true' });
    expect(annotations('plain')).toBeUndefined();
  });
});
