/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
/**
 * Contract tests of bound service-account tokens (TokenRequest, TokenReview, OIDC discovery and JWKS),
 * the parts of the Kubernetes API that federated NMI relies on. The testkit runs them against its
 * emulator, the conformance tier against a real kube-apiserver (Node authorizer, NodeRestriction and
 * a service-account issuer), through `@kubernetes/client-node` only.
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { ClientAssertionCredential } from '@azure/identity';
import {
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  OpenidApi,
  RbacAuthorizationV1Api,
  WellKnownApi,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { azureClientTlsOptions, decodeToken, startEntraEmulator } from '@pod-identity/testkit';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';

/** The audience federated NMI asks for: what Entra expects of a federated client assertion. */
export const EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** The API server a contract run targets. */
export interface TokenTarget {
  /** Cluster administrator. */
  readonly kubeConfig: KubeConfig;
  /** Two node names and a kubeconfig authenticating as each (`system:node:<name>`, group `system:nodes`). */
  readonly nodes: readonly [string, string];
  nodeKubeConfig(nodeName: string): KubeConfig;
  close(): Promise<void>;
}

async function failure(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      const body = JSON.parse(String(error.body)) as { message?: string };
      return { code: error.code, message: body.message ?? '' };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Registers the suite; `start` gives a fresh target. */
export function serviceAccountTokenContract(start: () => Promise<TokenTarget>): void {
  let target: TokenTarget;
  let core: CoreV1Api;
  const namespace = `sat-${randomBytes(3).toString('hex')}`;

  const createPod = async (
    name: string,
    nodeName: string,
    serviceAccountName: string,
    mountedAudience?: string,
  ): Promise<V1Pod> =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          nodeName,
          serviceAccountName,
          automountServiceAccountToken: false,
          containers: [{ name: 'app', image: 'example.invalid/app:1' }],
          ...(mountedAudience === undefined
            ? {}
            : {
                volumes: [
                  {
                    name: 'federated-token',
                    projected: {
                      sources: [
                        {
                          serviceAccountToken: {
                            audience: mountedAudience,
                            expirationSeconds: 3600,
                            path: 'token',
                          },
                        },
                      ],
                    },
                  },
                ],
              }),
        },
      },
    });

  const requestAs = (
    kubeConfig: KubeConfig,
    name: string,
    pod: V1Pod | undefined,
    audience: string,
    uid?: string,
  ) =>
    kubeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      namespace,
      name,
      body: {
        spec: {
          audiences: [audience],
          expirationSeconds: 3600,
          ...(pod === undefined
            ? {}
            : {
                boundObjectRef: {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name: pod.metadata?.name ?? '',
                  uid: uid ?? pod.metadata?.uid ?? '',
                },
              }),
        },
      },
    });

  // client-node types these documents as strings but hands them over parsed.
  const parsed = (document: unknown): unknown =>
    typeof document === 'string' ? (JSON.parse(document) as unknown) : document;
  const discovery = async (): Promise<Record<string, unknown>> =>
    parsed(
      await target.kubeConfig
        .makeApiClient(WellKnownApi)
        .getServiceAccountIssuerOpenIDConfiguration(),
    ) as Record<string, unknown>;
  const jwks = async (): Promise<{ keys: ({ kid: string } & Record<string, unknown>)[] }> =>
    parsed(
      await target.kubeConfig.makeApiClient(OpenidApi).getServiceAccountIssuerOpenIDKeyset(),
    ) as {
      keys: ({ kid: string } & Record<string, unknown>)[];
    };

  beforeAll(async () => {
    target = await start();
    core = target.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    for (const name of target.nodes) {
      // Nodes may remain from an earlier run against the same server.
      await core.createNode({ body: { metadata: { name } } }).catch((error: unknown) => {
        if (!(error instanceof ApiException && error.code === 409)) throw error;
      });
    }
    for (const name of ['workload', 'other'])
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    // What docs/federated.md tells a cluster to grant: nodes may ask for the token-exchange audience.
    const rbac = target.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const roleName = `${namespace}-token-exchange-audience`;
    await rbac.createClusterRole({
      body: {
        metadata: { name: roleName },
        rules: [
          {
            apiGroups: [''],
            resources: [EXCHANGE_AUDIENCE],
            verbs: ['request-serviceaccounts-token-audience'],
          },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: roleName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
      },
    });
    // An identity provider reads the issuer's discovery documents without credentials: the bootstrap
    // role for them, bound to unauthenticated users (a no-op on a cluster that already did so).
    await rbac
      .createClusterRoleBinding({
        body: {
          metadata: { name: 'service-account-issuer-discovery-unauthenticated' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'system:service-account-issuer-discovery',
          },
          subjects: [
            {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'Group',
              name: 'system:unauthenticated',
            },
          ],
        },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ApiException && error.code === 409)) throw error;
      });
  }, 120_000);
  afterAll(async () => {
    await target.close();
  });

  test('a token bound to a pod names the issuer, subject, audience, pod and node, and lives as long as asked', async () => {
    const [nodeA] = target.nodes;
    const pod = await createPod('bound', nodeA, 'workload');
    const before = Date.now();
    const answer = await requestAs(target.kubeConfig, 'workload', pod, EXCHANGE_AUDIENCE);
    const token = answer.status?.token ?? '';
    const claims = claimsOf(token);
    expect(claims).toMatchObject({
      iss: (await discovery()).issuer,
      sub: `system:serviceaccount:${namespace}:workload`,
      aud: [EXCHANGE_AUDIENCE],
      'kubernetes.io': {
        namespace,
        serviceaccount: { name: 'workload' },
        pod: { name: 'bound', uid: pod.metadata?.uid },
        node: { name: nodeA },
      },
    });
    const expiry = answer.status?.expirationTimestamp?.getTime() ?? 0;
    expect(expiry).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_599_000);
    expect(claims.exp).toBe(expiry / 1000);
  });

  test('the discovery document and JWKS verify the token', async () => {
    const [nodeA] = target.nodes;
    const pod = await createPod('verified', nodeA, 'workload');
    const token =
      (await requestAs(target.kubeConfig, 'workload', pod, EXCHANGE_AUDIENCE)).status?.token ?? '';
    const [head = '', body = '', signature = ''] = token.split('.');
    const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as {
      alg: string;
      kid: string;
    };
    const jwk = (await jwks()).keys.find((key) => key.kid === header.kid);
    expect(header.alg).toBe('RS256');
    expect(jwk).toBeDefined();
    const publicKey = createPublicKey({ key: jwk as never, format: 'jwk' });
    expect(
      verify(
        'sha256',
        Buffer.from(`${head}.${body}`),
        publicKey,
        Buffer.from(signature, 'base64url'),
      ),
    ).toBe(true);
    const document = await discovery();
    expect(document).toMatchObject({
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect(String(document.jwks_uri)).toMatch(/\/openid\/v1\/jwks$/);
  });

  test('a node gets a token for a pod on that node, for the granted audience', async () => {
    const [nodeA] = target.nodes;
    const pod = await createPod('on-a', nodeA, 'workload');
    const answer = await requestAs(
      target.nodeKubeConfig(nodeA),
      'workload',
      pod,
      EXCHANGE_AUDIENCE,
    );
    expect(claimsOf(answer.status?.token ?? '')['kubernetes.io']).toMatchObject({
      pod: { uid: pod.metadata?.uid },
    });
  });

  test('a node is refused a token for a pod on another node', async () => {
    const [nodeA, nodeB] = target.nodes;
    const pod = await createPod('elsewhere', nodeA, 'other');
    const node = target.nodeKubeConfig(nodeB);
    // The Node authorizer: no pod on node B runs as this service account.
    const unrelated = await failure(requestAs(node, 'other', pod, EXCHANGE_AUDIENCE));
    expect(unrelated.code).toBe(403);
    expect(unrelated.message).toContain(
      `no relationship found between node '${nodeB}' and this object`,
    );
    // NodeRestriction: node B runs a pod as this service account, but the token is for node A's pod.
    await createPod('here', nodeB, 'other');
    const elsewhere = await failure(requestAs(node, 'other', pod, EXCHANGE_AUDIENCE));
    expect(elsewhere.code).toBe(403);
    expect(elsewhere.message).toContain(
      'node requested token bound to a pod scheduled on a different node',
    );
  });

  test('a node is refused an unbound token and a binding without the pod uid', async () => {
    const [nodeA] = target.nodes;
    const pod = await createPod('unbound', nodeA, 'workload');
    const node = target.nodeKubeConfig(nodeA);
    expect((await failure(requestAs(node, 'workload', undefined, EXCHANGE_AUDIENCE))).code).toBe(
      403,
    );
    const noUid = await failure(
      node.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
        namespace,
        name: 'workload',
        body: {
          spec: {
            audiences: [EXCHANGE_AUDIENCE],
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '' },
          },
        },
      }),
    );
    expect(noUid.code).toBe(403);
    expect(noUid.message).toContain('node requested token with a pod binding without a uid');
  });

  test('a node may ask only for audiences its pod mounts or that it was granted', async () => {
    const [nodeA] = target.nodes;
    const node = target.nodeKubeConfig(nodeA);
    const plain = await createPod('plain', nodeA, 'workload');
    expect((await failure(requestAs(node, 'workload', plain, 'api://other-audience'))).code).toBe(
      403,
    );
    const mounting = await createPod('mounting', nodeA, 'workload', 'api://other-audience');
    const answer = await requestAs(node, 'workload', mounting, 'api://other-audience');
    expect(claimsOf(answer.status?.token ?? '').aud).toEqual(['api://other-audience']);
  });

  test('a binding must match the pod: its uid, and the service account it runs as', async () => {
    const [nodeA] = target.nodes;
    const pod = await createPod('mismatch', nodeA, 'workload');
    const wrongUid = await failure(
      requestAs(
        target.kubeConfig,
        'workload',
        pod,
        EXCHANGE_AUDIENCE,
        '00000000-0000-0000-0000-000000000000',
      ),
    );
    expect(wrongUid.code).toBe(409);
    const wrongAccount = await failure(
      requestAs(target.kubeConfig, 'other', pod, EXCHANGE_AUDIENCE),
    );
    expect(wrongAccount.code).toBe(400);
    expect(wrongAccount.message).toContain(
      'cannot bind token for serviceaccount "other" to pod running with different serviceaccount name.',
    );
    expect(
      (await failure(requestAs(target.kubeConfig, 'missing', undefined, EXCHANGE_AUDIENCE))).code,
    ).toBe(404);
  });

  test('a token lives at least ten minutes', async () => {
    const refused = await failure(
      core.createNamespacedServiceAccountToken({
        namespace,
        name: 'workload',
        body: { spec: { audiences: [EXCHANGE_AUDIENCE], expirationSeconds: 60 } },
      }),
    );
    expect(refused.code).toBe(422);
    expect(refused.message).toContain('may not specify a duration less than 10 minutes');
  });

  test('a bound token stops authenticating when its pod is deleted', async () => {
    const [nodeA] = target.nodes;
    const pod = await createPod('short-lived', nodeA, 'workload');
    const token =
      (await requestAs(target.kubeConfig, 'workload', pod, EXCHANGE_AUDIENCE)).status?.token ?? '';
    const reviews = target.kubeConfig.makeApiClient(AuthenticationV1Api);
    const review = () =>
      reviews.createTokenReview({ body: { spec: { token, audiences: [EXCHANGE_AUDIENCE] } } });
    const valid = await review();
    expect(valid.status?.authenticated).toBe(true);
    expect(valid.status?.user?.username).toBe(`system:serviceaccount:${namespace}:workload`);
    expect(valid.status?.user?.extra?.['authentication.kubernetes.io/pod-uid']).toEqual([
      pod.metadata?.uid,
    ]);
    await core.deleteNamespacedPod({ namespace, name: 'short-lived', gracePeriodSeconds: 0 });
    // kube-apiserver looks the pod up through its informer first, so allow it to catch up.
    await vi.waitFor(
      async () => {
        const gone = await review();
        expect(gone.status?.authenticated ?? false).toBe(false);
        expect(gone.status?.error).toBeTruthy();
      },
      { timeout: 30_000, interval: 250 },
    );
  });

  test('Entra accepts a node-requested token after reading the issuer`s discovery document and keys', async () => {
    const [nodeA] = target.nodes;
    const pod = await createPod('exchanged', nodeA, 'workload');
    const token =
      (await requestAs(target.nodeKubeConfig(nodeA), 'workload', pod, EXCHANGE_AUDIENCE)).status
        ?.token ?? '';
    const issuer = String((await discovery()).issuer);
    const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const clientId = '5d1d9c4b-2b4e-4f0e-9a43-3f8a3e6f1c20';
    const caPem = target.kubeConfig.getCurrentCluster()?.caData;
    const entra = await startEntraEmulator({
      ...(caPem === undefined
        ? {}
        : { trustedIssuerCaPems: [Buffer.from(caPem, 'base64').toString('utf8')] }),
      federatedIdentities: {
        findApplication: (tenant, client) =>
          tenant === tenantId && client === clientId
            ? {
                tenantId,
                clientId,
                objectId: 'a3b0ad4c-8b6d-4d59-9b2c-0a0d1e35f8f0',
                federatedCredentials: [
                  {
                    name: 'kubernetes',
                    issuer,
                    subject: `system:serviceaccount:${namespace}:workload`,
                    audiences: [EXCHANGE_AUDIENCE],
                  },
                ],
              }
            : undefined,
      },
    });
    try {
      // The tenant's discovery document must answer before MSAL sends the assertion.
      entra.registerServicePrincipal({ tenantId, clientSecret: 'unused' });
      const credential = new ClientAssertionCredential(
        tenantId,
        clientId,
        () => Promise.resolve(token),
        {
          authorityHost: entra.url,
          disableInstanceDiscovery: true,
          ...azureClientTlsOptions(entra.certificateAuthority),
        },
      );
      const answer = await credential.getToken('https://storage.azure.com/.default');
      expect(decodeToken(answer.token).claims).toMatchObject({
        appid: clientId,
        aud: 'https://storage.azure.com',
        tid: tenantId,
      });
    } finally {
      await entra.stop();
    }
  });
}
