import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  createServiceAccountTokenRequester,
  type ServiceAccountTokenRequester,
} from '@pod-identity/core/kubernetes';
import { createNmi, type Nmi } from '@pod-identity/nmi';
import {
  createServiceAccountSigningKey,
  createServiceAccountTokenSigner,
  startSandbox,
  type Sandbox,
  type SandboxNode,
} from '@pod-identity/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenOf,
  azureIdentity,
  azureIdentityBinding,
  claimsOf,
  tokenRequest,
  podIpOf,
  until,
} from './nmi-test-support.js';

// The seed's demo program, unchanged and in its own process, against NMI in federated mode: the
// identity is on no scale set, so only the token exchange can give the demo its token. Then the
// refusals of tokens Entra must not accept (expired, signed by a key the issuer does not publish,
// issued by another cluster), each in IMDS's error shape.
const run = promisify(execFile);
const DEMO_MAIN = fileURLToPath(new URL('../../../examples/demo-app/src/main.ts', import.meta.url));
const AUDIENCE = 'api://AzureADTokenExchange';
let sandbox: Sandbox;
let node: SandboxNode;
let nmi: Nmi;
let workDir: string;

const podIp = (name: string): string => podIpOf(sandbox, name);

function serviceAccount(name: string, clientId?: string): void {
  sandbox.kubernetes.store.put({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      namespace: 'default',
      name,
      ...(clientId === undefined
        ? {}
        : { annotations: { 'azure.workload.identity/client-id': clientId } }),
    },
  });
}

function nodeRequester(): ServiceAccountTokenRequester {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(node.nodeKubeconfigYaml);
  return createServiceAccountTokenRequester(kubeConfig);
}

function startNmi(tokenRequester: ServiceAccountTokenRequester): Promise<Nmi> {
  return createNmi({
    nodeName: node.name,
    kubeConfig: sandbox.kubeConfig,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    credentialOptions: sandbox.credentialOptions,
    logger: pino({ level: 'silent' }),
    federated: {
      tokenRequester,
      defaultTenantId: sandbox.tenantId,
      authorityHost: sandbox.endpoints.entra,
    },
  });
}

beforeAll(async () => {
  sandbox = await startSandbox({
    nodeCount: 1,
    identities: ['demo-id', 'bound-id'],
    federated: true,
    // ARM accepts only tokens the sandbox's Entra issued for ARM: the demo's VM listing needs a real one.
    verifyArmTokens: true,
  });
  [node] = sandbox.nodes as [SandboxNode];
  workDir = await mkdtemp(path.join(tmpdir(), 'pod-identity-federated-demo-'));
  await writeFile(path.join(workDir, 'ca.pem'), sandbox.caPem);

  // Federated by the service account (azure-workload-identity's annotations and label).
  const demo = sandbox.identities.get('demo-id')!;
  serviceAccount('demo', demo.clientId);
  sandbox.addFederatedCredential('demo-id', {
    name: 'default-demo',
    subject: 'system:serviceaccount:default:demo',
  });
  sandbox.createPod({
    name: 'demo',
    nodeName: node.name,
    serviceAccountName: 'demo',
    labels: { 'azure.workload.identity/use': 'true' },
  });

  // Federated by the AzureIdentity (annotation), selected by the walkthrough's binding label.
  const bound = sandbox.identities.get('bound-id')!;
  sandbox.kubernetes.store.put(
    azureIdentity(
      'default',
      'bound',
      { type: 0, resourceID: bound.id, clientID: bound.clientId },
      { 'aadpodidentity.k8s.io/federated': 'true' },
    ),
  );
  sandbox.kubernetes.store.put(azureIdentityBinding('default', 'bound-binding', 'bound', 'demo'));
  serviceAccount('walkthrough');
  sandbox.addFederatedCredential('bound-id', {
    name: 'default-walkthrough',
    subject: 'system:serviceaccount:default:walkthrough',
  });
  sandbox.createPod({
    name: 'walkthrough',
    nodeName: node.name,
    serviceAccountName: 'walkthrough',
    labels: { aadpodidbinding: 'demo' },
  });

  nmi = await startNmi(nodeRequester());
  await until(() => nmi.state.pods.size === 2 && nmi.state.view.identities('default').length === 1);
});

afterAll(async () => {
  await nmi.close();
  await sandbox.stop();
  await rm(workDir, { recursive: true, force: true });
});

async function runDemo(pod: string, clientId: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [
      DEMO_MAIN,
      '--once',
      '--subscription-id',
      sandbox.subscriptionId,
      '--resource-group',
      sandbox.nodeResourceGroup,
      '--client-id',
      clientId,
      '--imds-endpoint',
      nmi.url,
      '--arm-endpoint',
      sandbox.endpoints.arm,
      '--arm-ca-file',
      path.join(workDir, 'ca.pem'),
      '--local-address',
      podIp(pod),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return stdout;
}

describe('the demo app, unchanged, in federated mode', () => {
  for (const [pod, identityName, how] of [
    ['demo', 'demo-id', 'its service account`s annotation'],
    ['walkthrough', 'bound-id', 'its binding`s AzureIdentity annotation'],
  ] as const) {
    it(`gets the right identity's token by federation (${how}) and completes its round`, async () => {
      const identity = sandbox.identities.get(identityName)!;
      const stdout = await runDemo(pod, identity.clientId);
      expect(stdout).toContain(`clientID(${identity.clientId})`);
      expect(stdout).toContain('successfully doARMOperations vm count 0');
      expect(stdout).toContain('successfully made GET on instance metadata');
      // The token NMI holds for this pod and the demo's resource is the identity's...
      const answer = await tokenRequest(
        nmi.url,
        podIp(pod),
        `resource=${encodeURIComponent('https://management.azure.com/')}&client_id=${identity.clientId}`,
      );
      expect(answer.status).toBe(200);
      expect(claimsOf(accessTokenOf(answer))).toMatchObject({
        appid: identity.clientId,
        xms_mirid: identity.id,
        tid: sandbox.tenantId,
      });
      // ...and it can only have come from the exchange: no scale set carries the identity.
      expect(
        (sandbox.arm.getIdentityAssignment(node.identityTargetId)?.userAssigned ?? []).map((i) =>
          i.resourceId.toLowerCase(),
        ),
      ).not.toContain(identity.id.toLowerCase());
    });
  }
});

describe('NMI refuses what Entra refuses, in IMDS`s shape', () => {
  // The API server's real token for the pod, then replaced by the case's own.
  const cases: {
    name: string;
    code: string;
    token: (real: string) => string;
  }[] = [
    {
      name: 'an expired token',
      code: 'AADSTS700024',
      token: (real) =>
        sandbox.kubernetes.serviceAccountTokens.sign({
          audiences: [AUDIENCE],
          expirationSeconds: 600,
          binding: bindingOf(real),
          now: new Date(Date.now() - 7_200_000),
        }).token,
    },
    {
      name: 'a token signed by a key the issuer does not publish',
      code: 'AADSTS7000272',
      token: (real) =>
        createServiceAccountTokenSigner(
          sandbox.oidcIssuerUrl,
          createServiceAccountSigningKey(),
        ).sign({ audiences: [AUDIENCE], expirationSeconds: 3600, binding: bindingOf(real) }).token,
    },
    {
      name: 'a token of another cluster`s issuer',
      code: 'AADSTS700211',
      token: (real) =>
        createServiceAccountTokenSigner(
          'https://oidc.example.invalid/other-cluster/',
          createServiceAccountSigningKey(),
        ).sign({ audiences: [AUDIENCE], expirationSeconds: 3600, binding: bindingOf(real) }).token,
    },
  ];
  for (const { name, code, token } of cases) {
    it(`refuses ${name} (${code}, 403 access_denied)`, async () => {
      const real = nodeRequester();
      const swapped = await startNmi({
        request: async (request) => {
          const answer = await real.request(request);
          return { ...answer, token: token(answer.token) };
        },
      });
      try {
        await until(() => swapped.state.pods.size === 2);
        const answer = await tokenRequest(
          swapped.url,
          podIp('demo'),
          'resource=https://vault.azure.net',
        );
        expect(answer.status).toBe(403);
        expect(answer.body).not.toContain('access_token');
        const body = JSON.parse(answer.body) as { error: string; error_description: string };
        expect(body.error).toBe('access_denied');
        expect(body.error_description).toContain(code);
      } finally {
        await swapped.close();
      }
    });
  }
});

// The `kubernetes.io` claim of a real token: the replacement names the same pod and service account.
function bindingOf(token: string): {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
} {
  return claimsOf(token)['kubernetes.io'] as ReturnType<typeof bindingOf>;
}
