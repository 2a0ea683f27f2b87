// The child process of bench/nmi: a bare node:http server, NMI on an in-memory cluster of 1,000 pods
// and 200 identities with a stand-in token source (hits), NMI over a fake IMDS (misses), the fake
// IMDS itself. Reports addresses and memory figures to the parent over IPC.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryClusterState, createNmi } from '@pod-identity/nmi';
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
} from '@pod-identity/core';
import { IDENTITY_COUNT, POD_COUNT, podIp } from './bench-fixture.ts';

const fakeJwt = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ aud: 'https://management.azure.com/', oid: 'o', appid: 'a', exp: 9_999_999_999 })).toString('base64url')}.${'s'.repeat(342)}`;

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}`);
    }),
  );
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
gc();
const heapBefore = process.memoryUsage().heapUsed;

// 1. The ceiling: a bare server answering a token-sized fixed JSON body.
const fixedBody = JSON.stringify({
  access_token: fakeJwt,
  refresh_token: '',
  expires_in: '3599',
  expires_on: '9999999999',
  not_before: '1700000000',
  resource: 'https://management.azure.com/',
  token_type: 'Bearer',
  client_id: '00000000-0000-0000-0000-000000000000',
});
const bare = http.createServer((_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(fixedBody),
  });
  res.end(fixedBody);
});
const bareUrl = await listen(bare);

// 2. A fake IMDS (the upstream of cache misses), answering at once.
const imds = http.createServer((req, res) => {
  const resource = new URL(req.url ?? '/', 'http://x').searchParams.get('resource') ?? '';
  const body = JSON.stringify({
    access_token: fakeJwt,
    expires_in: '86399',
    expires_on: String(Math.floor(Date.now() / 1000) + 86_399),
    not_before: String(Math.floor(Date.now() / 1000)),
    resource,
    token_type: 'Bearer',
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
const imdsUrl = await listen(imds);
const imdsPort = Number(new URL(imdsUrl).port);

// 3. The cluster: 200 identities, each with its binding (selector x-<i>), 1,000 pods, one Assigned record
// per pod.
const identities: AzureIdentity[] = Array.from({ length: IDENTITY_COUNT }, (_, i) => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { namespace: 'default', name: `id-${String(i)}` },
  spec: {
    type: 0,
    clientID: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    resourceID: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${String(i)}`,
  },
}));
const bindings: AzureIdentityBinding[] = identities.map((identity, i) => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentityBinding',
  metadata: { namespace: 'default', name: `b-${String(i)}` },
  spec: { azureIdentity: identity.metadata.name, selector: `x-${String(i)}` },
}));
const records: AzureAssignedIdentity[] = [];
const state = createMemoryClusterState();
for (let i = 0; i < POD_COUNT; i += 1) {
  const name = `pod-${String(i)}`;
  state.pods.upsert({
    namespace: 'default',
    name,
    phase: 'Running',
    podIPs: [podIp(i)],
    labels: { aadpodidbinding: `x-${String(i % IDENTITY_COUNT)}` },
  });
  const identity = identities[i % IDENTITY_COUNT]!;
  records.push({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureAssignedIdentity',
    metadata: {
      namespace: 'default',
      name: `${name}-default-${identity.metadata.name}`,
      labels: { nodename: 'node' },
    },
    spec: {
      azureIdentityRef: identity,
      azureBindingRef: bindings[i % IDENTITY_COUNT]!,
      pod: name,
      podNamespace: 'default',
      nodename: 'node',
    },
    status: { status: 'Assigned' },
  });
}
state.set({ identities, bindings });
// Indexes like the informers': records by pod, bindings by selector.
const byPod = new Map<string, AzureAssignedIdentity[]>();
for (const record of records) byPod.set(`${record.spec.podNamespace}/${record.spec.pod}`, [record]);
const bySelector = new Map(bindings.map((binding) => [binding.spec.selector, [binding]]));
const view = state.view;
Object.assign(view, {
  assignedIdentities: (ns: string, name: string) => byPod.get(`${ns}/${name}`) ?? [],
  bindingsSelecting: (selector: string) => bySelector.get(selector) ?? [],
  identities: (ns: string) => (ns === 'default' ? identities : []),
});

const common = {
  nodeName: 'node',
  state,
  listenAddress: '127.0.0.1',
  port: 0,
  metadataIp: '127.0.0.1',
  metadataPort: imdsPort,
  events: false,
} as const;
const nmi = await createNmi(common);
// A second NMI whose every request misses: the cache holds nothing for long (min validity above the lifetime).
const missNmi = await createNmi({
  ...common,
  tokenCache: { minValidityMs: 10 * 86_400_000, errorBackoffMs: 0 },
});

process.send?.({ kind: 'ready', bareUrl, nmiUrl: nmi.url, missNmiUrl: missNmi.url, imdsUrl });

process.on('message', (message: { kind: string }) => {
  if (message.kind === 'memory') {
    gc();
    process.send?.({
      kind: 'memory',
      heapBytes: process.memoryUsage().heapUsed - heapBefore,
      rssBytes: process.memoryUsage().rss,
      cacheSize: nmi.cache.size,
    });
  }
  if (message.kind === 'stop') {
    void Promise.all([nmi.close(), missNmi.close()]).then(() => {
      bare.close();
      imds.close();
      process.exit(0);
    });
  }
});
