/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
// Federated NMI through its public entry against Kubernetes: the testkit emulator in `pnpm test`, the
// real kube-apiserver in `pnpm test:conformance` (Node authorizer, NodeRestriction, its own URL as
// service-account issuer). NMI watches with its service account bound only to the shipped ClusterRole,
// requests the pod's token with a node's own credentials, and exchanges it at the sandbox's Entra,
// which reads the API server's discovery document and JWKS to check it.
import { KubeConfig, RbacAuthorizationV1Api, WellKnownApi } from '@kubernetes/client-node';
import { createNmi, type Nmi } from '@pod-identity/nmi';
import { decodeToken, type SandboxNode } from '@pod-identity/testkit';
import {
  againstRealServer,
  eventually,
  isStatus,
  startKubeTarget,
  type CreatedPod,
  type KubeTarget,
} from '@pod-identity/test-support';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenOf, tokenRequest } from './nmi-test-support.js';

const AUDIENCE = 'api://AzureADTokenExchange';
const VAULT = 'resource=https%3A%2F%2Fvault.azure.net';
let target: KubeTarget;
let node: SandboxNode;
let nmi: Nmi;
let namespace: string;
let app: CreatedPod;
let plain: CreatedPod;

function loadKubeConfig(file: string | undefined, variable: string): KubeConfig {
  if (file === undefined) throw new Error(`${variable} must be set with POD_IDENTITY_KUBECONFIG`);
  const config = new KubeConfig();
  config.loadFromFile(file);
  return config;
}

/** The real server's CA, which the sandbox's Entra must trust to read its issuer. */
function realServerCa(): string[] {
  if (!againstRealServer) return [];
  const caData = loadKubeConfig(
    process.env.POD_IDENTITY_KUBECONFIG,
    'POD_IDENTITY_KUBECONFIG',
  ).getCurrentCluster()?.caData;
  return caData === undefined ? [] : [Buffer.from(caData, 'base64').toString('utf8')];
}

async function ignoreConflict(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!isStatus(error, 409)) throw error;
  }
}

beforeAll(async () => {
  target = await startKubeTarget('nmi', {
    scaleSets: [{ name: `fed${Math.random().toString(36).slice(2, 8)}-vmss`, nodeCount: 1 }],
    identities: ['workload-id'],
    federated: true,
    trustedIssuerCaPems: realServerCa(),
  });
  const sandboxNode = target.sandbox.nodes[0]!;
  // On the real server, NodeRestriction knows the node by the name in its credentials.
  node = againstRealServer ? { ...sandboxNode, name: 'conformance-node-a' } : sandboxNode;
  await target.node(node);
  namespace = await target.namespace('nmi-fed');
  const workload = target.sandbox.identities.get('workload-id')!;
  for (const [name, annotations] of [
    ['workload', { 'azure.workload.identity/client-id': workload.clientId }],
    ['plain', {}],
  ] as const) {
    await target.core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name, annotations } },
    });
  }
  // What docs/federated.md has a cluster grant: nodes may request the token-exchange audience.
  const rbac = target.admin.makeApiClient(RbacAuthorizationV1Api);
  await ignoreConflict(
    rbac.createClusterRole({
      body: {
        metadata: { name: 'pod-identity-token-exchange-audience' },
        rules: [
          {
            apiGroups: [''],
            resources: [AUDIENCE],
            verbs: ['request-serviceaccounts-token-audience'],
          },
        ],
      },
    }),
  );
  await ignoreConflict(
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'pod-identity-token-exchange-audience' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'pod-identity-token-exchange-audience',
        },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
      },
    }),
  );
  const discovery: unknown = await target.admin
    .makeApiClient(WellKnownApi)
    .getServiceAccountIssuerOpenIDConfiguration();
  const issuer = (
    (typeof discovery === 'string' ? JSON.parse(discovery) : discovery) as { issuer: string }
  ).issuer;
  target.sandbox.addFederatedCredential('workload-id', {
    name: 'kubernetes',
    issuer,
    subject: `system:serviceaccount:${namespace}:workload`,
  });
  const useLabel = { 'azure.workload.identity/use': 'true' };
  app = await target.pod(node, {
    namespace,
    name: 'app',
    labels: useLabel,
    serviceAccountName: 'workload',
  });
  plain = await target.pod(node, {
    namespace,
    name: 'plain',
    labels: useLabel,
    serviceAccountName: 'plain',
  });

  const tokenRequestKubeConfig = againstRealServer
    ? loadKubeConfig(process.env.POD_IDENTITY_NODE_A_KUBECONFIG, 'POD_IDENTITY_NODE_A_KUBECONFIG')
    : (() => {
        const config = new KubeConfig();
        config.loadFromString(sandboxNode.nodeKubeconfigYaml);
        return config;
      })();
  nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: target.component,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    podLookupTimeoutMs: 2_000,
    credentialOptions: target.sandbox.credentialOptions,
    logger: pino({ level: 'silent' }),
    federated: {
      tokenRequestKubeConfig,
      defaultTenantId: target.sandbox.tenantId,
      authorityHost: target.sandbox.endpoints.entra,
    },
  });
  await eventually(
    () =>
      nmi.state.pods.lookup(app.podIp).kind === 'pod' &&
      nmi.state.pods.lookup(plain.podIp).kind === 'pod',
    'NMI to list the pods',
  );
});

afterAll(async () => {
  await nmi.close();
  await target.stop();
});

const mode = againstRealServer ? 'real API server, node credentials, shipped RBAC' : 'emulator';

describe(`NMI on Kubernetes, federated mode (${mode})`, () => {
  it('exchanges a pod-bound token from the API server for the identity its service account names', async () => {
    const workload = target.sandbox.identities.get('workload-id')!;
    // The service-account informer may trail the pods: a refusal for a missing annotation is retried.
    let answer = await tokenRequest(nmi.url, app.podIp, VAULT);
    for (let i = 0; i < 50 && answer.status === 403 && answer.body.includes('annotation'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await tokenRequest(nmi.url, app.podIp, VAULT);
    }
    expect(answer.status, answer.body).toBe(200);
    expect(decodeToken(accessTokenOf(answer)).claims).toMatchObject({
      appid: workload.clientId,
      oid: workload.principalId,
      aud: 'https://vault.azure.net',
    });
    expect(
      target.sandbox.entra.requestLog().some((r) => r.kind === 'federated' && r.status === 200),
    ).toBe(true);
  });

  it('refuses a labelled pod whose service account names no identity, without asking the API server for a token', async () => {
    const answer = await tokenRequest(nmi.url, plain.podIp, VAULT);
    // Final: IMDS's answer for an identity that is not there (400), with NMI's reason.
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('has no azure.workload.identity/client-id annotation');
  });
});
