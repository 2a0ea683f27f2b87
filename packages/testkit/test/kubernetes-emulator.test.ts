/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  CoreV1Api,
  CoordinationV1Api,
  ListWatch,
  Watch,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import {
  createCertificateAuthority,
  startKubernetesEmulator,
  type KubernetesEmulator,
} from '@pod-identity/testkit';
import { afterEach, describe, expect, test } from 'vitest';

let kube: KubernetesEmulator | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

async function statusOf(
  call: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      return { code: error.code, body: JSON.parse(String(error.body)) as Record<string, unknown> };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('bearer token authentication', () => {
  test('accepts the configured token and answers 401 Unauthorized without it', async () => {
    kube = await startKubernetesEmulator({ token: 'secret-token' });
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name: 'default' });
    expect(ns.metadata?.name).toBe('default');

    const anonymous = await fetch(`${kube.url}/api/v1/namespaces`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({
      kind: 'Status',
      reason: 'Unauthorized',
      code: 401,
    });
    const wrong = await fetch(`${kube.url}/api/v1/namespaces`, {
      headers: { authorization: 'Bearer other' },
    });
    expect(wrong.status).toBe(401);
  });
});

describe('https', () => {
  test('serves https with a given certificate; the kubeconfig trusts the CA', async () => {
    const ca = createCertificateAuthority();
    const cert = ca.issueServerCertificate();
    kube = await startKubernetesEmulator({
      tls: {
        certificatePem: cert.certificatePem,
        privateKeyPem: cert.privateKeyPem,
        caPem: ca.certificatePem,
      },
    });
    expect(kube.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(kube.kubeconfigYaml).not.toContain('insecure-skip-tls-verify');
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    expect((await core.readNamespace({ name: 'kube-system' })).metadata?.name).toBe('kube-system');
  });
});

describe('fault injection', () => {
  test('fails the next N matching calls with the chosen code as a Status, then recovers', async () => {
    kube = await startKubernetesEmulator();
    const leases = kube.kubeConfig.makeApiClient(CoordinationV1Api);
    kube.faults.failNext({ verb: 'create', resource: 'leases', code: 503, count: 2 });
    const body = { metadata: { name: 'l1' }, spec: { holderIdentity: 'a' } };
    for (let i = 0; i < 2; i += 1) {
      const failure = await statusOf(leases.createNamespacedLease({ namespace: 'default', body }));
      expect(failure.code).toBe(503);
      expect(failure.body).toMatchObject({
        kind: 'Status',
        reason: 'ServiceUnavailable',
        code: 503,
      });
    }
    const created = await leases.createNamespacedLease({ namespace: 'default', body });
    expect(created.metadata?.name).toBe('l1');
  });

  test('failures match only the verb and resource given', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    kube.faults.failNext({
      verb: 'patch',
      resource: 'pods/status',
      code: 429,
      retryAfterSeconds: 2,
    });
    // Other verbs and the main resource are unaffected.
    await core.listNamespacedPod({ namespace: 'default' });
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    });
    const res = await fetch(`${kube.url}/api/v1/namespaces/default/pods/p/status`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { podIP: '10.0.0.1' } }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    const ok = await core.patchNamespacedPodStatus({
      namespace: 'default',
      name: 'p',
      body: [{ op: 'add', path: '/status/podIP', value: '10.0.0.1' }],
    });
    expect(ok.status?.podIP).toBe('10.0.0.1');
  });

  test('a failed watch request reaches the informer as an error with the status code', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    kube.faults.failNext({ verb: 'watch', resource: 'configmaps', code: 500 });
    const informer = new ListWatch<V1ConfigMap>(
      '/api/v1/namespaces/default/configmaps',
      new Watch(kube.kubeConfig),
      () => core.listNamespacedConfigMap({ namespace: 'default' }),
      false,
    );
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ statusCode: 500 });
    await informer.stop();
  });

  test('delays matching requests until the rule is removed', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const remove = kube.faults.delay({ verb: 'get', resource: 'namespaces', delayMs: 150 });
    const started = performance.now();
    await core.readNamespace({ name: 'default' });
    // A lower bound only: a loaded machine can make the request slower, never faster.
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    remove();
    // Ten minutes, removed before the request: it is answered at once, or the test times out.
    kube.faults.delay({ verb: 'get', resource: 'namespaces', delayMs: 600_000 })();
    await expect(core.readNamespace({ name: 'default' })).resolves.toMatchObject({
      metadata: { name: 'default' },
    });
  });

  test('dropping watches makes an informer resume from its resourceVersion without a relist', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    let lists = 0;
    const informer = new ListWatch<V1ConfigMap>(
      '/api/v1/namespaces/default/configmaps',
      new Watch(kube.kubeConfig),
      () => {
        lists += 1;
        return core.listNamespacedConfigMap({ namespace: 'default' });
      },
      false,
    );
    const connects: number[] = [];
    const added: string[] = [];
    informer.on('connect', () => connects.push(Date.now()));
    informer.on('add', (cm) => added.push(cm.metadata?.name ?? ''));
    await informer.start();
    await waitFor(() => kube!.openWatchCount() === 1);
    expect(kube.faults.dropWatches()).toBe(1);
    await waitFor(() => connects.length === 2 && kube!.openWatchCount() === 1);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'after-drop' } },
    });
    await waitFor(() => added.includes('after-drop'));
    expect(lists).toBe(1);
    await informer.stop();
  });
});

describe('watch details', () => {
  test('BOOKMARK events carry the latest resourceVersion when the watch allows them', async () => {
    kube = await startKubernetesEmulator({ bookmarkIntervalMs: 20 });
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const events: { type: string; rv: string }[] = [];
    const controller = await new Watch(kube.kubeConfig).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, obj: { metadata?: { resourceVersion?: string } }) =>
        events.push({ type, rv: obj.metadata?.resourceVersion ?? '' }),
      () => undefined,
    );
    const cm = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'b' } },
    });
    await waitFor(() =>
      events.some((e) => e.type === 'BOOKMARK' && e.rv === cm.metadata?.resourceVersion),
    );
    controller.abort();
  });

  test("a watch on an object's own path sees only that object", async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const names: string[] = [];
    const controller = await new Watch(kube.kubeConfig).watch(
      '/api/v1/namespaces/default/configmaps/one',
      {},
      (type, obj: { metadata?: { name?: string } }) =>
        names.push(`${type}:${obj.metadata?.name ?? ''}`),
      () => undefined,
    );
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'other' } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'one' } },
    });
    await waitFor(() => names.length > 0);
    expect(names).toEqual(['ADDED:one']);
    controller.abort();
  });

  test('timeoutSeconds ends the stream cleanly', async () => {
    kube = await startKubernetesEmulator();
    let done: unknown = 'pending';
    await new Watch(kube.kubeConfig).watch(
      '/api/v1/namespaces/default/configmaps',
      { timeoutSeconds: 1 },
      () => undefined,
      (err: unknown) => (done = err),
    );
    await waitFor(() => done !== 'pending', 3_000);
    expect(done).toBeNull();
    expect(kube.openWatchCount()).toBe(0);
  });

  test('an abrupt drop surfaces as an error to the watcher', async () => {
    kube = await startKubernetesEmulator();
    let done: unknown = 'pending';
    await new Watch(kube.kubeConfig).watch(
      '/api/v1/namespaces/default/configmaps',
      {},
      () => undefined,
      (err: unknown) => (done = err),
    );
    await waitFor(() => kube!.openWatchCount() === 1);
    expect(kube.faults.dropWatches({ abrupt: true, resource: 'configmaps' })).toBe(1);
    await waitFor(() => done !== 'pending');
    expect(done).toBeInstanceOf(Error);
  });

  test('history beyond historyLimit is compacted: old versions are 410 for watches and continue', async () => {
    kube = await startKubernetesEmulator({ historyLimit: 20 });
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const first = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'c-00' } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'c-99' } },
    });
    const page = await core.listNamespacedConfigMap({ namespace: 'default', limit: 1 });
    expect(page.metadata?._continue).toBeTruthy();
    for (let i = 1; i <= 30; i += 1) {
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: `c-${String(i).padStart(2, '0')}` } },
      });
    }
    const events: { type: string; code?: number }[] = [];
    await new Watch(kube.kubeConfig).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: first.metadata?.resourceVersion },
      (type, obj: { code?: number }) =>
        events.push({ type, ...(obj.code === undefined ? {} : { code: obj.code }) }),
      () => undefined,
    );
    await waitFor(() => events.length > 0);
    expect(events).toEqual([{ type: 'ERROR', code: 410 }]);
    const expired = await statusOf(
      core.listNamespacedConfigMap({
        namespace: 'default',
        limit: 1,
        _continue: page.metadata?._continue,
      }),
    );
    expect(expired.code).toBe(410);
    expect(expired.body.reason).toBe('Expired');
  });
});

describe('emulated controllers and routing', () => {
  test('deleting a namespace deletes its content; finalizers hold it Terminating until released', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'gone' } } });
    await core.createNamespacedConfigMap({
      namespace: 'gone',
      body: { metadata: { name: 'plain' } },
    });
    await core.createNamespacedSecret({
      namespace: 'gone',
      body: {
        metadata: { name: 'held', finalizers: ['example.com/hold'] },
        stringData: { k: 'v' },
      },
    });
    await core.deleteNamespace({ name: 'gone' });
    const terminating = await core.readNamespace({ name: 'gone' });
    expect(terminating.status?.phase).toBe('Terminating');
    expect((await core.listNamespacedConfigMap({ namespace: 'gone' })).items).toEqual([]);
    const blocked = await statusOf(
      core.createNamespacedConfigMap({ namespace: 'gone', body: { metadata: { name: 'new' } } }),
    );
    expect(blocked.code).toBe(403);
    const held = await core.readNamespacedSecret({ namespace: 'gone', name: 'held' });
    expect(held.data).toEqual({ k: Buffer.from('v').toString('base64') });
    await core.patchNamespacedSecret({
      namespace: 'gone',
      name: 'held',
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });
    expect((await statusOf(core.readNamespace({ name: 'gone' }))).code).toBe(404);
  });

  test('deletecollection deletes the selected objects only', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    for (const [name, app] of [
      ['a', 'x'],
      ['b', 'x'],
      ['c', 'y'],
    ] as const) {
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name, labels: { app } } },
      });
    }
    await core.deleteCollectionNamespacedConfigMap({
      namespace: 'default',
      labelSelector: 'app=x',
    });
    const left = await core.listNamespacedConfigMap({ namespace: 'default' });
    expect(left.items.map((i) => i.metadata?.name)).toEqual(['c']);
  });

  test('routing errors: 405 for a verb a path does not serve, 404 for unknown paths and subresources', async () => {
    kube = await startKubernetesEmulator();
    const post = await fetch(`${kube.url}/api/v1/namespaces/default/configmaps/x`, {
      method: 'POST',
      body: '{}',
    });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({
      kind: 'Status',
      reason: 'MethodNotAllowed',
      code: 405,
    });
    const unknown = await fetch(`${kube.url}/apis/example.com/v1/things`);
    expect(unknown.status).toBe(404);
    const noStatus = await fetch(`${kube.url}/api/v1/namespaces/default/configmaps/x/status`);
    expect(noStatus.status).toBe(404);
    const badJson = await fetch(`${kube.url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(badJson.status).toBe(400);
  });

  test('store.put writes status like a kubelet, visible to field selectors', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    kube.store.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'demo', namespace: 'default' },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] },
      status: { phase: 'Running', podIP: '127.0.0.9' },
    });
    const found = await core.listPodForAllNamespaces({
      fieldSelector: 'status.podIP=127.0.0.9,status.phase=Running',
    });
    expect(found.items.map((p) => p.metadata?.name)).toEqual(['demo']);
    expect(
      kube.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'demo' }),
    ).toMatchObject({
      status: { podIP: '127.0.0.9' },
    });
    const ref = { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'demo' };
    // A scheduled pod is only marked terminating until its kubelet's grace-0 delete.
    expect(kube.store.delete(ref)).toBe(true);
    expect(kube.store.get(ref)).toMatchObject({ metadata: { deletionGracePeriodSeconds: 30 } });
    expect(kube.store.delete(ref, { gracePeriodSeconds: 0 })).toBe(true);
    expect(kube.store.list({ apiVersion: 'v1', kind: 'Pod' })).toEqual([]);
    expect(kube.store.delete(ref)).toBe(false);
  });

  test('deleting a pod answers the pod; deleting a configmap answers a success Status', async () => {
    kube = await startKubernetesEmulator();
    kube.store.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm', namespace: 'default' },
    });
    const res = await fetch(`${kube.url}/api/v1/namespaces/default/configmaps/cm`, {
      method: 'DELETE',
    });
    expect(await res.json()).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'cm', kind: 'configmaps' },
    });
    kube.store.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    const pod = await fetch(`${kube.url}/api/v1/namespaces/default/pods/p`, { method: 'DELETE' });
    expect(await pod.json()).toMatchObject({ kind: 'Pod', metadata: { name: 'p' } });
  });
});

describe('lifecycle and extra resources', () => {
  test('close() ends watches, delayed requests and connections, leaving no sockets behind', async () => {
    const sockets = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap')
        .length;
    const before = sockets();
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const informer = new ListWatch<V1ConfigMap>(
      '/api/v1/configmaps',
      new Watch(kube.kubeConfig),
      () => core.listConfigMapForAllNamespaces(),
      false,
    );
    informer.on('error', () => undefined);
    await informer.start();
    kube.faults.delay({ verb: 'get', delayMs: 60_000 });
    const pending = core.readNamespace({ name: 'default' }).catch(() => 'failed');
    await waitFor(() => sockets() > before);
    await kube.close();
    kube = undefined;
    expect(await pending).toBe('failed');
    // Sockets of earlier tests may still be closing, so compare with at most the count before.
    await waitFor(() => sockets() <= before);
    await informer.stop();
  });

  test('apps/v1 and RBAC resources are served for manifests; workload generation tracks spec', async () => {
    kube = await startKubernetesEmulator();
    const apps = kube.kubeConfig.makeApiClient(AppsV1Api);
    const deployment = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'mic' },
        spec: {
          selector: { matchLabels: { app: 'mic' } },
          template: {
            metadata: { labels: { app: 'mic' } },
            spec: { containers: [{ name: 'mic', image: 'mic:1' }] },
          },
        },
      },
    });
    expect(deployment.metadata?.generation).toBe(1);
    const scaled = await apps.patchNamespacedDeployment({
      namespace: 'default',
      name: 'mic',
      body: [{ op: 'add', path: '/spec/replicas', value: 2 }],
    });
    expect(scaled.metadata?.generation).toBe(2);
    const rbac = kube.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const role = await rbac.createClusterRole({
      body: {
        metadata: { name: 'pod-identity:mic' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }],
      },
    });
    expect(role.metadata?.name).toBe('pod-identity:mic');
  });
});

describe('custom resource definitions', () => {
  const crd = (versions: { name: string; storage: boolean; extra?: boolean }[]) => ({
    metadata: { name: 'things.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced' as const,
      names: { plural: 'things', singular: 'thing', kind: 'Thing' },
      versions: versions.map((v) => ({
        name: v.name,
        served: true,
        storage: v.storage,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  a: { type: 'string' },
                  ...(v.extra === true ? { b: { type: 'string' } } : {}),
                },
              },
            },
          },
        },
      })),
    },
  });

  test('every served version serves the same objects; a schema update changes pruning', async () => {
    kube = await startKubernetesEmulator();
    const extensions = kube.kubeConfig.makeApiClient(ApiextensionsV1Api);
    const custom = kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const created = await extensions.createCustomResourceDefinition({
      body: crd([
        { name: 'v1', storage: true },
        { name: 'v1beta1', storage: false },
      ]),
    });
    expect(created.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    await custom.createNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: 'default',
      plural: 'things',
      body: {
        apiVersion: 'example.com/v1',
        kind: 'Thing',
        metadata: { name: 't' },
        spec: { a: 'x', b: 'pruned' },
      },
    });
    const viaBeta = (await custom.getNamespacedCustomObject({
      group: 'example.com',
      version: 'v1beta1',
      namespace: 'default',
      plural: 'things',
      name: 't',
    })) as { apiVersion: string; spec: Record<string, string> };
    expect(viaBeta.apiVersion).toBe('example.com/v1beta1');
    expect(viaBeta.spec).toEqual({ a: 'x' });

    const current = await extensions.readCustomResourceDefinition({ name: 'things.example.com' });
    await extensions.replaceCustomResourceDefinition({
      name: 'things.example.com',
      body: { ...crd([{ name: 'v1', storage: true, extra: true }]), metadata: current.metadata },
    });
    const updated = (await custom.replaceNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: 'default',
      plural: 'things',
      name: 't',
      body: {
        apiVersion: 'example.com/v1',
        kind: 'Thing',
        metadata: { name: 't' },
        spec: { a: 'x', b: 'kept' },
      },
    })) as { spec: Record<string, string> };
    expect(updated.spec).toEqual({ a: 'x', b: 'kept' });
    const beta = await statusOf(
      custom.listNamespacedCustomObject({
        group: 'example.com',
        version: 'v1beta1',
        namespace: 'default',
        plural: 'things',
      }),
    );
    expect(beta.code).toBe(404);
  });

  test('deleting a CRD ends the watches on its resources', async () => {
    kube = await startKubernetesEmulator();
    const extensions = kube.kubeConfig.makeApiClient(ApiextensionsV1Api);
    await extensions.createCustomResourceDefinition({ body: crd([{ name: 'v1', storage: true }]) });
    let done: unknown = 'pending';
    await new Watch(kube.kubeConfig).watch(
      '/apis/example.com/v1/things',
      {},
      () => undefined,
      (err: unknown) => (done = err),
    );
    await waitFor(() => kube!.openWatchCount() === 1);
    await extensions.deleteCustomResourceDefinition({ name: 'things.example.com' });
    await waitFor(() => done !== 'pending');
    expect(kube.openWatchCount()).toBe(0);
    const gone = await statusOf(
      extensions.readCustomResourceDefinition({ name: 'things.example.com' }),
    );
    expect(gone.code).toBe(404);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
