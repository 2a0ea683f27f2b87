/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
// NMI through its public entry against Kubernetes: the testkit emulator in `pnpm test`, the real
// kube-apiserver in `pnpm test:conformance`, where NMI runs as its service account bound only to
// the shipped ClusterRole pod-identity-nmi (deploy/rbac/). Azure (node IMDS, Entra) is the
// sandbox's in both. The world is written as admin through the API: the node, pods with their
// status, identities, bindings, AzureAssignedIdentity records (as MIC writes them) and a secret.
// Callers are sockets bound to the pods' loopback addresses.
import { Writable } from 'node:stream';
import { createNmi, type Nmi } from '@pod-identity/nmi';
import {
  decodeToken,
  type SandboxNode,
  type UserAssignedIdentityInfo,
} from '@pod-identity/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  againstRealServer,
  CRD_GROUP,
  CRD_VERSION,
  eventually,
  startKubeTarget,
  type CreatedPod,
  type KubeTarget,
} from '@pod-identity/test-support';
import {
  accessTokenOf,
  assignToScaleSet,
  azureAssignedIdentity,
  azureIdentity,
  azureIdentityBinding,
  tokenRequest,
} from './nmi-test-support.js';

let target: KubeTarget;
let node: SandboxNode;
const nmis: Nmi[] = [];
const logLines: Record<string, unknown>[] = [];
let ids: Record<'a' | 'b' | 'm', UserAssignedIdentityInfo>;

function logger() {
  return pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    }),
  );
}

async function startNmi(options: Partial<Parameters<typeof createNmi>[0]> = {}): Promise<Nmi> {
  const nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: target.component,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    // A pod without a record waits 1 s for MIC; one whose record is Created waits 3 s for the
    // replace to Assigned (generous: the real server's watch under a loaded machine).
    retryAttemptsForCreated: 2,
    retryAttemptsForAssigned: 4,
    findIdentityRetryIntervalMs: 500,
    podLookupTimeoutMs: 2_000,
    logger: logger(),
    ...options,
  });
  nmis.push(nmi);
  return nmi;
}

/** Warnings and errors about a refusal (403) by the API server: the ClusterRole was not enough. */
function refusals(): Record<string, unknown>[] {
  return logLines.filter(
    (line) => (line.level as number) >= 40 && /forbidden|\b403\b/i.test(JSON.stringify(line)),
  );
}

const ARM = 'resource=https%3A%2F%2Fmanagement.azure.com%2F';

// A service principal's first token imports @azure/identity (NMI loads it only then): import it in a
// hook of its own, so the import time of a loaded machine is not charged to a test's timeout.
beforeAll(async () => {
  await import('@azure/identity');
});

beforeAll(async () => {
  target = await startKubeTarget('nmi', {
    // A unique scale set, hence a unique node name: the real server is shared by every file.
    scaleSets: [{ name: `nmi${Math.random().toString(36).slice(2, 8)}-vmss`, nodeCount: 1 }],
    identities: ['id-a', 'id-b', 'id-m'],
  });
  node = target.sandbox.nodes[0]!;
  ids = {
    a: target.sandbox.identities.get('id-a')!,
    b: target.sandbox.identities.get('id-b')!,
    m: target.sandbox.identities.get('id-m')!,
  };
  await assignToScaleSet(target.sandbox, node.scaleSetName!, [ids.a.id, ids.b.id, ids.m.id]);
  await target.node(node);
});

afterAll(async () => {
  await Promise.all(nmis.map((nmi) => nmi.close()));
  await target.stop();
});

const mode = againstRealServer ? 'real API server, shipped RBAC' : 'emulator';

describe(`NMI on Kubernetes, standard mode (${mode})`, () => {
  let nmi: Nmi;
  let namespace: string;
  let app: CreatedPod;
  let other: CreatedPod;
  const identityA = () =>
    azureIdentity(namespace, 'id-a', { type: 0, resourceID: ids.a.id, clientID: ids.a.clientId });
  const identityB = () =>
    azureIdentity(namespace, 'id-b', { type: 0, resourceID: ids.b.id, clientID: ids.b.clientId });
  // The identity and binding a record is made from exist while MIC keeps the record (NMI checks).
  const createSources = async (record: ReturnType<typeof azureAssignedIdentity>): Promise<void> => {
    await target.createCustom('azureidentities', record.spec.azureIdentityRef);
    await target.createCustom('azureidentitybindings', record.spec.azureBindingRef);
  };

  beforeAll(async () => {
    namespace = await target.namespace('nmi-std');
    app = await target.pod(node, { namespace, name: 'app', labels: { aadpodidbinding: 'app' } });
    other = await target.pod(node, {
      namespace,
      name: 'other',
      labels: { aadpodidbinding: 'other' },
    });
    // What MIC writes for `app` on this node; and a record for `other` on another node, which this
    // NMI must not see (its informer selects nodename=<its node>).
    const forApp = azureAssignedIdentity(
      { name: 'app', namespace },
      identityA(),
      node.name,
      'Assigned',
    );
    await createSources(forApp);
    await target.createCustom('azureassignedidentities', forApp);
    const elsewhere = azureAssignedIdentity(
      { name: 'other', namespace },
      identityB(),
      `${node.name}-x`,
      'Assigned',
    );
    await target.createCustom('azureassignedidentities', elsewhere);
    nmi = await startNmi();
    await eventually(
      () =>
        nmi.state.pods.lookup(app.podIp).kind === 'pod' &&
        nmi.state.pods.lookup(other.podIp).kind === 'pod' &&
        nmi.state.view.assignedIdentities(namespace, 'app').length === 1,
      'NMI to list the pods and the record',
    );
  });

  it('serves the pod at its source address a token of the identity its record names', async () => {
    const answer = await tokenRequest(nmi.url, app.podIp, ARM);
    expect(answer.status).toBe(200);
    const { claims } = decodeToken(accessTokenOf(answer));
    expect(claims).toMatchObject({
      appid: ids.a.clientId,
      oid: ids.a.principalId,
      tid: target.sandbox.tenantId,
      aud: 'https://management.azure.com/',
    });
    expect(claims.xms_mirid?.toLowerCase()).toBe(ids.a.id.toLowerCase());
  });

  it("refuses another pod of the node (its only record is another node's), and an identity not its own", async () => {
    expect(nmi.state.view.assignedIdentities(namespace, 'other')).toEqual([]);
    const refused = await tokenRequest(nmi.url, other.podIp, ARM);
    expect(refused.status).toBe(400);
    expect(refused.body).not.toContain('access_token');
    const notOwn = await tokenRequest(nmi.url, app.podIp, `${ARM}&client_id=${ids.b.clientId}`);
    expect(notOwn.status).toBe(400);
    expect(notOwn.body).not.toContain('access_token');
  });

  it('answers 503 + Retry-After for an address no pod of the node has', async () => {
    const [a, b, c] = node.podAddressRange.last.split('.');
    const stranger = await tokenRequest(nmi.url, `${a!}.${b!}.${c!}.250`, ARM);
    expect(stranger.status).toBe(503);
    expect(stranger.body).not.toContain('access_token');
  });

  it('follows the watches: a pod and record created later are served, a request waiting for Assigned succeeds', async () => {
    const late = await target.pod(node, {
      namespace,
      name: 'late',
      labels: { aadpodidbinding: 'late' },
    });
    await eventually(() => nmi.state.pods.lookup(late.podIp).kind === 'pod', 'the new pod in NMI');
    const created = azureAssignedIdentity(
      { name: 'late', namespace },
      identityB(),
      node.name,
      'Created',
    );
    await createSources(created);
    await target.createCustom('azureassignedidentities', created);
    await eventually(
      () => nmi.state.view.assignedIdentities(namespace, 'late').length === 1,
      'the Created record in NMI',
    );
    const current = (await target.getCustom(
      'azureassignedidentities',
      'default',
      created.metadata.name,
    ))!;
    const pending = tokenRequest(nmi.url, late.podIp, ARM);
    // MIC replaces the record to Assigned once the identity is on the node.
    await target.custom.replaceNamespacedCustomObject({
      group: CRD_GROUP,
      version: CRD_VERSION,
      namespace: 'default',
      plural: 'azureassignedidentities',
      name: created.metadata.name,
      body: { ...current, status: { status: 'Assigned', availableReplicas: 1 } },
    });
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(decodeToken(accessTokenOf(answer)).claims.appid).toBe(ids.b.clientId);
  });

  // docs/nmi.md promises a Warning event on a refused pod; the shipped ClusterRole grants NMI
  // `events create` for it, so the real server must accept it too.
  it('records a Warning event on the refused pod', async () => {
    await eventually(
      async () =>
        (await target.core.listNamespacedEvent({ namespace })).items.some(
          (event) =>
            event.involvedObject.name === 'other' &&
            event.type === 'Warning' &&
            event.reason === 'IdentityNotFound',
        ),
      'the IdentityNotFound event on the refused pod',
      10_000,
    );
  });

  it('needs nothing else beyond the shipped ClusterRole for its informers and token path', () => {
    expect(refusals()).toEqual([]);
  });
});

describe(`NMI on Kubernetes, managed mode (${mode})`, () => {
  let nmi: Nmi;
  let web: CreatedPod;
  let sp: CreatedPod;
  let thief: CreatedPod;
  let spClientId: string;

  beforeAll(async () => {
    const namespace = await target.namespace('nmi-managed');
    const elsewhere = await target.namespace('nmi-elsewhere');
    await target.createCustom(
      'azureidentities',
      azureIdentity(namespace, 'uami', { type: 0, resourceID: ids.m.id, clientID: ids.m.clientId }),
    );
    await target.createCustom(
      'azureidentitybindings',
      azureIdentityBinding(namespace, 'uami-binding', 'uami', 'web'),
    );
    // A service principal whose secret NMI reads (the ClusterRole's secrets get).
    const principal = target.sandbox.entra.registerServicePrincipal({
      tenantId: target.sandbox.tenantId,
      clientSecret: 'sp-s3cret',
    });
    spClientId = principal.clientId;
    await target.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'sp-secret', namespace },
        stringData: { clientSecret: 'sp-s3cret' },
      },
    });
    await target.createCustom(
      'azureidentities',
      azureIdentity(namespace, 'sp', {
        type: 1,
        clientID: principal.clientId,
        tenantID: target.sandbox.tenantId,
        clientPassword: { name: 'sp-secret', namespace },
        adEndpoint: target.sandbox.endpoints.entra,
      }),
    );
    await target.createCustom(
      'azureidentitybindings',
      azureIdentityBinding(namespace, 'sp-binding', 'sp', 'sp'),
    );
    web = await target.pod(node, { namespace, name: 'web', labels: { aadpodidbinding: 'web' } });
    sp = await target.pod(node, { namespace, name: 'sp', labels: { aadpodidbinding: 'sp' } });
    // Same selector, another namespace: managed mode never crosses namespaces.
    thief = await target.pod(node, {
      namespace: elsewhere,
      name: 'thief',
      labels: { aadpodidbinding: 'web' },
    });
    nmi = await startNmi({
      operationMode: 'managed',
      forceNamespaced: true,
      credentialOptions: target.sandbox.credentialOptions,
    });
    await eventually(
      () =>
        [web, sp, thief].every((pod) => nmi.state.pods.lookup(pod.podIp).kind === 'pod') &&
        nmi.state.view.identities(namespace).length === 2 &&
        nmi.state.view.bindings(namespace).length === 2,
      'NMI to list the pods, identities and bindings',
    );
  });

  it('serves a pod the user-assigned identity bound in its namespace', async () => {
    const answer = await tokenRequest(nmi.url, web.podIp, ARM);
    expect(answer.status).toBe(200);
    expect(decodeToken(accessTokenOf(answer)).claims).toMatchObject({
      appid: ids.m.clientId,
      oid: ids.m.principalId,
    });
  });

  it('gets a service principal token with the client secret it reads from the Secret', async () => {
    const answer = await tokenRequest(nmi.url, sp.podIp, 'resource=https://vault.azure.net');
    expect(answer.status).toBe(200);
    expect(decodeToken(accessTokenOf(answer)).claims).toMatchObject({
      appid: spClientId,
      tid: target.sandbox.tenantId,
    });
  });

  it('refuses a pod of another namespace with the same selector', async () => {
    const answer = await tokenRequest(nmi.url, thief.podIp, ARM);
    expect(answer.status).toBe(400);
    expect(answer.body).not.toContain('access_token');
  });

  it('needs nothing beyond the shipped ClusterRole, secrets and events included', () => {
    expect(refusals()).toEqual([]);
  });
});
