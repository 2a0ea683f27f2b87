/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
import {
  ApiException,
  CoreV1Api,
  CoordinationV1Api,
  ListWatch,
  Watch,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { startKubernetesEmulator, type KubernetesEmulator } from '@pod-identity/testkit';
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

  test('delays matching requests until the rule is removed', async () => {
    kube = await startKubernetesEmulator();
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const remove = kube.faults.delay({ verb: 'get', resource: 'namespaces', delayMs: 150 });
    const started = performance.now();
    await core.readNamespace({ name: 'default' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    remove();
    const again = performance.now();
    await core.readNamespace({ name: 'default' });
    expect(performance.now() - again).toBeLessThan(140);
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

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
