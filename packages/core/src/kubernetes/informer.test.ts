import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInformer,
  type Informer,
  type KubernetesWireObject,
  type ListQuery,
  type ListResult,
} from './informer.js';
import { KubernetesApiError } from './kubernetes-api-error.js';

// A loopback stand-in for the API server's list and watch of one collection: just enough of the wire
// contract (list resourceVersion, watch from a resourceVersion, 410 as an ERROR event) to drive the
// informer. The full emulator lives in the testkit; this keeps the adapter's unit test self-contained.
interface FakeCollection {
  url: string;
  listCount: number;
  watchRvs: string[];
  objects: Map<string, KubernetesWireObject>;
  send(type: string, object: unknown): void;
  close(): Promise<void>;
}

async function startFake(initial: KubernetesWireObject[]): Promise<FakeCollection> {
  const watchers = new Set<ServerResponse>();
  let rv = 10;
  const objects = new Map<string, KubernetesWireObject>(
    initial.map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o]),
  );
  const state = { listCount: 0, watchRvs: [] as string[] };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('watch') === 'true') {
      state.watchRvs.push(url.searchParams.get('resourceVersion') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      watchers.add(res);
      res.on('close', () => watchers.delete(res));
      return;
    }
    state.listCount += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(rv) },
        items: [...objects.values()],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get listCount() {
      return state.listCount;
    },
    watchRvs: state.watchRvs,
    objects,
    send(type, object) {
      rv += 1;
      const o = object as KubernetesWireObject;
      if (o.metadata !== undefined) o.metadata.resourceVersion = String(rv);
      for (const w of watchers) w.write(`${JSON.stringify({ type, object })}\n`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of watchers) w.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

function pod(name: string, node: string, rv = '1'): KubernetesWireObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', resourceVersion: rv },
    spec: { nodeName: node },
  };
}

interface PodView {
  name: string;
  node: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function until(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (predicate()) resolve();
      else setImmediate(check);
    };
    check();
  });
}

async function startInformer(
  fake: FakeCollection,
  errors: unknown[] = [],
): Promise<Informer<PodView, 'byNode'>> {
  const kc = kubeConfigFor(fake.url);
  const informer = createInformer<PodView, 'byNode'>({
    kubeConfig: kc,
    path: '/api/v1/pods',
    list: async ({ abortSignal }) => {
      const response = await fetch(`${fake.url}/api/v1/pods`, { signal: abortSignal });
      const body = (await response.json()) as {
        items: unknown[];
        metadata: { resourceVersion: string };
      };
      return { items: body.items, resourceVersion: body.metadata.resourceVersion };
    },
    project: (raw) => ({
      name: raw.metadata?.name ?? '',
      node: (raw.spec as { nodeName?: string } | undefined)?.nodeName ?? '',
    }),
    indexes: { byNode: (p) => (p.node === '' ? [] : [p.node]) },
    onError: (e) => errors.push(e),
    retryDelayMs: () => 5,
  });
  cleanups.push(() => informer.stop());
  await informer.start(AbortSignal.timeout(5000));
  return informer;
}

/** A list query as the test records it: everything but the abort signal. */
function withoutSignal(query: ListQuery): Omit<ListQuery, 'abortSignal'> {
  return Object.fromEntries(Object.entries(query).filter(([key]) => key !== 'abortSignal'));
}

describe('createInformer', () => {
  it('lists, then applies watch events to the projected cache and its indexes', async () => {
    const fake = await startFake([pod('a', 'n1'), pod('b', 'n2')]);
    cleanups.push(() => fake.close());
    const informer = await startInformer(fake);
    const seen: string[] = [];
    informer.on('add', (p) => seen.push(`add:${p.name}`));
    informer.on('update', (p, old) => seen.push(`update:${p.name}:${old?.node ?? ''}->${p.node}`));
    informer.on('delete', (p) => seen.push(`delete:${p.name}`));

    expect(informer.hasSynced()).toBe(true);
    expect(informer.byIndex('byNode', 'n1').map((p) => p.name)).toEqual(['a']);
    await until(() => fake.watchRvs.length > 0);
    expect(fake.watchRvs[0]).toBe('10');

    fake.send('ADDED', pod('c', 'n1'));
    fake.send('MODIFIED', pod('a', 'n2'));
    fake.send('DELETED', pod('b', 'n2'));
    await until(() => seen.length === 3);
    expect(seen).toEqual(['add:c', 'update:a:n1->n2', 'delete:b']);
    expect(informer.byIndex('byNode', 'n1').map((p) => p.name)).toEqual(['c']);
    expect(informer.byIndex('byNode', 'n2').map((p) => p.name)).toEqual(['a']);
    expect(informer.get('default/b')).toBeUndefined();
    expect(informer.resourceVersion()).toBe('13');
  });

  it('relists after a 410 Gone and reports what changed meanwhile as events', async () => {
    const fake = await startFake([pod('a', 'n1'), pod('b', 'n1')]);
    cleanups.push(() => fake.close());
    const informer = await startInformer(fake);
    const seen: string[] = [];
    informer.on('add', (p) => seen.push(`add:${p.name}`));
    informer.on('delete', (p) => seen.push(`delete:${p.name}`));
    await until(() => fake.watchRvs.length > 0);

    // Changes the watch never delivered: b gone, d new. Then the server says the RV expired.
    fake.objects.delete('default/b');
    fake.objects.set('default/d', pod('d', 'n3'));
    fake.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
    await until(() => seen.length === 2);
    expect(fake.listCount).toBe(2);
    expect(seen.sort()).toEqual(['add:d', 'delete:b']);
    expect(
      informer
        .list()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['a', 'd']);
  });

  it('keeps retrying a failing list and reports each failure', async () => {
    const errors: unknown[] = [];
    let failures = 2;
    const fake = await startFake([pod('a', 'n1')]);
    cleanups.push(() => fake.close());
    const informer = createInformer<PodView>({
      kubeConfig: kubeConfigFor(fake.url),
      path: '/api/v1/pods',
      list: () => {
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(new Error('apiserver down'));
        }
        return Promise.resolve({ items: [pod('a', 'n1')], resourceVersion: '5' });
      },
      project: (raw) => ({ name: raw.metadata?.name ?? '', node: '' }),
      onError: (e) => errors.push(e),
      retryDelayMs: () => 1,
    });
    cleanups.push(() => informer.stop());
    await informer.start(AbortSignal.timeout(5000));
    expect(errors).toHaveLength(2);
    expect(informer.size()).toBe(1);
  });

  it('lists in pages, first at resourceVersion 0 (the watch cache), later not older than what it saw', async () => {
    const fake = await startFake([]);
    cleanups.push(() => fake.close());
    const names = ['a', 'b', 'c', 'd', 'e'];
    const queries: Omit<ListQuery, 'abortSignal'>[] = [];
    const informer = createInformer<PodView>({
      kubeConfig: kubeConfigFor(fake.url),
      path: '/api/v1/pods',
      pageSize: 2,
      list: (full): Promise<ListResult> => {
        const query = withoutSignal(full);
        queries.push(query);
        const from = query.continue === undefined ? 0 : Number(query.continue);
        const next = from + 2 < names.length ? String(from + 2) : undefined;
        return Promise.resolve({
          items: names.slice(from, from + 2).map((n) => pod(n, 'n1')),
          resourceVersion: '10',
          ...(next === undefined ? {} : { continue: next }),
        });
      },
      project: (raw) => ({ name: raw.metadata?.name ?? '', node: '' }),
      retryDelayMs: () => 1,
    });
    cleanups.push(() => informer.stop());
    await informer.start(AbortSignal.timeout(5000));
    expect(informer.list().map((p) => p.name)).toEqual(names);
    expect(queries).toEqual([
      { limit: 2, resourceVersion: '0' },
      { limit: 2, continue: '2' },
      { limit: 2, continue: '4' },
    ]);

    await until(() => fake.watchRvs.length > 0);
    fake.send('MODIFIED', pod('a', 'n2'));
    fake.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
    await until(() => queries.length === 6);
    // The relist asks for data at least as new as the last event it saw, not any cached version.
    expect(queries[3]).toEqual({
      limit: 2,
      resourceVersion: '11',
      resourceVersionMatch: 'NotOlderThan',
    });
  });

  it('falls back to one consistent list of everything when a continue token expired (410)', async () => {
    const fake = await startFake([]);
    cleanups.push(() => fake.close());
    const queries: Omit<ListQuery, 'abortSignal'>[] = [];
    const informer = createInformer<PodView>({
      kubeConfig: kubeConfigFor(fake.url),
      path: '/api/v1/pods',
      pageSize: 1,
      list: (full): Promise<ListResult> => {
        const query = withoutSignal(full);
        queries.push(query);
        if (query.continue !== undefined)
          return Promise.reject(
            new KubernetesApiError('continue expired', { statusCode: 410, reason: 'Expired' }),
          );
        if (query.limit !== undefined)
          return Promise.resolve({ items: [pod('a', 'n1')], resourceVersion: '5', continue: 'x' });
        return Promise.resolve({ items: [pod('a', 'n1'), pod('b', 'n1')], resourceVersion: '7' });
      },
      project: (raw) => ({ name: raw.metadata?.name ?? '', node: '' }),
      retryDelayMs: () => 1,
    });
    cleanups.push(() => informer.stop());
    await informer.start(AbortSignal.timeout(5000));
    expect(queries).toEqual([{ limit: 1, resourceVersion: '0' }, { limit: 1, continue: 'x' }, {}]);
    expect(informer.list().map((p) => p.name)).toEqual(['a', 'b']);
    expect(informer.resourceVersion()).toBe('7');
  });

  it('stop() cancels a list in progress and returns', async () => {
    const fake = await startFake([]);
    cleanups.push(() => fake.close());
    let listSignal: AbortSignal | undefined;
    const informer = createInformer<PodView>({
      kubeConfig: kubeConfigFor(fake.url),
      path: '/api/v1/pods',
      // A list that never answers until it is aborted, like a huge relist on a slow API server.
      list: ({ abortSignal }) =>
        new Promise<ListResult>((_resolve, reject) => {
          listSignal = abortSignal;
          abortSignal.addEventListener('abort', () => {
            reject(abortSignal.reason as Error);
          });
        }),
      project: (raw) => ({ name: raw.metadata?.name ?? '', node: '' }),
    });
    const started = informer.start(AbortSignal.timeout(60_000)).catch((error: unknown) => error);
    await until(() => listSignal !== undefined);
    await informer.stop();
    expect(listSignal?.aborted).toBe(true);
    expect(informer.hasSynced()).toBe(false);
    void started;
  });
});
