import { Writable } from 'node:stream';
import { createNmi, startNmiHttpServers, type Nmi } from '@pod-identity/nmi';
import { startSandbox, type Sandbox, type SandboxNode } from '@pod-identity/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenOf,
  assignToScaleSet,
  azureAssignedIdentity,
  putAssigned,
  azureIdentity,
  azurePodIdentityException,
  call,
  claimsOf,
  tokenRequest,
  podIpOf,
  until,
} from './nmi-test-support.js';

// One emulated cluster (one scale set node with a system-assigned identity, three user-assigned
// identities assigned to the scale set) and NMIs on the node, fed by informers from the emulator.
let sandbox: Sandbox;
let node: SandboxNode;
let nmi: Nmi;
let strict: Nmi; // --block-instance-metadata, --set-retry-after-header, --exception-match=all
const logLines: string[] = [];
const ids: Record<string, { id: string; clientId: string; principalId: string }> = {};
const identity = (name: string) =>
  azureIdentity('default', name, {
    type: 0,
    resourceID: ids[name]!.id,
    clientID: ids[name]!.clientId,
  });

const podIp = (name: string, namespace = 'default'): string => podIpOf(sandbox, name, namespace);

beforeAll(async () => {
  sandbox = await startSandbox({
    scaleSets: [{ nodeCount: 1, systemAssignedIdentity: true }],
    identities: ['id-a', 'id-b', 'id-c'],
  });
  node = sandbox.nodes[0]!;
  for (const name of ['id-a', 'id-b', 'id-c']) {
    const info = sandbox.identities.get(name)!;
    ids[name] = { id: info.id, clientId: info.clientId, principalId: info.principalId };
  }
  await assignToScaleSet(
    sandbox,
    node.scaleSetName!,
    Object.values(ids).map((i) => i.id),
  );
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  const common = {
    nodeName: node.name,
    kubeConfig: sandbox.kubeConfig,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    retryAttemptsForCreated: 2,
    retryAttemptsForAssigned: 2,
    findIdentityRetryIntervalMs: 150,
    podLookupTimeoutMs: 300,
    eventIntervalMs: 60_000,
  };
  nmi = await createNmi({ ...common, logger });
  strict = await createNmi({
    ...common,
    logger: pino({ level: 'silent' }),
    blockInstanceMetadata: true,
    setRetryAfterHeader: true,
    exceptionMatch: 'all',
    retryAttemptsForCreated: 1,
    retryAttemptsForAssigned: 1,
    events: false,
  });
});

afterAll(async () => {
  await nmi.close();
  await strict.close();
  await sandbox.stop();
});

describe('NMI token route, standard mode', () => {
  it('serves an Assigned identity to its pod, as a token of that identity', async () => {
    sandbox.createPod({ name: 'app', nodeName: node.name, labels: { aadpodidbinding: 'app' } });
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'app', namespace: 'default' },
        identity('id-a'),
        node.name,
        'Assigned',
      ),
    );
    await until(() => nmi.state.view.assignedIdentities('default', 'app').length === 1);
    const answer = await tokenRequest(
      nmi.url,
      podIp('app'),
      'resource=https%3A%2F%2Fmanagement.azure.com%2F',
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(Object.values(body).every((v) => typeof v === 'string')).toBe(true);
    expect(body.resource).toBe('https://management.azure.com/');
    const claims = claimsOf(accessTokenOf(answer));
    expect(claims.appid).toBe(ids['id-a']!.clientId);
    expect(claims.oid).toBe(ids['id-a']!.principalId);
    // by client_id (any case), by msi_res_id and mi_res_id, and by object_id (from the token's oid)
    for (const query of [
      `client_id=${ids['id-a']!.clientId.toUpperCase()}`,
      `msi_res_id=${encodeURIComponent(ids['id-a']!.id)}`,
      `mi_res_id=${encodeURIComponent(ids['id-a']!.id.toLowerCase())}`,
      `object_id=${ids['id-a']!.principalId}`,
    ]) {
      const selected = await tokenRequest(
        nmi.url,
        podIp('app'),
        `resource=https://vault.azure.net&${query}`,
      );
      expect(selected.status, query).toBe(200);
      expect(claimsOf(accessTokenOf(selected)).appid).toBe(ids['id-a']!.clientId);
    }
  });

  it('answers from the cache: a second request does not reach IMDS', async () => {
    const before = node.imds.requestLog().length;
    const first = await tokenRequest(nmi.url, podIp('app'), 'resource=https://storage.azure.com/');
    const second = await tokenRequest(nmi.url, podIp('app'), 'resource=https://storage.azure.com/');
    expect(accessTokenOf(second)).toBe(accessTokenOf(first));
    expect(node.imds.requestLog().length).toBe(before + 1);
  });

  it('chooses the same identity every time when several are assigned and none is named', async () => {
    sandbox.createPod({ name: 'multi', nodeName: node.name, labels: { aadpodidbinding: 'multi' } });
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'multi', namespace: 'default' },
        identity('id-c'),
        node.name,
        'Assigned',
      ),
    );
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'multi', namespace: 'default' },
        identity('id-b'),
        node.name,
        'Assigned',
      ),
    );
    await until(() => nmi.state.view.assignedIdentities('default', 'multi').length === 2);
    for (let i = 0; i < 3; i += 1) {
      const answer = await tokenRequest(nmi.url, podIp('multi'), `resource=https://r${String(i)}/`);
      expect(claimsOf(accessTokenOf(answer)).appid).toBe(ids['id-b']!.clientId); // id-b sorts before id-c
    }
  });

  it('refuses an identity assigned to the node but not to this pod with IMDS`s final 400, never its token', async () => {
    const answer = await tokenRequest(
      nmi.url,
      podIp('app'),
      `resource=r&client_id=${ids['id-b']!.clientId}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(answer.body)).toEqual({
      error: 'invalid_request',
      error_description: expect.stringMatching(
        /^Identity not found: no azure identity found for pod default\/app matching the requested client ID/,
      ) as string,
    });
    expect(answer.body).not.toContain('access_token');
  });

  it('waits for MIC: a request made before the record is Assigned succeeds once it is', async () => {
    sandbox.createPod({ name: 'late', nodeName: node.name, labels: { aadpodidbinding: 'late' } });
    await until(() => nmi.state.pods.get('default', 'late') !== undefined);
    const pending = tokenRequest(nmi.url, podIp('late'), 'resource=https://late/');
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'late', namespace: 'default', binding: 'id-c-late' },
        identity('id-c'),
        node.name,
        'Created',
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'late', namespace: 'default', binding: 'id-c-late' },
        identity('id-c'),
        node.name,
        'Assigned',
      ),
    );
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(claimsOf(accessTokenOf(answer)).appid).toBe(ids['id-c']!.clientId);
  });

  it('gives up with 503 + Retry-After when the record stays Created (20 s with --set-retry-after-header)', async () => {
    sandbox.createPod({ name: 'stuck', nodeName: node.name, labels: { aadpodidbinding: 'stuck' } });
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'stuck', namespace: 'default', binding: 'id-a-stuck' },
        identity('id-a'),
        node.name,
        'Created',
      ),
    );
    await until(
      () =>
        nmi.state.view.assignedIdentities('default', 'stuck').length === 1 &&
        strict.state.view.assignedIdentities('default', 'stuck').length === 1,
    );
    const plain = await tokenRequest(nmi.url, podIp('stuck'), 'resource=r');
    expect(plain.status).toBe(503);
    expect(plain.headers['retry-after']).toBe('5');
    expect(JSON.parse(plain.body)).toMatchObject({ error: 'temporarily_unavailable' });
    const withRetryAfter = await tokenRequest(strict.url, podIp('stuck'), 'resource=r');
    expect(withRetryAfter.status).toBe(503);
    expect(withRetryAfter.headers['retry-after']).toBe('20');
  });

  it('records a Warning event on a refused pod, once per interval', async () => {
    await tokenRequest(nmi.url, podIp('stuck'), 'resource=r2');
    await until(() =>
      sandbox.kubernetes.store
        .list({ apiVersion: 'v1', kind: 'Event', namespace: 'default' })
        .some((e) => (e.involvedObject as { name?: string }).name === 'stuck'),
    );
    const events = sandbox.kubernetes.store
      .list({ apiVersion: 'v1', kind: 'Event', namespace: 'default' })
      .filter((e) => (e.involvedObject as { name?: string }).name === 'stuck');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'IdentityNotFound' });
    expect((events[0]!.count as number | undefined) ?? 1).toBe(1);
  });

  it('logs JSON with client IDs redacted', async () => {
    const clientId = ids['id-b']!.clientId;
    await tokenRequest(nmi.url, podIp('app'), `resource=r&client_id=${clientId}`);
    const refused = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'token request refused');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.at(-1)).toMatchObject({
      clientId: `${clientId.slice(0, 4)}##### REDACTED #####${clientId.slice(-4)}`,
      namespace: 'default',
      pod: 'app',
    });
    expect(logLines.join('')).not.toContain(clientId);
  });
});

describe('NMI caller identification', () => {
  it('answers 503 + Retry-After for an address that is no running pod on this node (yet)', async () => {
    const answer = await tokenRequest(nmi.url, '127.3.1.250', 'resource=r');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.body).not.toContain('access_token');
  });

  it('never serves a terminated pod, and refuses an IP two running pods claim until one is gone', async () => {
    sandbox.createPod({ name: 'old', nodeName: node.name, labels: { aadpodidbinding: 'old' } });
    const ip = podIp('old');
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'old', namespace: 'default', binding: 'id-c-old' },
        identity('id-c'),
        node.name,
        'Assigned',
      ),
    );
    await until(() => nmi.state.view.assignedIdentities('default', 'old').length === 1);
    expect((await tokenRequest(nmi.url, ip, 'resource=https://old/')).status).toBe(200);

    // A new pod is handed the same IP while the old one still runs (stale status): nobody is served.
    const oldPod = sandbox.kubernetes.store.get({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'default',
      name: 'old',
    })!;
    const meta: Record<string, unknown> = {
      ...(oldPod.metadata as Record<string, unknown>),
      name: 'new',
    };
    delete meta.uid;
    delete meta.resourceVersion;
    sandbox.kubernetes.store.put({ ...oldPod, metadata: meta });
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'new', namespace: 'default', selector: 'old', binding: 'id-a-old' },
        identity('id-a'),
        node.name,
        'Assigned',
      ),
    );
    await until(() => nmi.state.pods.lookup(ip).kind === 'shared');
    const shared = await tokenRequest(nmi.url, ip, 'resource=https://old/');
    expect(shared.status).toBe(500);
    expect(shared.body).not.toContain('access_token');

    // The old pod terminates: the IP is the new pod's, and only the new pod's identity is served.
    const old = sandbox.kubernetes.store.get({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'default',
      name: 'old',
    })!;
    sandbox.kubernetes.store.put({
      ...old,
      status: { ...(old.status as object), phase: 'Succeeded' },
    });
    await until(() => nmi.state.pods.lookup(ip).kind === 'pod');
    const answer = await tokenRequest(nmi.url, ip, 'resource=https://old/');
    expect(claimsOf(accessTokenOf(answer)).appid).toBe(ids['id-a']!.clientId);
  });
});

describe('NMI exceptions', () => {
  it('passes an excepted pod to the node IMDS with exactly the selector it sent', async () => {
    sandbox.kubernetes.store.put(
      azurePodIdentityException('default', 'agents', { app: 'agent', team: 'infra' }),
    );
    sandbox.createPod({
      name: 'agent',
      nodeName: node.name,
      labels: { app: 'agent', team: 'infra' },
    });
    await until(
      () =>
        nmi.state.view.exceptions('default').length === 1 &&
        nmi.state.pods.get('default', 'agent') !== undefined,
    );
    const system = await tokenRequest(
      nmi.url,
      podIp('agent'),
      'resource=https://management.azure.com/',
    );
    expect(system.status).toBe(200);
    const machine = sandbox.arm.getIdentityAssignment(node.identityTargetId)!;
    expect(claimsOf(accessTokenOf(system)).oid).toBe(machine.systemAssigned!.principalId);
    const user = await tokenRequest(
      nmi.url,
      podIp('agent'),
      `resource=https://management.azure.com/&client_id=${ids['id-b']!.clientId}`,
    );
    expect(claimsOf(accessTokenOf(user)).appid).toBe(ids['id-b']!.clientId);
  });

  // The Go documentation's application-exception example: the pod carries one of the labels.
  it('excepts a pod carrying one of the exception labels (the original rule); --exception-match=all does not', async () => {
    sandbox.createPod({ name: 'one-label', nodeName: node.name, labels: { app: 'agent' } });
    await until(
      () =>
        nmi.state.pods.get('default', 'one-label') !== undefined &&
        strict.state.pods.get('default', 'one-label') !== undefined &&
        strict.state.view.exceptions('default').length === 1,
    );
    const query = `resource=https://management.azure.com/&client_id=${ids['id-b']!.clientId}`;
    const excepted = await tokenRequest(nmi.url, podIp('one-label'), query);
    expect(excepted.status).toBe(200);
    expect(claimsOf(accessTokenOf(excepted)).appid).toBe(ids['id-b']!.clientId);
    // Not excepted, and no binding selects it: refused at once, finally.
    const refused = await tokenRequest(strict.url, podIp('one-label'), query);
    expect(refused.status).toBe(400);
  });
});

describe('NMI routes and hostile input', () => {
  it('answers the SDK availability probe (no query, no header) at once with the IMDS 400', async () => {
    // From an address that is no pod: the header check comes first, so nothing waits for the informer.
    const answer = await call(nmi.url, {
      from: '127.3.1.251',
      path: '/metadata/identity/oauth2/token',
    });
    expect(answer).toMatchObject({
      status: 400,
      body: '{"error":"invalid_request","error_description":"Required metadata header not specified"}\n',
    });
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('answers a missing resource with 400 and the original text', async () => {
    const answer = await call(nmi.url, {
      from: podIp('app'),
      path: '/metadata/identity/oauth2/token/',
      headers: { Metadata: 'true' },
    });
    expect(answer).toMatchObject({ status: 400, body: 'parameter resource cannot be empty\n' });
  });

  it.each([
    ['/metadata/identity\\oauth2/token?resource=r', 400],
    ['/metadata/Identity/oauth2/token/?resource=r', 400],
    ['/metadata/identity%2Foauth2/token?resource=r', 400],
    ['/metadata/identity/oauth2/token/../token?resource=r', 400],
    ['/metadata/identity/oauth2/token?resource=a&resource=b', 400],
    ['/metadata/identity/oauth2/token?resource=r&client_id=a&object_id=b', 400],
    [`/metadata/identity/oauth2/token?resource=${'x'.repeat(5000)}`, 414],
  ])('refuses %s with %i and no token', async (path, status) => {
    const answer = await call(nmi.url, { from: podIp('app'), path, headers: { Metadata: 'true' } });
    expect(answer.status).toBe(status);
    expect(answer.body).not.toContain('access_token');
  });

  it('checks the header, the method and the caller again when a request target repeats', async () => {
    // NMI keeps the parsed form of recent request targets; none of the per-request checks may ride on it.
    sandbox.createPod({ name: 'repeat', nodeName: node.name, labels: { aadpodidbinding: 'r' } });
    putAssigned(
      sandbox.kubernetes.store,
      azureAssignedIdentity(
        { name: 'repeat', namespace: 'default', selector: 'r', binding: 'id-a-r' },
        identity('id-a'),
        node.name,
        'Assigned',
      ),
    );
    await until(() => nmi.state.view.assignedIdentities('default', 'repeat').length === 1);
    const path =
      '/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https%3A%2F%2Frepeat.example%2F';
    const served = await call(nmi.url, {
      from: podIp('repeat'),
      path,
      headers: { Metadata: 'true' },
    });
    expect(served.status).toBe(200);
    expect(served.body).toContain('access_token');
    const withoutTrueHeader: Record<string, string>[] = [
      {},
      { Metadata: 'false' },
      { Metadata: 'TRUE' },
    ];
    for (const headers of withoutTrueHeader) {
      const answer = await call(nmi.url, { from: podIp('repeat'), path, headers });
      expect(answer.status).toBe(400);
      expect(answer.body).not.toContain('access_token');
    }
    const posted = await call(nmi.url, {
      from: podIp('repeat'),
      method: 'POST',
      path,
      headers: { Metadata: 'true' },
    });
    expect(posted.status).toBe(405);
    const stranger = await call(nmi.url, {
      from: '127.3.1.252',
      path,
      headers: { Metadata: 'true' },
    });
    expect(stranger.status).toBe(503);
    expect(stranger.body).not.toContain('access_token');
  });

  it('refuses methods other than GET with 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await call(nmi.url, {
        from: podIp('app'),
        method,
        path: '/metadata/identity/oauth2/token?resource=r',
        headers: { Metadata: 'true' },
      });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET');
    }
  });

  it('survives malformed HTTP and oversized headers with 400/431, and keeps serving', async () => {
    const net = await import('node:net');
    const url = new URL(nmi.url);
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(
          { host: url.hostname, port: Number(url.port), localAddress: podIp('app') },
          () => socket.end(text),
        );
        let out = '';
        socket.on('data', (d: Buffer) => (out += d.toString()));
        socket.on('close', () => {
          resolve(out);
        });
        socket.on('error', () => {
          resolve(out);
        });
      });
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(
      await raw(
        `GET /metadata/identity/oauth2/token?resource=r HTTP/1.1\r\nHost: x\r\nMetadata: true\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
      ),
    ).toMatch(/^HTTP\/1\.1 4/);
    expect(
      (await tokenRequest(nmi.url, podIp('app'), 'resource=https://management.azure.com/')).status,
    ).toBe(200);
  });

  it('passes other paths through to the real IMDS, with the Metadata rule', async () => {
    const missing = await call(nmi.url, {
      from: podIp('app'),
      path: '/doesnotexist',
      headers: { Metadata: 'true' },
    });
    expect(missing.status).toBe(404);
    const instance = await call(nmi.url, {
      from: podIp('app'),
      path: '/metadata/instance?api-version=2021-02-01',
      headers: { Metadata: 'true' },
    });
    expect(instance.status).toBe(200);
    expect(JSON.parse(instance.body)).toHaveProperty('compute');
    const noHeader = await call(nmi.url, {
      from: podIp('app'),
      path: '/metadata/instance?api-version=2021-02-01',
    });
    expect(noHeader.status).toBe(400);
  });

  it('blocks instance metadata with 403 when configured', async () => {
    const answer = await call(strict.url, {
      from: podIp('app'),
      path: '/Metadata/instance/compute?api-version=2021-02-01',
      headers: { Metadata: 'true' },
    });
    expect(answer).toMatchObject({
      status: 403,
      body: 'Request blocked by AAD Pod Identity NMI\n',
    });
  });

  it('serves node agents on /host/token/ from the host only, for the named pod', async () => {
    const ok = await call(nmi.url, {
      from: '127.0.0.1',
      path: '/host/token/?resource=https://vault.azure.net',
      headers: { podns: 'default', podname: 'app' },
    });
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body) as { token: { access_token: string }; clientid: string };
    expect(body.clientid).toBe(ids['id-a']!.clientId);
    expect(claimsOf(body.token.access_token).appid).toBe(ids['id-a']!.clientId);
    const missing = await call(nmi.url, {
      from: '127.0.0.1',
      path: '/host/token/?resource=r',
      headers: { podns: 'default' },
    });
    expect(missing).toMatchObject({
      status: 400,
      body: "missing 'podname' and 'podns' from request header\n",
    });
    const fromPod = await call(nmi.url, {
      from: podIp('app'),
      path: '/host/token/?resource=r',
      headers: { podns: 'default', podname: 'app' },
    });
    expect(fromPod).toMatchObject({
      status: 500,
      body: 'request remote address is not from a host\n',
    });
    // no exception bypass on the host route
    const agent = await call(nmi.url, {
      from: '127.0.0.1',
      path: '/host/token/?resource=r',
      headers: { podns: 'default', podname: 'agent' },
    });
    expect(agent.status).toBe(400);
  });

  it('exposes /healthz (Active) on the probe port, no profiling, and the metrics', async () => {
    const host = sandbox.nodes[0]!.internalIp;
    const servers = await startNmiHttpServers({
      nmi,
      registry: nmi.registry,
      probePort: 0,
      metricsPort: 0,
      host,
    });
    try {
      const probeUrl = `http://${host}:${String(servers.probePort)}`;
      expect(await call(probeUrl, { path: '/healthz' })).toMatchObject({
        status: 200,
        body: 'Active',
      });
      expect(await call(probeUrl, { path: '/debug/pprof/' })).toMatchObject({
        status: 404,
        body: '404 page not found\n',
      });
      const metrics = await call(`http://${host}:${String(servers.metricsPort)}`, {
        path: '/metrics',
      });
      expect(metrics.body).toContain('aadpodidentity_nmi_operations_duration_seconds_bucket');
      expect(metrics.body).toMatch(
        /aadpodidentity_nmi_token_cache_requests_total\{result="hit"\} [1-9]/,
      );
    } finally {
      await servers.close();
    }
  });
});
