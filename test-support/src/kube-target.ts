/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment, @typescript-eslint/no-misused-spread -- client-node model classes are plain data holders; its documented usage passes object literals */
// Where a *.kubernetes.test.ts talks to Kubernetes (docs/conformance.md): the testkit emulator of
// its sandbox in `pnpm test`, or the conformance tier's real kube-apiserver when
// POD_IDENTITY_KUBECONFIG is set. Azure (ARM, IMDS, Entra) is the sandbox's in both cases. The test
// writes the world as admin through the API (nodes, pods and their status, custom resources), the
// way it must on a real server where no kubelet, scheduler or controller runs; the component under
// test gets its own kubeconfig, which on the real server is bound only to deploy/rbac/.
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Watch,
} from '@kubernetes/client-node';
import type { Sandbox, SandboxNode, SandboxOptions } from '@pod-identity/testkit';
import { startSandbox } from '@pod-identity/testkit';

/** The API group and version of the pod-identity custom resources. */
export const CRD_GROUP = 'aadpodidentity.k8s.io';
export const CRD_VERSION = 'v1';

/** A pod the test created, with the address it was given. */
export interface CreatedPod {
  readonly namespace: string;
  readonly name: string;
  readonly podIp: string;
}

/** One event of {@link KubeTarget.watch}. */
export interface WatchedEvent {
  readonly type: string;
  readonly object: Record<string, unknown>;
}

/** A watch the test follows: every event so far, and a way to await one. */
export interface EventLog {
  readonly events: readonly WatchedEvent[];
  /** Resolves with the first event (past or future) that matches; rejects after `timeoutMs`. */
  next(
    match: (event: WatchedEvent) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<WatchedEvent>;
  stop(): void;
}

/** The Kubernetes side of a test, plus the sandbox that emulates Azure. */
export interface KubeTarget {
  /** True against the conformance tier's kube-apiserver. */
  readonly real: boolean;
  readonly sandbox: Sandbox;
  /** Sets up the world (cluster-admin on the real server). */
  readonly admin: KubeConfig;
  /** For the component under test: bound only to the shipped roles on the real server. */
  readonly component: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** A short random suffix for unique names (one real server serves every run's files). */
  readonly suffix: string;
  /** Creates a fresh namespace `<prefix>-<suffix>` and returns its name. */
  namespace(prefix: string): Promise<string>;
  /** Creates the Node of a sandbox node (name and `spec.providerID`), unless it exists. */
  node(node: SandboxNode): Promise<void>;
  /** Creates a running pod on a node and writes its status (IP, phase) through `/status`. */
  pod(
    node: SandboxNode,
    spec: {
      namespace: string;
      name: string;
      labels?: Record<string, string>;
      serviceAccountName?: string;
    },
  ): Promise<CreatedPod>;
  /** Deletes a pod at once (grace period 0: no kubelet would ever confirm a graceful deletion). */
  deletePod(namespace: string, name: string): Promise<void>;
  /** Creates a namespaced custom resource of the pod-identity group. */
  createCustom(
    plural: string,
    body: { readonly metadata: { readonly namespace: string; readonly name: string } } & Record<
      string,
      unknown
    >,
  ): Promise<void>;
  /** A namespaced custom resource, or undefined when it does not exist. */
  getCustom(
    plural: string,
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined>;
  /** Follows a collection (an API path) from now on. */
  watch(path: string, query?: Record<string, string>): Promise<EventLog>;
  stop(): Promise<void>;
}

const kubeconfigPath = process.env.POD_IDENTITY_KUBECONFIG;

/** Whether this run targets the conformance tier's real API server. */
export const againstRealServer = kubeconfigPath !== undefined;

function loadKubeConfig(path: string | undefined, variable: string): KubeConfig {
  if (path === undefined) throw new Error(`${variable} must be set with POD_IDENTITY_KUBECONFIG`);
  const config = new KubeConfig();
  config.loadFromFile(path);
  return config;
}

/** Whether a client-node call failed with this HTTP status. */
export function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/**
 * Starts the sandbox (Azure, and the emulated Kubernetes when no real server is configured) and
 * connects to the Kubernetes side the component `component` will use.
 */
export async function startKubeTarget(
  component: 'mic' | 'nmi',
  sandboxOptions: SandboxOptions,
): Promise<KubeTarget> {
  const sandbox = await startSandbox(sandboxOptions);
  const admin = againstRealServer
    ? loadKubeConfig(kubeconfigPath, 'POD_IDENTITY_KUBECONFIG')
    : sandbox.kubeConfig;
  const componentConfig = againstRealServer
    ? component === 'mic'
      ? loadKubeConfig(process.env.POD_IDENTITY_MIC_KUBECONFIG, 'POD_IDENTITY_MIC_KUBECONFIG')
      : loadKubeConfig(process.env.POD_IDENTITY_NMI_KUBECONFIG, 'POD_IDENTITY_NMI_KUBECONFIG')
    : sandbox.kubeConfig;
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const suffix = randomBytes(3).toString('hex');
  // Pod addresses per node, from the node's loopback range (the sandbox's allocator only knows the
  // pods it creates itself, and on the real server nothing allocates them).
  const nextHost = new Map<string, number>();
  const watches = new Set<EventLog>();

  return {
    real: againstRealServer,
    sandbox,
    admin,
    component: componentConfig,
    core,
    custom,
    suffix,
    async namespace(prefix) {
      const name = `${prefix}-${suffix}`;
      await core.createNamespace({ body: { metadata: { name } } });
      return name;
    },
    async node(node) {
      try {
        await core.createNode({
          body: { metadata: { name: node.name }, spec: { providerID: node.providerId } },
        });
      } catch (error) {
        // The emulator's sandbox registered its own nodes already.
        if (!isStatus(error, 409)) throw error;
      }
    },
    async pod(node, spec) {
      const first = node.podAddressRange.first.split('.').map(Number);
      const host = (nextHost.get(node.name) ?? (first[3] ?? 1) + 10) + 1;
      nextHost.set(node.name, host);
      const podIp = `${String(first[0])}.${String(first[1])}.${String(first[2])}.${String(host)}`;
      const created = await core.createNamespacedPod({
        namespace: spec.namespace,
        body: {
          metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels ?? {} },
          spec: {
            nodeName: node.name,
            ...(spec.serviceAccountName === undefined
              ? {}
              : { serviceAccountName: spec.serviceAccountName }),
            containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
          },
        },
      });
      await core.replaceNamespacedPodStatus({
        namespace: spec.namespace,
        name: spec.name,
        body: {
          ...created,
          status: {
            phase: 'Running',
            podIP: podIp,
            podIPs: [{ ip: podIp }],
            hostIP: node.internalIp,
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
      });
      return { namespace: spec.namespace, name: spec.name, podIp };
    },
    async deletePod(namespace, name) {
      await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
    },
    async createCustom(plural, body) {
      await custom.createNamespacedCustomObject({
        group: CRD_GROUP,
        version: CRD_VERSION,
        namespace: body.metadata.namespace,
        plural,
        body,
      });
    },
    async getCustom(plural, namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({
          group: CRD_GROUP,
          version: CRD_VERSION,
          namespace,
          plural,
          name,
        })) as Record<string, unknown>;
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    },
    async watch(path, query = {}) {
      const events: WatchedEvent[] = [];
      const waiters = new Set<() => void>();
      let failure: unknown;
      let stopped = false;
      const controller = await new Watch(admin).watch(
        path,
        query,
        (type: string, object: Record<string, unknown>) => {
          events.push({ type, object });
          for (const wake of waiters) wake();
        },
        (error: unknown) => {
          if (error !== null && error !== undefined && !stopped) failure = error;
          for (const wake of waiters) wake();
        },
      );
      const log: EventLog = {
        events,
        next(match, what, timeoutMs = 30_000) {
          return new Promise((resolve, reject) => {
            const check = (): void => {
              const found = events.find(match);
              if (found !== undefined) {
                finish();
                resolve(found);
              } else if (failure !== undefined) {
                finish();
                reject(new Error(`watch of ${path} ended before ${what}`, { cause: failure }));
              }
            };
            const timer = setTimeout(() => {
              finish();
              reject(
                new Error(
                  `timed out waiting for ${what}; saw ${JSON.stringify(events.map((e) => e.type))}`,
                ),
              );
            }, timeoutMs);
            const finish = (): void => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        stop() {
          stopped = true;
          controller.abort();
          watches.delete(log);
        },
      };
      watches.add(log);
      return log;
    },
    async stop() {
      for (const log of [...watches]) log.stop();
      await sandbox.stop();
    },
  };
}

/**
 * Polls until `check` resolves true, for state that has no event of its own (a component's cache,
 * an emulated scale set).
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
