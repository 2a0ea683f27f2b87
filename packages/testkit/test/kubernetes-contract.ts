/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
/**
 * Kubernetes API contract tests. They take the server under test as a parameter: the testkit runs
 * them against its emulator, the conformance tier against a real kube-apiserver + etcd. They use only
 * behaviour kube-apiserver has, only through `@kubernetes/client-node`, each test in its own
 * namespace, and wait for events instead of sleeping.
 */
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  ApiextensionsV1Api,
  ApisApi,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  ListWatch,
  PatchStrategy,
  VersionApi,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1CustomResourceDefinition,
  type V1Pod,
} from '@kubernetes/client-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KubernetesApiError,
  collectionSource,
  createInformer,
  kubeHttpClientFor,
  kubeconfigFileConnection,
  type KubeConnection,
} from '@pod-identity/core/kubernetes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/** The API server a contract run targets. */
export interface KubeTarget {
  /** A kubeconfig with enough rights to create namespaces and CRDs. */
  readonly kubeConfig: KubeConfig;
  /**
   * Compacts the server's history so that every earlier resourceVersion is 410 Gone for watches.
   * Required unless the suite runs with `{ compaction: false }`.
   */
  compact?(): Promise<void>;
  close(): Promise<void>;
}

const waitTimeoutMs = 20_000;

/** The decoded `Status` of a failed client-node call. */
interface FailedCall {
  readonly code: number;
  readonly status: {
    readonly kind?: string;
    readonly reason?: string;
    readonly code?: number;
    readonly message?: string;
    readonly details?: {
      readonly name?: string;
      readonly kind?: string;
      readonly group?: string;
      readonly causes?: readonly { readonly field?: string; readonly reason?: string }[];
    };
  };
}

async function failure(call: Promise<unknown>): Promise<FailedCall> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      const raw: unknown = error.body;
      const status = (typeof raw === 'string' ? JSON.parse(raw) : raw) as FailedCall['status'];
      return { code: error.code, status };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** Polls `probe` until it returns a value (not undefined); for server-side convergence. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + waitTimeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface WatchEvent {
  readonly type: string;
  readonly object: KubernetesObject & { code?: number; data?: Record<string, string> };
}

/** Collects events of one raw watch; `until` resolves as soon as a predicate holds. */
class WatchRecorder {
  readonly events: WatchEvent[] = [];
  done: unknown = undefined;
  ended = false;
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  #controller: AbortController | undefined;

  static async start(
    kc: KubeConfig,
    path: string,
    query: Record<string, string | number | boolean | undefined>,
  ): Promise<WatchRecorder> {
    const recorder = new WatchRecorder();
    recorder.#controller = await new Watch(kc).watch(
      path,
      query,
      (type, object: WatchEvent['object']) => {
        recorder.events.push({ type, object });
        recorder.#notify();
      },
      (err: unknown) => {
        recorder.done = err;
        recorder.ended = true;
        recorder.#notify();
      },
    );
    return recorder;
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.check()) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.summary())}`));
      }, waitTimeoutMs);
      this.#waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** `TYPE:name` of every event other than bookmarks. */
  summary(): string[] {
    return this.events
      .filter((e) => e.type !== 'BOOKMARK')
      .map((e) => `${e.type}:${e.object.metadata?.name ?? String(e.object.code)}`);
  }

  stop(): void {
    this.#controller?.abort();
  }
}

/** Options of {@link kubernetesContractSuite}. */
export interface KubernetesContractOptions {
  /**
   * Whether to run the tests that need {@link KubeTarget.compact} (410 Gone and relist). Default
   * true; a target that cannot compact must say so here rather than skip silently.
   */
  readonly compaction?: boolean;
}

/** Registers the Kubernetes API contract tests against the server `target` returns. */
export function kubernetesContractSuite(
  target: () => Promise<KubeTarget>,
  options: KubernetesContractOptions = {},
): void {
  const testWithCompaction = options.compaction === false ? () => undefined : test;
  const compactServer = async (): Promise<void> => {
    const compact = server.compact?.bind(server);
    if (compact === undefined) {
      throw new Error('the target has no compact(); pass { compaction: false } to the suite');
    }
    await compact();
  };
  let server: KubeTarget;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let coordination: CoordinationV1Api;
  let extensions: ApiextensionsV1Api;
  const runId = randomBytes(4).toString('hex');
  const namespaces: string[] = [];
  const crds: string[] = [];
  let counter = 0;

  beforeAll(async () => {
    server = await target();
    kc = server.kubeConfig;
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    coordination = kc.makeApiClient(CoordinationV1Api);
    extensions = kc.makeApiClient(ApiextensionsV1Api);
  }, 30_000);

  afterAll(async () => {
    for (const name of crds) {
      await extensions.deleteCustomResourceDefinition({ name }).catch(() => undefined);
    }
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
    await server.close();
  }, 30_000);

  /** A fresh namespace (with its `default` service account, which pods need). */
  async function freshNamespace(): Promise<string> {
    counter += 1;
    const name = `contract-${runId}-${counter}`;
    await core.createNamespace({ body: { metadata: { name } } });
    namespaces.push(name);
    return name;
  }

  async function ensureDefaultServiceAccount(namespace: string): Promise<void> {
    try {
      await core.createNamespacedServiceAccount({
        namespace,
        body: { metadata: { name: 'default' } },
      });
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 409)) throw error;
    }
  }

  function podBody(
    name: string,
    extra: {
      nodeName?: string;
      labels?: Record<string, string>;
      finalizers?: string[];
      terminationGracePeriodSeconds?: number;
    } = {},
  ): V1Pod {
    return {
      metadata: {
        name,
        ...(extra.labels === undefined ? {} : { labels: extra.labels }),
        ...(extra.finalizers === undefined ? {} : { finalizers: extra.finalizers }),
      },
      spec: {
        ...(extra.nodeName === undefined ? {} : { nodeName: extra.nodeName }),
        ...(extra.terminationGracePeriodSeconds === undefined
          ? {}
          : { terminationGracePeriodSeconds: extra.terminationGracePeriodSeconds }),
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.example/app:1' }],
      },
    };
  }

  describe('discovery', () => {
    test('serves /version, the core resource list with subresources, and the API groups', async () => {
      const version = await kc.makeApiClient(VersionApi).getCode();
      expect(version.major).toMatch(/^\d+$/);
      const resources = await core.getAPIResources();
      const pods = resources.resources.find((r) => r.name === 'pods');
      expect(pods).toMatchObject({ kind: 'Pod', namespaced: true });
      expect(pods?.verbs).toEqual(
        expect.arrayContaining(['get', 'list', 'watch', 'create', 'patch']),
      );
      expect(resources.resources.map((r) => r.name)).toEqual(
        expect.arrayContaining([
          'pods/status',
          'nodes',
          'namespaces',
          'secrets',
          'configmaps',
          'events',
        ]),
      );
      const groups = await kc.makeApiClient(ApisApi).getAPIVersions();
      expect(groups.groups.map((g) => g.name)).toEqual(
        expect.arrayContaining(['coordination.k8s.io', 'apiextensions.k8s.io']),
      );
    });
  });

  describe('object lifecycle and errors', () => {
    test('create fills uid, creationTimestamp and resourceVersion; generateName makes a name', async () => {
      const ns = await freshNamespace();
      const cm = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'one' }, data: { a: '1' } },
      });
      expect(cm.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(cm.metadata?.creationTimestamp).toBeInstanceOf(Date);
      expect(cm.metadata?.resourceVersion).toMatch(/^\d+$/);
      const generated = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { generateName: 'gen-' } },
      });
      expect(generated.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
      const read = await core.readNamespacedConfigMap({ namespace: ns, name: 'one' });
      expect(read.data).toEqual({ a: '1' });
    });

    test('errors are Status objects: 404 NotFound, 409 AlreadyExists, 422 Invalid', async () => {
      const ns = await freshNamespace();
      const missing = await failure(
        core.readNamespacedConfigMap({ namespace: ns, name: 'absent' }),
      );
      expect(missing.code).toBe(404);
      expect(missing.status).toMatchObject({
        kind: 'Status',
        reason: 'NotFound',
        code: 404,
        details: { name: 'absent', kind: 'configmaps' },
      });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dup' } } });
      const dup = await failure(
        core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dup' } } }),
      );
      expect(dup.code).toBe(409);
      expect(dup.status).toMatchObject({
        reason: 'AlreadyExists',
        details: { name: 'dup', kind: 'configmaps' },
      });
      const bad = await failure(
        core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name: 'Not_Valid' } },
        }),
      );
      expect(bad.code).toBe(422);
      expect(bad.status.reason).toBe('Invalid');
      expect(bad.status.details?.causes?.map((c) => c.field)).toContain('metadata.name');
      const unnamed = await failure(
        core.createNamespacedConfigMap({ namespace: ns, body: { metadata: {} } }),
      );
      expect(unnamed.code).toBe(422);
      expect(unnamed.status.details?.causes?.map((c) => c.field)).toContain('metadata.name');
      const badFinalizer = await failure(
        core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name: 'fin', finalizers: ['unqualified'] } },
        }),
      );
      expect(badFinalizer.code).toBe(422);
      expect(badFinalizer.status.details?.causes?.map((c) => c.field)).toEqual([
        'metadata.finalizers[0]',
      ]);
      const badLabel = await failure(
        core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name: 'lbl', labels: { app: 'not a valid value' } } },
        }),
      );
      expect(badLabel.code).toBe(422);
      expect(badLabel.status.details?.causes?.map((c) => c.field)).toEqual(['metadata.labels']);
      const lease = await failure(
        coordination.readNamespacedLease({ namespace: ns, name: 'absent' }),
      );
      expect(lease.status.details).toMatchObject({ group: 'coordination.k8s.io', kind: 'leases' });
    });

    test('content in a namespace that does not exist is 404', async () => {
      const result = await failure(
        core.createNamespacedConfigMap({
          namespace: `missing-${runId}`,
          body: { metadata: { name: 'x' } },
        }),
      );
      expect(result.code).toBe(404);
      expect(result.status.reason).toBe('NotFound');
    });
  });

  describe('events', () => {
    test('core/v1 events can be recorded and selected by involvedObject and reason', async () => {
      const ns = await freshNamespace();
      const cm = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'subject' } },
      });
      for (const [name, reason] of [
        ['e1', 'Assigned'],
        ['e2', 'Removed'],
      ] as const) {
        await core.createNamespacedEvent({
          namespace: ns,
          body: {
            metadata: { name },
            involvedObject: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              namespace: ns,
              name: 'subject',
              uid: cm.metadata?.uid,
            },
            reason,
            message: `${reason} happened`,
            type: 'Normal',
            source: { component: 'contract-test' },
            firstTimestamp: new Date(),
            lastTimestamp: new Date(),
            count: 1,
          },
        });
      }
      const selected = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: 'involvedObject.name=subject,involvedObject.kind=ConfigMap,reason=Removed',
      });
      expect(selected.items.map((e) => e.metadata.name)).toEqual(['e2']);
      expect(selected.items[0]?.message).toBe('Removed happened');
    });
  });

  describe('optimistic concurrency', () => {
    test('a write with a stale resourceVersion is 409 Conflict; versions increase cluster-wide', async () => {
      const ns = await freshNamespace();
      const lease = await coordination.createNamespacedLease({
        namespace: ns,
        body: {
          metadata: { name: 'leader' },
          spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
        },
      });
      const renewed = await coordination.replaceNamespacedLease({
        namespace: ns,
        name: 'leader',
        body: { metadata: lease.metadata, spec: { holderIdentity: 'b', leaseDurationSeconds: 15 } },
      });
      expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(
        Number(lease.metadata?.resourceVersion),
      );
      const stale = await failure(
        coordination.replaceNamespacedLease({
          namespace: ns,
          name: 'leader',
          body: {
            metadata: { name: 'leader', resourceVersion: lease.metadata?.resourceVersion },
            spec: { holderIdentity: 'c', leaseDurationSeconds: 15 },
          },
        }),
      );
      expect(stale.code).toBe(409);
      expect(stale.status).toMatchObject({
        kind: 'Status',
        reason: 'Conflict',
        details: { name: 'leader', group: 'coordination.k8s.io', kind: 'leases' },
      });
      const cm = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'later' } },
      });
      expect(Number(cm.metadata?.resourceVersion)).toBeGreaterThan(
        Number(renewed.metadata?.resourceVersion),
      );
      const current = await coordination.readNamespacedLease({ namespace: ns, name: 'leader' });
      expect(current.spec?.holderIdentity).toBe('b');
    });

    test('an update that changes nothing keeps the resourceVersion', async () => {
      const ns = await freshNamespace();
      const cm = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'same' }, data: { k: 'v' } },
      });
      const again = await core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'same',
        body: cm,
      });
      expect(again.metadata?.resourceVersion).toBe(cm.metadata?.resourceVersion);
    });

    test('delete preconditions on uid are enforced with 409', async () => {
      const ns = await freshNamespace();
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'pre' } } });
      const wrong = await failure(
        core.deleteNamespacedConfigMap({
          namespace: ns,
          name: 'pre',
          body: { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } },
        }),
      );
      expect(wrong.code).toBe(409);
      expect(wrong.status.reason).toBe('Conflict');
    });
  });

  describe('patches', () => {
    test('JSON patch, merge patch and strategic merge patch', async () => {
      const ns = await freshNamespace();
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'p', labels: { keep: 'yes', drop: 'yes' } }, data: { a: '1' } },
      });
      const jsonPatched = await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'p', body: [{ op: 'add', path: '/data/b', value: '2' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      expect(jsonPatched.data).toEqual({ a: '1', b: '2' });
      const merged = await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'p', body: { metadata: { labels: { drop: null, added: 'yes' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(merged.metadata?.labels).toEqual({ keep: 'yes', added: 'yes' });
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'p', body: { metadata: { finalizers: ['example.com/one'] } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      const strategic = await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'p', body: { metadata: { finalizers: ['example.com/two'] } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      // finalizers merge as a set under strategic merge (a merge patch would have replaced the list);
      // kube puts the patch's items before the remaining live ones.
      expect(strategic.metadata?.finalizers).toEqual(['example.com/two', 'example.com/one']);
      const failedTest = await failure(
        core.patchNamespacedConfigMap(
          { namespace: ns, name: 'p', body: [{ op: 'test', path: '/data/a', value: 'other' }] },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        ),
      );
      expect(failedTest.code).toBe(422);
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'p', body: { metadata: { finalizers: null } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    });
  });

  describe('selectors and paging', () => {
    test('label selectors: =, !=, in, notin, exists, !exists', async () => {
      const ns = await freshNamespace();
      const labelled: Record<string, Record<string, string>> = {
        a: { env: 'prod', tier: 'web' },
        b: { env: 'dev', tier: 'web' },
        c: { env: 'test' },
        d: {},
      };
      for (const [name, labels] of Object.entries(labelled)) {
        await core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name, labels } },
        });
      }
      const names = async (labelSelector: string): Promise<string[]> =>
        (await core.listNamespacedConfigMap({ namespace: ns, labelSelector })).items
          .map((i) => i.metadata?.name ?? '')
          .filter((n) => n.length === 1)
          .sort();
      expect(await names('env=prod')).toEqual(['a']);
      expect(await names('env==dev')).toEqual(['b']);
      expect(await names('env!=prod')).toEqual(['b', 'c', 'd']);
      expect(await names('env in (prod,test)')).toEqual(['a', 'c']);
      expect(await names('env notin (prod,test)')).toEqual(['b', 'd']);
      expect(await names('tier')).toEqual(['a', 'b']);
      expect(await names('!tier')).toEqual(['c', 'd']);
      expect(await names('tier=web,env!=dev')).toEqual(['a']);
      const bad = await failure(
        core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'env in prod' }),
      );
      expect(bad.code).toBe(400);
    });

    test('field selectors on pods (spec.nodeName, status.podIP, metadata.name) and unsupported fields', async () => {
      const ns = await freshNamespace();
      await ensureDefaultServiceAccount(ns);
      await core.createNamespacedPod({
        namespace: ns,
        body: podBody('on-n1', { nodeName: 'node-1' }),
      });
      await core.createNamespacedPod({
        namespace: ns,
        body: podBody('on-n2', { nodeName: 'node-2' }),
      });
      await core.createNamespacedPod({ namespace: ns, body: podBody('unscheduled') });
      const patched = await core.patchNamespacedPodStatus(
        {
          namespace: ns,
          name: 'on-n1',
          body: {
            metadata: { labels: { probed: 'yes' } },
            spec: { nodeName: 'elsewhere' },
            status: { podIP: '10.244.1.7' },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      // pods/status keeps the spec but takes metadata changes (kube's pod status strategy).
      expect(patched.spec?.nodeName).toBe('node-1');
      expect(patched.metadata?.labels).toEqual({ probed: 'yes' });
      const onNode1 = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-1' });
      expect(
        onNode1.items.filter((p) => p.metadata?.namespace === ns).map((p) => p.metadata?.name),
      ).toEqual(['on-n1']);
      const byIp = await core.listNamespacedPod({
        namespace: ns,
        fieldSelector: 'status.podIP=10.244.1.7',
      });
      expect(byIp.items.map((p) => p.metadata?.name)).toEqual(['on-n1']);
      const notNode1 = await core.listNamespacedPod({
        namespace: ns,
        fieldSelector: 'spec.nodeName!=node-1,metadata.name!=unscheduled',
      });
      expect(notNode1.items.map((p) => p.metadata?.name)).toEqual(['on-n2']);
      const pending = await core.listNamespacedPod({
        namespace: ns,
        fieldSelector: 'status.phase=Pending',
      });
      expect(pending.items).toHaveLength(3);
      const unsupported = await failure(
        core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.unknownField=x' }),
      );
      expect(unsupported.code).toBe(400);
      expect(unsupported.status.reason).toBe('BadRequest');
      const cmByName = await core.listNamespacedConfigMap({
        namespace: ns,
        fieldSelector: 'metadata.name=absent',
      });
      expect(cmByName.items).toEqual([]);
      for (const name of ['on-n1', 'on-n2', 'unscheduled']) {
        await core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 });
      }
    });

    test('resourceVersionMatch=Exact lists the objects as they were at that version', async () => {
      const ns = await freshNamespace();
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x1' } } });
      const second = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'x2' }, data: { v: 'old' } },
      });
      const version = second.metadata?.resourceVersion;
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'x1' });
      await core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'x2',
        body: { metadata: second.metadata, data: { v: 'new' } },
      });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x3' } } });
      const then = await core.listNamespacedConfigMap({
        namespace: ns,
        resourceVersion: version,
        resourceVersionMatch: 'Exact',
      });
      expect(then.metadata?.resourceVersion).toBe(version);
      expect(then.items.map((i) => [i.metadata?.name, i.data?.v])).toEqual([
        ['x1', undefined],
        ['x2', 'old'],
      ]);
      const withoutVersion = await failure(
        core.listNamespacedConfigMap({ namespace: ns, resourceVersionMatch: 'Exact' }),
      );
      expect(withoutVersion.code).toBe(422);
    });

    test('limit/continue pages a consistent snapshot', async () => {
      const ns = await freshNamespace();
      for (const name of ['c1', 'c2', 'c3', 'c4', 'c5']) {
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name } } });
      }
      const first = await core.listNamespacedConfigMap({ namespace: ns, limit: 2 });
      expect(first.items.map((i) => i.metadata?.name)).toEqual(['c1', 'c2']);
      expect(first.metadata?._continue).toBeTruthy();
      // Changes after the first page are not visible to its continuation.
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'c6' } } });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'c4' });
      const second = await core.listNamespacedConfigMap({
        namespace: ns,
        limit: 2,
        _continue: first.metadata?._continue,
      });
      expect(second.items.map((i) => i.metadata?.name)).toEqual(['c3', 'c4']);
      const third = await core.listNamespacedConfigMap({
        namespace: ns,
        limit: 2,
        _continue: second.metadata?._continue,
      });
      expect(third.items.map((i) => i.metadata?.name).filter((n) => n?.startsWith('c'))).toEqual([
        'c5',
      ]);
      expect(third.metadata?._continue ?? '').toBe('');
    });
  });

  describe('watch', () => {
    test('streams ADDED, MODIFIED, DELETED from a resourceVersion and resumes from any later one', async () => {
      const ns = await freshNamespace();
      const path = `/api/v1/namespaces/${ns}/configmaps`;
      const start = await core.listNamespacedConfigMap({ namespace: ns });
      const rv0 = start.metadata?.resourceVersion;
      const watch = await WatchRecorder.start(kc, path, { resourceVersion: rv0 });
      const created = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'w' }, data: { v: '1' } },
      });
      await core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'w',
        body: { metadata: created.metadata, data: { v: '2' } },
      });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'w' });
      await watch.until(() => watch.summary().length >= 3, 'three events');
      watch.stop();
      expect(watch.summary()).toEqual(['ADDED:w', 'MODIFIED:w', 'DELETED:w']);
      expect(watch.events[1]?.object.data).toEqual({ v: '2' });

      // Resuming from the creation's version replays only what came after it.
      const resumed = await WatchRecorder.start(kc, path, {
        resourceVersion: created.metadata?.resourceVersion,
      });
      await resumed.until(() => resumed.summary().length >= 2, 'replayed events');
      resumed.stop();
      expect(resumed.summary()).toEqual(['MODIFIED:w', 'DELETED:w']);
    });

    test('without a resourceVersion a watch starts with the current objects as ADDED', async () => {
      const ns = await freshNamespace();
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'existing' } },
      });
      const watch = await WatchRecorder.start(kc, `/api/v1/namespaces/${ns}/configmaps`, {});
      await watch.until(() => watch.summary().includes('ADDED:existing'), 'initial ADDED');
      watch.stop();
    });

    test('selectors apply to watches: leaving the selection is DELETED, entering it ADDED', async () => {
      const ns = await freshNamespace();
      const list = await core.listNamespacedConfigMap({ namespace: ns });
      const watch = await WatchRecorder.start(kc, `/api/v1/namespaces/${ns}/configmaps`, {
        resourceVersion: list.metadata?.resourceVersion,
        labelSelector: 'app=x',
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'other' } },
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'sel', labels: { app: 'x' } } },
      });
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'sel', body: { metadata: { labels: { app: 'y' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'other', body: { metadata: { labels: { app: 'x' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await watch.until(() => watch.summary().length >= 3, 'selection changes');
      watch.stop();
      expect(watch.summary()).toEqual(['ADDED:sel', 'DELETED:sel', 'ADDED:other']);
    });

    // An informer that listed `before`, stopped, missed `while-away` being created and `before` being
    // deleted (and whatever `meanwhile` does), and was restarted until it converged.
    async function informerBackAfterChanges(
      meanwhile: () => Promise<void> = () => Promise.resolve(),
    ) {
      const ns = await freshNamespace();
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'before' } },
      });
      const informer = countingInformer(ns);
      await informer.synced(['before']);
      await informer.stop();
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'while-away' } },
      });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'before' });
      await meanwhile();
      await informer.restart();
      await informer.converged(['while-away']);
      return informer;
    }

    test('an informer restarted later resumes from its resourceVersion without relisting', async () => {
      const informer = await informerBackAfterChanges();
      expect(informer.lists).toBe(1);
      expect(informer.deleted).toContain('before');
      await informer.stop();
    });

    testWithCompaction(
      'after compaction a resumed informer gets 410 Gone, relists and converges',
      async () => {
        const informer = await informerBackAfterChanges(compactServer);
        expect(informer.lists).toBe(2);
        expect(informer.deleted).toContain('before');
        await informer.stop();
      },
    );

    testWithCompaction(
      'a raw watch from a compacted resourceVersion ends with a 410 Expired Status',
      async () => {
        const ns = await freshNamespace();
        const cm = await core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name: 'old' } },
        });
        await core.replaceNamespacedConfigMap({
          namespace: ns,
          name: 'old',
          body: { metadata: cm.metadata, data: { x: 'y' } },
        });
        await compactServer();
        const watch = await WatchRecorder.start(kc, `/api/v1/namespaces/${ns}/configmaps`, {
          resourceVersion: cm.metadata?.resourceVersion,
        });
        await watch.until(
          () => watch.events.some((e) => e.type === 'ERROR') || watch.ended,
          'a 410 from the watch',
        );
        watch.stop();
        const error = watch.events.find((e) => e.type === 'ERROR');
        const code =
          error?.object.code ?? (watch.done as { statusCode?: number } | undefined)?.statusCode;
        expect(code).toBe(410);
      },
    );

    function countingInformer(ns: string) {
      const lw = new ListWatch<V1ConfigMap>(
        `/api/v1/namespaces/${ns}/configmaps`,
        new Watch(kc),
        () => {
          state.lists += 1;
          return core.listNamespacedConfigMap({ namespace: ns });
        },
        false,
      );
      const state = { lists: 0, deleted: [] as string[] };
      lw.on('delete', (obj) => state.deleted.push(obj.metadata?.name ?? ''));
      // stop() surfaces as an AbortError on the error callbacks; it is expected.
      lw.on('error', () => undefined);
      const names = (): string[] =>
        lw
          .list(ns)
          .map((o) => o.metadata?.name ?? '')
          .sort();
      const waitNames = (expected: string[]): Promise<unknown> =>
        eventually(
          () =>
            Promise.resolve(
              JSON.stringify(names()) === JSON.stringify(expected) ? true : undefined,
            ),
          `informer cache ${JSON.stringify(expected)}`,
        );
      return {
        get lists() {
          return state.lists;
        },
        get deleted() {
          return state.deleted;
        },
        synced: async (expected: string[]) => {
          await lw.start();
          await waitNames(expected);
        },
        restart: () => lw.start(),
        converged: waitNames,
        stop: () => lw.stop(),
      };
    }
  });

  // The lean client and core's informer: the path NMI takes to the API server instead of
  // client-node (and MIC's informers), held to the same server behaviour as everything above.
  describe('lean client and core informer', () => {
    /** A lean connection read from a kubeconfig file, as `pod-identity-nmi --kubeconfig` reads it. */
    async function leanConnection(): Promise<KubeConnection> {
      const dir = mkdtempSync(join(tmpdir(), 'pi-contract-'));
      try {
        const path = join(dir, 'kubeconfig.json');
        writeFileSync(path, kc.exportConfig());
        return await kubeconfigFileConnection(path);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    test('refusals are KubernetesApiErrors with the status and the Status reason', async () => {
      const ns = await freshNamespace();
      const client = kubeHttpClientFor(kc);
      const error = await client
        .request('GET', `/api/v1/namespaces/${ns}/configmaps/missing`)
        .catch((e: unknown) => e);
      expect(KubernetesApiError.is(error)).toBe(true);
      expect((error as KubernetesApiError).statusCode).toBe(404);
      expect((error as KubernetesApiError).reason).toBe('NotFound');
      const created = await client.request<{ metadata: { name: string; uid?: string } }>(
        'POST',
        `/api/v1/namespaces/${ns}/configmaps`,
        { body: { metadata: { name: 'lean' }, data: { k: 'v' } } },
      );
      expect(created.metadata.name).toBe('lean');
      expect(created.metadata.uid).toBeTruthy();
      const again = await client
        .request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
          body: { metadata: { name: 'lean' } },
        })
        .catch((e: unknown) => e);
      expect((again as KubernetesApiError).statusCode).toBe(409);
      expect((again as KubernetesApiError).reason).toBe('AlreadyExists');
    });

    test('a list at resourceVersion 0 holds every object, across pages when the server pages it', async () => {
      const ns = await freshNamespace();
      for (const name of ['r1', 'r2', 'r3', 'r4', 'r5'])
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name } } });
      const source = collectionSource(
        await leanConnection(),
        `/api/v1/namespaces/${ns}/configmaps`,
      );
      const names: string[] = [];
      let page = await source.list({
        resourceVersion: '0',
        limit: 2,
        abortSignal: AbortSignal.timeout(waitTimeoutMs),
      });
      for (;;) {
        for (const item of page.items) names.push((item as KubernetesObject).metadata?.name ?? '');
        if (page.continue === undefined) break;
        page = await source.list({
          continue: page.continue,
          limit: 2,
          abortSignal: AbortSignal.timeout(waitTimeoutMs),
        });
      }
      // kube-apiserver may serve resourceVersion 0 from its watch cache in one page or in several;
      // either way the list is whole and names a version to watch from.
      expect(names.filter((n) => n.startsWith('r')).sort()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
      expect(Number(page.resourceVersion)).toBeGreaterThan(0);
    });

    function coreInformer(ns: string, connection: KubeConnection, watchTimeoutSeconds = 240) {
      const path = `/api/v1/namespaces/${ns}/configmaps`;
      const source = collectionSource(connection, path);
      const state = { lists: 0, deleted: [] as string[], errors: 0 };
      const informer = createInformer<string>({
        kubeConfig: connection,
        path,
        pageSize: 2,
        watchTimeoutSeconds,
        onError: () => {
          state.errors += 1;
        },
        list: (query) => {
          if (query.continue === undefined) state.lists += 1;
          return source.list(query);
        },
        project: (raw) => raw.metadata?.name,
        retryDelayMs: () => 50,
      });
      informer.on('delete', (name) => state.deleted.push(name));
      const names = (): string[] => informer.list().sort();
      const converged = (expected: string[]): Promise<unknown> =>
        eventually(
          () =>
            Promise.resolve(
              JSON.stringify(names()) === JSON.stringify(expected) ? true : undefined,
            ),
          `core informer cache ${JSON.stringify(expected)}`,
        );
      return { informer, state, converged };
    }

    test('the core informer syncs in pages from resourceVersion 0, then follows its watch', async () => {
      const ns = await freshNamespace();
      for (const name of ['a', 'b', 'c'])
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name } } });
      const { informer, state, converged } = coreInformer(ns, await leanConnection());
      await informer.start(AbortSignal.timeout(waitTimeoutMs));
      try {
        await converged(['a', 'b', 'c']);
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'd' } } });
        await core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
        await converged(['b', 'c', 'd']);
        expect(state.deleted).toEqual(['a']);
        expect(state.lists).toBe(1);
      } finally {
        await informer.stop();
      }
    });

    testWithCompaction(
      'cut off while the server compacts, the core informer gets 410 Gone, relists and converges',
      async () => {
        const ns = await freshNamespace();
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } });
        // A connection that can be cut: while cut, every request fails before it is sent.
        let cut = false;
        const connection: KubeConnection = {
          getCurrentCluster: () => kc.getCurrentCluster(),
          applyToHTTPSOptions: async (options) => {
            if (cut) throw new Error('connection cut');
            await kc.applyToHTTPSOptions(options);
          },
        };
        // Watches of one second: the informer soon tries to watch again, and fails while cut.
        const { informer, state, converged } = coreInformer(ns, connection, 1);
        await informer.start(AbortSignal.timeout(waitTimeoutMs));
        try {
          await converged(['x']);
          cut = true;
          await eventually(
            () => Promise.resolve(state.errors > 0 ? true : undefined),
            'a failed watch while cut',
          );
          await core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: 'y' } },
          });
          await core.deleteNamespacedConfigMap({ namespace: ns, name: 'x' });
          await compactServer();
          cut = false;
          await converged(['y']);
          expect(state.lists).toBe(2);
          expect(state.deleted).toEqual(['x']);
        } finally {
          await informer.stop();
        }
      },
    );
  });

  describe('pods', () => {
    /** `TYPE:name:deletionGracePeriodSeconds` of the recorded pod events (`-` when unmarked). */
    function podEvents(watch: WatchRecorder): string[] {
      return watch.events
        .filter((e) => e.type !== 'BOOKMARK')
        .map((e) => {
          const meta = e.object.metadata;
          return `${e.type}:${meta?.name ?? ''}:${String(meta?.deletionGracePeriodSeconds ?? '-')}`;
        });
    }

    test('deleting a scheduled pod marks it terminating for its grace period; grace 0 removes it', async () => {
      const ns = await freshNamespace();
      await ensureDefaultServiceAccount(ns);
      const list = await core.listNamespacedPod({ namespace: ns });
      const watch = await WatchRecorder.start(kc, `/api/v1/namespaces/${ns}/pods`, {
        resourceVersion: list.metadata?.resourceVersion,
      });
      await core.createNamespacedPod({ namespace: ns, body: podBody('app', { nodeName: 'n1' }) });
      const before = Date.now();
      const answered = await core.deleteNamespacedPod({ namespace: ns, name: 'app' });
      const after = Date.now();
      // Without gracePeriodSeconds the pod's terminationGracePeriodSeconds applies (default 30).
      expect(answered.metadata?.deletionGracePeriodSeconds).toBe(30);
      const deadline = answered.metadata?.deletionTimestamp?.getTime() ?? 0;
      expect(deadline).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 30_000);
      expect(deadline).toBeLessThanOrEqual(after + 30_000);
      const marked = await core.readNamespacedPod({ namespace: ns, name: 'app' });
      expect(marked.metadata?.deletionTimestamp).toEqual(answered.metadata?.deletionTimestamp);
      // Deleting again changes nothing (a longer grace neither); only a shorter one applies.
      const again = await core.deleteNamespacedPod({ namespace: ns, name: 'app' });
      expect(again.metadata?.resourceVersion).toBe(marked.metadata?.resourceVersion);
      const longer = await core.deleteNamespacedPod({
        namespace: ns,
        name: 'app',
        gracePeriodSeconds: 60,
      });
      expect(longer.metadata?.resourceVersion).toBe(marked.metadata?.resourceVersion);
      const shorter = await core.deleteNamespacedPod({
        namespace: ns,
        name: 'app',
        gracePeriodSeconds: 10,
      });
      expect(shorter.metadata?.deletionGracePeriodSeconds).toBe(10);
      expect(shorter.metadata?.deletionTimestamp?.getTime()).toBe(deadline - 20_000);
      // What the kubelet sends once the containers stopped.
      await core.deleteNamespacedPod({ namespace: ns, name: 'app', gracePeriodSeconds: 0 });
      await watch.until(() => watch.summary().includes('DELETED:app'), 'DELETED after grace 0');
      watch.stop();
      expect(podEvents(watch)).toEqual([
        'ADDED:app:-',
        'MODIFIED:app:30',
        'MODIFIED:app:10',
        'MODIFIED:app:0',
        'DELETED:app:0',
      ]);
      const gone = await failure(core.readNamespacedPod({ namespace: ns, name: 'app' }));
      expect(gone.code).toBe(404);
    });

    test('unscheduled pods, finished pods and grace 0 go at once; the pod sets the grace', async () => {
      const ns = await freshNamespace();
      await ensureDefaultServiceAccount(ns);
      const list = await core.listNamespacedPod({ namespace: ns });
      const watch = await WatchRecorder.start(kc, `/api/v1/namespaces/${ns}/pods`, {
        resourceVersion: list.metadata?.resourceVersion,
      });
      await core.createNamespacedPod({ namespace: ns, body: podBody('unscheduled') });
      await core.deleteNamespacedPod({ namespace: ns, name: 'unscheduled' });
      await core.createNamespacedPod({
        namespace: ns,
        body: podBody('forced', { nodeName: 'n1' }),
      });
      await core.deleteNamespacedPod({ namespace: ns, name: 'forced', gracePeriodSeconds: 0 });
      await core.createNamespacedPod({ namespace: ns, body: podBody('done', { nodeName: 'n1' }) });
      await core.patchNamespacedPodStatus(
        { namespace: ns, name: 'done', body: { status: { phase: 'Succeeded' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedPod({ namespace: ns, name: 'done' });
      await core.createNamespacedPod({
        namespace: ns,
        body: podBody('quick', { nodeName: 'n1', terminationGracePeriodSeconds: 5 }),
      });
      const marked = await core.deleteNamespacedPod({ namespace: ns, name: 'quick' });
      expect(marked.metadata?.deletionGracePeriodSeconds).toBe(5);
      await watch.until(() => watch.summary().includes('MODIFIED:quick'), 'quick marked');
      watch.stop();
      // Even an immediate delete writes the mark first: MODIFIED (grace 0), then DELETED.
      expect(podEvents(watch)).toEqual([
        'ADDED:unscheduled:-',
        'MODIFIED:unscheduled:0',
        'DELETED:unscheduled:0',
        'ADDED:forced:-',
        'MODIFIED:forced:0',
        'DELETED:forced:0',
        'ADDED:done:-',
        'MODIFIED:done:-',
        'MODIFIED:done:0',
        'DELETED:done:0',
        'ADDED:quick:-',
        'MODIFIED:quick:5',
      ]);
      const left = await core.listNamespacedPod({ namespace: ns });
      expect(left.items.map((p) => p.metadata?.name)).toEqual(['quick']);
    });

    test('a pod in its grace period outlives its finalizers until the grace-0 delete', async () => {
      const ns = await freshNamespace();
      await ensureDefaultServiceAccount(ns);
      await core.createNamespacedPod({
        namespace: ns,
        body: podBody('held', { nodeName: 'n1', finalizers: ['example.com/hold'] }),
      });
      await core.deleteNamespacedPod({ namespace: ns, name: 'held' });
      await core.patchNamespacedPod(
        { namespace: ns, name: 'held', body: [{ op: 'remove', path: '/metadata/finalizers' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      const kept = await core.readNamespacedPod({ namespace: ns, name: 'held' });
      expect(kept.metadata?.deletionGracePeriodSeconds).toBe(30);
      await core.deleteNamespacedPod({ namespace: ns, name: 'held', gracePeriodSeconds: 0 });
      const gone = await failure(core.readNamespacedPod({ namespace: ns, name: 'held' }));
      expect(gone.code).toBe(404);
    });

    test('a pod needs containers, each with a unique DNS-label name and an image (422)', async () => {
      const ns = await freshNamespace();
      await ensureDefaultServiceAccount(ns);
      const causes = async (spec: Record<string, unknown> | undefined): Promise<unknown> => {
        const result = await failure(
          core.createNamespacedPod({
            namespace: ns,
            body: {
              metadata: { name: 'bad' },
              ...(spec === undefined
                ? {}
                : { spec: { automountServiceAccountToken: false, ...spec } }),
            } as V1Pod,
          }),
        );
        expect(result.code).toBe(422);
        expect(result.status.reason).toBe('Invalid');
        expect(result.status.details).toMatchObject({ name: 'bad', kind: 'Pod' });
        return result.status.details?.causes?.map((c) => `${c.field ?? ''}:${c.reason ?? ''}`);
      };
      expect(await causes({ containers: [] })).toEqual(['spec.containers:FieldValueRequired']);
      expect(await causes({})).toEqual(['spec.containers:FieldValueRequired']);
      expect(await causes(undefined)).toEqual(['spec.containers:FieldValueRequired']);
      expect(await causes({ containers: [{ image: 'x' }] })).toEqual([
        'spec.containers[0].name:FieldValueRequired',
      ]);
      expect(await causes({ containers: [{ name: 'app' }] })).toEqual([
        'spec.containers[0].image:FieldValueRequired',
      ]);
      expect(await causes({ containers: [{ name: 'Not_Valid', image: 'x' }] })).toEqual([
        'spec.containers[0].name:FieldValueInvalid',
      ]);
      expect(
        await causes({
          containers: [
            { name: 'app', image: 'x' },
            { name: 'app', image: 'y' },
          ],
        }),
      ).toEqual(['spec.containers[1].name:FieldValueDuplicate']);
      const empty = await failure(
        core.createNamespacedPod({
          namespace: ns,
          body: { metadata: { name: 'bad' }, spec: { containers: [] } },
        }),
      );
      expect(empty.status.message).toBe('Pod "bad" is invalid: spec.containers: Required value');
      const pods = await core.listNamespacedPod({ namespace: ns });
      expect(pods.items).toEqual([]);
    });
  });

  describe('finalizers', () => {
    test('delete marks deletionTimestamp; removing the last finalizer deletes and emits DELETED', async () => {
      const ns = await freshNamespace();
      const list = await core.listNamespacedConfigMap({ namespace: ns });
      const watch = await WatchRecorder.start(kc, `/api/v1/namespaces/${ns}/configmaps`, {
        resourceVersion: list.metadata?.resourceVersion,
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'held', finalizers: ['example.com/cleanup'] } },
      });
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'held' });
      const marked = await core.readNamespacedConfigMap({ namespace: ns, name: 'held' });
      expect(marked.metadata?.deletionTimestamp).toBeInstanceOf(Date);
      expect(marked.metadata?.finalizers).toEqual(['example.com/cleanup']);
      const noNew = await failure(
        core.patchNamespacedConfigMap(
          {
            namespace: ns,
            name: 'held',
            body: { metadata: { finalizers: ['example.com/cleanup', 'example.com/more'] } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      expect(noNew.code).toBe(422);
      await core.patchNamespacedConfigMap(
        { namespace: ns, name: 'held', body: [{ op: 'remove', path: '/metadata/finalizers' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      await watch.until(
        () => watch.summary().includes('DELETED:held'),
        'DELETED after finalizer removal',
      );
      watch.stop();
      expect(watch.summary()[0]).toBe('ADDED:held');
      expect(watch.summary().at(-1)).toBe('DELETED:held');
      expect(
        watch
          .summary()
          .slice(1, -1)
          .every((s) => s === 'MODIFIED:held'),
      ).toBe(true);
      const gone = await failure(core.readNamespacedConfigMap({ namespace: ns, name: 'held' }));
      expect(gone.code).toBe(404);
    });
  });

  describe('custom resources', () => {
    const group = `c${runId}.contract.pod-identity.dev`;
    const version = 'v1';
    const plural = 'widgets';

    function widgetCrd(): V1CustomResourceDefinition {
      return {
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: version,
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      required: ['size'],
                      properties: {
                        size: { type: 'integer', minimum: 0 },
                        color: { type: 'string', _enum: ['red', 'blue'] },
                        extra: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                        template: {
                          type: 'object',
                          x_kubernetes_embedded_resource: true,
                          properties: {
                            spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
                          },
                        },
                      },
                    },
                    status: { type: 'object', properties: { phase: { type: 'string' } } },
                  },
                },
              },
            },
          ],
        },
      };
    }

    async function establish(crd: V1CustomResourceDefinition): Promise<void> {
      const name = crd.metadata?.name ?? '';
      await extensions.createCustomResourceDefinition({ body: crd });
      crds.push(name);
      await eventually(async () => {
        const current = await extensions.readCustomResourceDefinition({ name });
        return current.status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        )
          ? true
          : undefined;
      }, `CRD ${name} Established`);
      // Serving can trail the condition by a moment on a real server: wait until a list answers.
      const [crdPlural = '', ...rest] = name.split('.');
      const crdGroup = rest.join('.');
      await eventually(async () => {
        try {
          await custom.listClusterCustomObject({ group: crdGroup, version, plural: crdPlural });
          return true;
        } catch (error) {
          if (error instanceof ApiException && error.code === 404) return undefined;
          throw error;
        }
      }, `${name} served`);
    }

    beforeAll(async () => {
      await establish(widgetCrd());
    }, 30_000);

    test('unknown fields are pruned unless preserved; embedded resources keep their envelope', async () => {
      const ns = await freshNamespace();
      const created = (await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Widget',
          metadata: { name: 'w1' },
          topLevelUnknown: true,
          spec: {
            size: 3,
            unknown: 'dropped',
            extra: { anything: { goes: 1 } },
            template: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'inner' },
              spec: { replicas: 2, bogus: true },
              bogus: true,
            },
          },
        },
      })) as Record<string, unknown>;
      expect(created.topLevelUnknown).toBeUndefined();
      const spec = created.spec as Record<string, unknown>;
      expect(Object.keys(spec).sort()).toEqual(['extra', 'size', 'template']);
      expect(spec.extra).toEqual({ anything: { goes: 1 } });
      // kube may add `creationTimestamp: null` to an embedded object's metadata; compare the rest.
      const template = spec.template as Record<string, unknown>;
      expect(Object.keys(template).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
      expect(template).toMatchObject({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'inner' },
      });
      expect(template.spec).toEqual({ replicas: 2 });
    });

    test('a JSON patch replace of an absent key sets it when its parent exists, and is 422 when the parent is absent', async () => {
      // kube-apiserver applies JSON patches with evanphx/json-patch v4, whose `replace` only checks
      // the parent: the original MIC's `replace /status/status` therefore works on a record with a
      // `status` object but no state, and fails on one without `status` at all.
      const ns = await freshNamespace();
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Widget',
          metadata: { name: 'jp' },
          spec: { size: 1, extra: {} },
        },
      });
      const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
      const patched = (await custom.patchNamespacedCustomObject(
        {
          group,
          version,
          namespace: ns,
          plural,
          name: 'jp',
          body: [{ op: 'replace', path: '/spec/extra/state', value: 'Assigned' }],
        },
        jsonPatch,
      )) as { spec: { extra: Record<string, unknown> } };
      expect(patched.spec.extra).toEqual({ state: 'Assigned' });
      const missingParent = await failure(
        custom.patchNamespacedCustomObject(
          {
            group,
            version,
            namespace: ns,
            plural,
            name: 'jp',
            body: [{ op: 'replace', path: '/spec/extra/nested/state', value: 'Assigned' }],
          },
          jsonPatch,
        ),
      );
      expect(missingParent.code).toBe(422);
      expect(missingParent.status).toMatchObject({
        kind: 'Status',
        reason: 'Invalid',
        message: 'the server rejected our request due to an error in our request',
      });
      // A merge patch sets the same field whether or not its parents exist.
      const merged = (await custom.patchNamespacedCustomObject(
        {
          group,
          version,
          namespace: ns,
          plural,
          name: 'jp',
          body: { spec: { extra: { nested: { state: 'Assigned' } } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as { spec: { extra: unknown } };
      expect(merged.spec.extra).toEqual({ state: 'Assigned', nested: { state: 'Assigned' } });
    });

    test('dropped unknown fields and undotted finalizers come back as Warning headers; Strict refuses, Ignore is silent', async () => {
      const ns = await freshNamespace();
      const body = (name: string) => ({
        apiVersion: `${group}/${version}`,
        kind: 'Widget',
        metadata: { name, finalizers: ['widgets.finalizers.example.com'] },
        topLevelUnknown: true,
        spec: { size: 1, unknown: 'x', Size: 2 },
      });
      const warningsOf = (headers: Record<string, string>): string => headers.warning ?? '';
      const created = await custom.createNamespacedCustomObjectWithHttpInfo({
        group,
        version,
        namespace: ns,
        plural,
        body: body('warned'),
      });
      // One `299 - "<text>"` per dropped field (sorted), then the finalizer advice.
      expect(warningsOf(created.headers)).toBe(
        [
          '299 - "unknown field \\"spec.Size\\""',
          '299 - "unknown field \\"spec.unknown\\""',
          '299 - "unknown field \\"topLevelUnknown\\""',
          '299 - "metadata.finalizers: \\"widgets.finalizers.example.com\\": prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers"',
        ].join(', '),
      );
      const ignored = await custom.createNamespacedCustomObjectWithHttpInfo({
        group,
        version,
        namespace: ns,
        plural,
        body: { ...body('ignored'), metadata: { name: 'ignored' } },
        fieldValidation: 'Ignore',
      });
      expect(ignored.headers.warning).toBeUndefined();
      const strict = await failure(
        custom.createNamespacedCustomObject({
          group,
          version,
          namespace: ns,
          plural,
          body: body('strict'),
          fieldValidation: 'Strict',
        }),
      );
      expect(strict.code).toBe(400);
      expect(strict.status.reason).toBe('BadRequest');
      expect(strict.status.message).toBe(
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.Size", unknown field "spec.unknown", unknown field "topLevelUnknown"',
      );
      // Updates and patches warn about what they drop too (a finalizer already there is not news).
      const current = (await custom.getNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural,
        name: 'warned',
      })) as Record<string, unknown>;
      const replaced = await custom.replaceNamespacedCustomObjectWithHttpInfo({
        group,
        version,
        namespace: ns,
        plural,
        name: 'warned',
        body: { ...current, spec: { size: 3, Colour: 'red' } },
      });
      expect(warningsOf(replaced.headers)).toBe('299 - "unknown field \\"spec.Colour\\""');
      const patched = await custom.patchNamespacedCustomObjectWithHttpInfo(
        { group, version, namespace: ns, plural, name: 'warned', body: { spec: { Extra: 1 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(warningsOf(patched.headers)).toBe('299 - "unknown field \\"spec.Extra\\""');
      const strictPatch = await failure(
        custom.patchNamespacedCustomObject(
          {
            group,
            version,
            namespace: ns,
            plural,
            name: 'warned',
            body: { spec: { Extra: 1 } },
            fieldValidation: 'Strict',
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      expect(strictPatch.code).toBe(422);
      expect(strictPatch.status.details?.causes?.map((c) => c.field)).toEqual(['patch']);
      expect(strictPatch.status.message).toContain(
        'strict decoding error: unknown field "spec.Extra"',
      );
      for (const name of ['warned', 'ignored']) {
        await custom.patchNamespacedCustomObject(
          { group, version, namespace: ns, plural, name, body: { metadata: { finalizers: null } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
    });

    test('custom resources accept a dotted finalizer without a domain slash', async () => {
      const ns = await freshNamespace();
      const finalizer = 'widgets.finalizers.example.com';
      const created = (await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Widget',
          metadata: { name: 'fin', finalizers: [finalizer] },
          spec: { size: 1 },
        },
      })) as { metadata: { finalizers?: string[] } };
      expect(created.metadata.finalizers).toEqual([finalizer]);
      await custom.patchNamespacedCustomObject(
        {
          group,
          version,
          namespace: ns,
          plural,
          name: 'fin',
          body: { metadata: { finalizers: null } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    });

    test('schema validation answers 422 Invalid naming the field', async () => {
      const ns = await freshNamespace();
      const create = (spec: Record<string, unknown>) =>
        custom.createNamespacedCustomObject({
          group,
          version,
          namespace: ns,
          plural,
          body: {
            apiVersion: `${group}/${version}`,
            kind: 'Widget',
            metadata: { name: 'bad' },
            spec,
          },
        });
      const wrongType = await failure(create({ size: 'large' }));
      expect(wrongType.code).toBe(422);
      expect(wrongType.status.reason).toBe('Invalid');
      expect(wrongType.status.details?.causes?.map((c) => c.field)).toContain('spec.size');
      const missing = await failure(create({ color: 'red' }));
      expect(missing.status.details?.causes?.map((c) => c.field)).toContain('spec.size');
      const notInEnum = await failure(create({ size: 1, color: 'green' }));
      expect(notInEnum.status.details?.causes?.map((c) => c.reason)).toContain(
        'FieldValueNotSupported',
      );
      const strategic = await failure(
        custom.patchNamespacedCustomObject(
          { group, version, namespace: ns, plural, name: 'absent', body: { spec: { size: 1 } } },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        ),
      );
      expect(strategic.code).toBe(415);
    });

    test('status subresource: main writes ignore status, /status writes ignore spec, generation tracks spec', async () => {
      const ns = await freshNamespace();
      const body = {
        apiVersion: `${group}/${version}`,
        kind: 'Widget',
        metadata: { name: 's1' },
        spec: { size: 1 },
        status: { phase: 'ignored-on-create' },
      };
      const created = (await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural,
        body,
      })) as {
        metadata: { generation: number; resourceVersion: string };
        status?: unknown;
      };
      expect(created.status).toBeUndefined();
      expect(created.metadata.generation).toBe(1);
      const withStatus = (await custom.patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          namespace: ns,
          plural,
          name: 's1',
          body: { spec: { size: 99 }, status: { phase: 'Ready' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as { spec: { size: number }; status: { phase: string }; metadata: { generation: number } };
      expect(withStatus.status.phase).toBe('Ready');
      expect(withStatus.spec.size).toBe(1);
      expect(withStatus.metadata.generation).toBe(1);
      const mainWrite = (await custom.patchNamespacedCustomObject(
        {
          group,
          version,
          namespace: ns,
          plural,
          name: 's1',
          body: { spec: { size: 2 }, status: { phase: 'Hacked' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as { spec: { size: number }; status: { phase: string }; metadata: { generation: number } };
      expect(mainWrite.spec.size).toBe(2);
      expect(mainWrite.status.phase).toBe('Ready');
      expect(mainWrite.metadata.generation).toBe(2);
    });

    test('a CRD without the status subresource serves no /status; a cluster-scoped CRD lists cluster-wide', async () => {
      const clusterPlural = 'gadgets';
      await establish({
        metadata: { name: `${clusterPlural}.${group}` },
        spec: {
          group,
          scope: 'Cluster',
          names: { plural: clusterPlural, singular: 'gadget', kind: 'Gadget' },
          versions: [
            {
              name: version,
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                  },
                },
              },
            },
          ],
        },
      });
      await custom.createClusterCustomObject({
        group,
        version,
        plural: clusterPlural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Gadget',
          metadata: { name: 'g1' },
          spec: { any: 'thing' },
        },
      });
      const listed = (await custom.listClusterCustomObject({
        group,
        version,
        plural: clusterPlural,
      })) as {
        items: { metadata: { name: string; namespace?: string } }[];
      };
      expect(listed.items.map((i) => i.metadata.name)).toEqual(['g1']);
      expect(listed.items[0]?.metadata.namespace).toBeUndefined();
      const noStatus = await failure(
        custom.getClusterCustomObjectStatus({ group, version, plural: clusterPlural, name: 'g1' }),
      );
      expect(noStatus.code).toBe(404);
    });

    test('objects stored before a CRD gained a pruning schema are read pruned, and whole again without it', async () => {
      // kube-apiserver prunes custom resources when it decodes them from etcd, not only on write: a
      // field stored under a schema that kept unknown fields disappears from reads once a structural
      // schema prunes it, yet stays in etcd until the object is written again.
      const relicPlural = 'relics';
      const name = `${relicPlural}.${group}`;
      const schemaOf = (pruning: boolean) => ({
        openAPIV3Schema: pruning
          ? {
              type: 'object',
              properties: { spec: { type: 'object', properties: { kept: { type: 'integer' } } } },
            }
          : { type: 'object', x_kubernetes_preserve_unknown_fields: true },
      });
      await establish({
        metadata: { name },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: relicPlural, singular: 'relic', kind: 'Relic' },
          versions: [{ name: version, served: true, storage: true, schema: schemaOf(false) }],
        },
      });
      const ns = await freshNamespace();
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: relicPlural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Relic',
          metadata: { name: 'r1' },
          spec: { Old: 'capitalised', kept: 2 },
        },
      });
      const setSchema = async (pruning: boolean): Promise<void> => {
        const current = await extensions.readCustomResourceDefinition({ name });
        const [first] = current.spec.versions;
        if (first === undefined) throw new Error('no version');
        first.schema = schemaOf(pruning);
        await extensions.replaceCustomResourceDefinition({ name, body: current });
      };
      const specOf = async (): Promise<unknown> =>
        (
          (await custom.getNamespacedCustomObject({
            group,
            version,
            namespace: ns,
            plural: relicPlural,
            name: 'r1',
          })) as { spec: unknown }
        ).spec;
      await setSchema(true);
      await eventually(
        async () => (JSON.stringify(await specOf()) === '{"kept":2}' ? true : undefined),
        'the stored object read pruned',
      );
      await setSchema(false);
      const whole = await eventually(async () => {
        const spec = (await specOf()) as Record<string, unknown>;
        return Object.hasOwn(spec, 'Old') ? spec : undefined;
      }, 'the stored object read whole again');
      expect(whole).toEqual({ Old: 'capitalised', kept: 2 });
    });

    test('custom resource watches see changes; deleting the CRD stops serving its resources', async () => {
      const tempPlural = 'gizmos';
      const name = `${tempPlural}.${group}`;
      await establish({
        metadata: { name },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: tempPlural, singular: 'gizmo', kind: 'Gizmo' },
          versions: [
            {
              name: version,
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                  },
                },
              },
            },
          ],
        },
      });
      const ns = await freshNamespace();
      const list = (await custom.listNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: tempPlural,
      })) as {
        metadata: { resourceVersion: string };
      };
      const watch = await WatchRecorder.start(
        kc,
        `/apis/${group}/${version}/namespaces/${ns}/${tempPlural}`,
        {
          resourceVersion: list.metadata.resourceVersion,
        },
      );
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: tempPlural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Gizmo',
          metadata: { name: 'z1' },
          spec: {},
        },
      });
      await watch.until(() => watch.summary().includes('ADDED:z1'), 'custom resource ADDED');
      await extensions.deleteCustomResourceDefinition({ name });
      await eventually(async () => {
        try {
          await custom.listNamespacedCustomObject({
            group,
            version,
            namespace: ns,
            plural: tempPlural,
          });
          return undefined;
        } catch (error) {
          if (error instanceof ApiException && error.code === 404) return true;
          throw error;
        }
      }, 'custom resources to stop being served');
      watch.stop();
    });
  });
}
