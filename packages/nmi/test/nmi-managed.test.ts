import forge from 'node-forge';
import { createNmi, type Nmi } from '@pod-identity/nmi';
import {
  createSelfSignedCertificate,
  startSandbox,
  type Sandbox,
  type SandboxNode,
} from '@pod-identity/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenOf,
  assignToScaleSet,
  azureIdentity,
  azureIdentityBinding,
  claimsOf,
  tokenRequest,
  podIpOf,
  until,
} from './nmi-test-support.js';

// Managed mode (no MIC: NMI authorises from bindings and identities in the pod's namespace), with
// user-assigned identities through the node IMDS and service principals through the Entra emulator.
let sandbox: Sandbox;
let node: SandboxNode;
let nmi: Nmi;
const secretSp = { clientId: '', tenant2: crypto.randomUUID() };
const certSp = { clientId: '' };

const podIp = (name: string, namespace: string): string => podIpOf(sandbox, name, namespace);

function secret(namespace: string, name: string, data: Record<string, string | Buffer>) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name },
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  };
}

// A service principal's first token imports @azure/identity (NMI loads it only then): import it in a
// hook of its own, so the import time of a loaded machine is not charged to the test's timeout.
beforeAll(async () => {
  await import('@azure/identity');
});

beforeAll(async () => {
  sandbox = await startSandbox({
    nodeCount: 1,
    identities: ['team-a-id', 'team-b-id'],
  });
  node = sandbox.nodes[0]!;
  await assignToScaleSet(
    sandbox,
    node.scaleSetName!,
    [...sandbox.identities.values()].map((i) => i.id),
  );
  const store = sandbox.kubernetes.store;
  for (const ns of ['team-a', 'team-b'])
    store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

  const a = sandbox.identities.get('team-a-id')!;
  const b = sandbox.identities.get('team-b-id')!;
  store.put(azureIdentity('team-a', 'uami', { type: 0, resourceID: a.id, clientID: a.clientId }));
  store.put(azureIdentityBinding('team-a', 'uami-binding', 'uami', 'web'));
  store.put(azureIdentity('team-b', 'uami', { type: 0, resourceID: b.id, clientID: b.clientId }));
  store.put(azureIdentityBinding('team-b', 'uami-binding', 'uami', 'web'));

  // A service principal with a secret, also registered in an auxiliary tenant.
  const secretInfo = sandbox.entra.registerServicePrincipal({
    tenantId: sandbox.tenantId,
    clientSecret: 's3cret',
  });
  sandbox.entra.registerServicePrincipal({
    tenantId: secretSp.tenant2,
    clientId: secretInfo.clientId,
    clientSecret: 's3cret',
  });
  secretSp.clientId = secretInfo.clientId;
  store.put(secret('team-a', 'sp-secret', { clientSecret: 's3cret' }));
  store.put(
    azureIdentity('team-a', 'sp', {
      type: 1,
      clientID: secretInfo.clientId,
      tenantID: sandbox.tenantId,
      clientPassword: { name: 'sp-secret', namespace: 'team-a' },
      adEndpoint: sandbox.endpoints.entra,
    }),
  );
  store.put(azureIdentityBinding('team-a', 'sp-binding', 'sp', 'sp'));
  store.put(
    azureIdentity('team-a', 'sp-multi', {
      type: 1,
      clientID: secretInfo.clientId,
      tenantID: sandbox.tenantId,
      auxiliaryTenantIDs: [secretSp.tenant2],
      clientPassword: { name: 'sp-secret', namespace: 'team-a' },
      adEndpoint: sandbox.endpoints.entra,
    }),
  );
  store.put(azureIdentityBinding('team-a', 'sp-multi-binding', 'sp-multi', 'sp-multi'));

  // A service principal with a certificate, stored as the original expects: PKCS#12 + password.
  const cert = createSelfSignedCertificate({ commonName: 'nmi-test-sp' });
  const certInfo = sandbox.entra.registerServicePrincipal({
    tenantId: sandbox.tenantId,
    certificatePem: cert.certificatePem,
  });
  certSp.clientId = certInfo.clientId;
  const p12 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(cert.privateKeyPem),
    [forge.pki.certificateFromPem(cert.certificatePem)],
    'pfx-password',
    { algorithm: 'aes256' },
  );
  store.put(
    secret('team-a', 'sp-cert', {
      certificate: Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'),
      password: 'pfx-password',
    }),
  );
  store.put(
    azureIdentity('team-a', 'sp-cert', {
      type: 2,
      clientID: certInfo.clientId,
      tenantID: sandbox.tenantId,
      clientPassword: { name: 'sp-cert', namespace: 'team-a' },
      adEndpoint: sandbox.endpoints.entra,
    }),
  );
  store.put(azureIdentityBinding('team-a', 'sp-cert-binding', 'sp-cert', 'sp-cert'));

  for (const [ns, name, selector] of [
    ['team-a', 'web', 'web'],
    ['team-b', 'web', 'web'],
    ['team-a', 'sp', 'sp'],
    ['team-a', 'sp-multi', 'sp-multi'],
    ['team-a', 'sp-cert', 'sp-cert'],
    ['team-b', 'thief', 'sp'],
  ] as const) {
    sandbox.createPod({
      namespace: ns,
      name,
      nodeName: node.name,
      labels: { aadpodidbinding: selector },
    });
  }

  nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: sandbox.kubeConfig,
    operationMode: 'managed',
    forceNamespaced: true,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    credentialOptions: sandbox.credentialOptions,
    logger: pino({ level: 'silent' }),
  });
  await until(() => nmi.state.pods.size === 6 && nmi.state.view.identities('team-a').length === 4);
});

afterAll(async () => {
  await nmi.close();
  await sandbox.stop();
});

describe('NMI, managed mode', () => {
  it('serves each pod the identity bound in its own namespace, same selector or not', async () => {
    const a = await tokenRequest(
      nmi.url,
      podIp('web', 'team-a'),
      'resource=https://management.azure.com/',
    );
    const b = await tokenRequest(
      nmi.url,
      podIp('web', 'team-b'),
      'resource=https://management.azure.com/',
    );
    expect(claimsOf(accessTokenOf(a)).appid).toBe(sandbox.identities.get('team-a-id')!.clientId);
    expect(claimsOf(accessTokenOf(b)).appid).toBe(sandbox.identities.get('team-b-id')!.clientId);
  });

  it('never lets a pod use a selector of another namespace', async () => {
    const answer = await tokenRequest(
      nmi.url,
      podIp('thief', 'team-b'),
      'resource=https://management.azure.com/',
    );
    expect(answer.status).toBe(400);
    expect(answer.body).not.toContain('access_token');
  });

  it('gets a service principal token with the secret through Entra', async () => {
    const answer = await tokenRequest(
      nmi.url,
      podIp('sp', 'team-a'),
      'resource=https://vault.azure.net',
    );
    expect(answer.status).toBe(200);
    const claims = claimsOf(accessTokenOf(answer));
    expect(claims.appid).toBe(secretSp.clientId);
    expect(claims.tid).toBe(sandbox.tenantId);
  });

  it('returns an array, primary tenant first, for a service principal with auxiliary tenants', async () => {
    const answer = await tokenRequest(
      nmi.url,
      podIp('sp-multi', 'team-a'),
      'resource=https://management.azure.com/',
    );
    expect(answer.status).toBe(200);
    const tokens = JSON.parse(answer.body) as { access_token: string }[];
    expect(tokens.map((t) => claimsOf(t.access_token).tid)).toEqual([
      sandbox.tenantId,
      secretSp.tenant2,
    ]);
  });

  it('gets a service principal token with a PKCS#12 certificate (signed assertion checked by Entra)', async () => {
    const answer = await tokenRequest(
      nmi.url,
      podIp('sp-cert', 'team-a'),
      'resource=https://management.azure.com/',
    );
    expect(answer.status).toBe(200);
    expect(claimsOf(accessTokenOf(answer)).appid).toBe(certSp.clientId);
    expect(sandbox.entra.requestLog().some((r) => r.kind === 'assertion' && r.status === 200)).toBe(
      true,
    );
  });

  it('answers 403 when Entra refuses the credential and 503 when it is unavailable', async () => {
    sandbox.kubernetes.store.put(secret('team-a', 'sp-secret', { clientSecret: 'wrong' }));
    const refused = await tokenRequest(
      nmi.url,
      podIp('sp', 'team-a'),
      'resource=https://refused.example/',
    );
    expect(refused.status).toBe(403);
    sandbox.kubernetes.store.put(secret('team-a', 'sp-secret', { clientSecret: 's3cret' }));
    sandbox.entra.faults.failNext({ status: 503, count: 10 });
    const unavailable = await tokenRequest(
      nmi.url,
      podIp('sp', 'team-a'),
      'resource=https://unavailable.example/',
    );
    expect(unavailable.status).toBe(503);
    sandbox.entra.faults.clear();
  });
});
