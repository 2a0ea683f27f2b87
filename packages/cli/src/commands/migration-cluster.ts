/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node model classes are plain data holders; its documented usage passes object literals */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  WellKnownApi,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { CliError } from '../cli-error.js';
import { EXCHANGE_AUDIENCE } from './plan-migration.js';

/** A pod as `migrate` reads it. */
export interface ClusterPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccountName: string;
  /** The workload whose pod template makes it: `Deployment/x`, `StatefulSet/x`, `DaemonSet/x`. */
  readonly workload:
    | { readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; readonly name: string }
    | undefined;
}

/** The Kubernetes reads and writes of `pod-identity migrate` (pods, service accounts, workloads, tokens). */
export interface MigrationCluster {
  listPods(): Promise<ClusterPod[]>;
  listServiceAccounts(): Promise<
    { namespace: string; name: string; annotations: Record<string, string> }[]
  >;
  /** The service-account issuer the API server announces (`/.well-known/openid-configuration`). */
  issuer(): Promise<string>;
  /** Merge-patches annotations (`null` removes one). */
  annotateServiceAccount(
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<void>;
  /** Merge-patches a pod's labels (`null` removes one); `false` when the pod is gone. */
  labelPod(
    namespace: string,
    name: string,
    labels: Record<string, string | null>,
  ): Promise<boolean>;
  /** Merge-patches the pod template labels of a workload (a rollout follows, as for any template change). */
  labelWorkload(
    namespace: string,
    workload: NonNullable<ClusterPod['workload']>,
    labels: Record<string, string | null>,
  ): Promise<void>;
  /** A token of the service account bound to the pod, for the token-exchange audience. */
  requestToken(
    namespace: string,
    serviceAccountName: string,
    pod: { name: string; uid: string },
  ): Promise<string>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ApiException) {
      const body = typeof error.body === 'string' ? error.body : JSON.stringify(error.body);
      let message = body;
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        // not a Status
      }
      throw new CliError(`${what}: ${message} (HTTP ${String(error.code)})`, { cause: error });
    }
    throw new CliError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/**
 * {@link MigrationCluster} on client-node.
 * @param kubeConfig - the administrator's kubeconfig
 */
export function createMigrationCluster(kubeConfig: KubeConfig): MigrationCluster {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const replicaSetOwners = new Map<string, string | undefined>();

  const workloadOf = async (pod: V1Pod): Promise<ClusterPod['workload']> => {
    const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller === true);
    if (owner === undefined) return undefined;
    if (owner.kind === 'StatefulSet' || owner.kind === 'DaemonSet')
      return { kind: owner.kind, name: owner.name };
    if (owner.kind !== 'ReplicaSet') return undefined;
    const namespace = pod.metadata?.namespace ?? 'default';
    const cacheKey = `${namespace}/${owner.name}`;
    if (!replicaSetOwners.has(cacheKey)) {
      const replicaSet = await call(`get replicaset ${cacheKey}`, () =>
        apps.readNamespacedReplicaSet({ namespace, name: owner.name }),
      ).catch(() => undefined);
      const deployment = replicaSet?.metadata?.ownerReferences?.find(
        (ref) => ref.controller === true && ref.kind === 'Deployment',
      );
      replicaSetOwners.set(cacheKey, deployment?.name);
    }
    const deployment = replicaSetOwners.get(cacheKey);
    return deployment === undefined ? undefined : { kind: 'Deployment', name: deployment };
  };

  return {
    async listPods() {
      const list = await call('list pods', () => core.listPodForAllNamespaces());
      const pods: ClusterPod[] = [];
      for (const pod of list.items) {
        const phase = pod.status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed') continue;
        pods.push({
          namespace: pod.metadata?.namespace ?? 'default',
          name: pod.metadata?.name ?? '',
          uid: pod.metadata?.uid ?? '',
          labels: pod.metadata?.labels ?? {},
          serviceAccountName: pod.spec?.serviceAccountName ?? 'default',
          workload: await workloadOf(pod),
        });
      }
      return pods;
    },
    async listServiceAccounts() {
      const list = await call('list service accounts', () =>
        core.listServiceAccountForAllNamespaces(),
      );
      return list.items.map((account) => ({
        namespace: account.metadata?.namespace ?? 'default',
        name: account.metadata?.name ?? '',
        annotations: account.metadata?.annotations ?? {},
      }));
    },
    async issuer() {
      const answer: unknown = await call('read the service-account issuer', () =>
        kubeConfig.makeApiClient(WellKnownApi).getServiceAccountIssuerOpenIDConfiguration(),
      );
      // client-node types the document as a string but hands it over parsed.
      const document = (typeof answer === 'string' ? JSON.parse(answer) : answer) as {
        issuer?: unknown;
      };
      if (typeof document.issuer !== 'string' || document.issuer === '')
        throw new CliError('the API server announces no service-account issuer', {
          hint: 'pass --oidc-issuer (on AKS: az aks show --query oidcIssuerProfile.issuerUrl)',
        });
      return document.issuer;
    },
    async annotateServiceAccount(namespace, name, annotations) {
      await call(`annotate service account ${namespace}/${name}`, async () => {
        try {
          await core.patchNamespacedServiceAccount(
            { namespace, name, body: { metadata: { annotations } } },
            mergePatch,
          );
        } catch (error) {
          // The pods' service account may never have been created (`default` before its controller).
          if (!(error instanceof ApiException && error.code === 404)) throw error;
          const present = Object.fromEntries(
            Object.entries(annotations).filter(
              (entry): entry is [string, string] => entry[1] !== null,
            ),
          );
          await core.createNamespacedServiceAccount({
            namespace,
            body: { metadata: { name, annotations: present } },
          });
        }
      });
    },
    async labelPod(namespace, name, labels) {
      try {
        await core.patchNamespacedPod(
          { namespace, name, body: { metadata: { labels } } },
          mergePatch,
        );
        return true;
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return false;
        return call(`label pod ${namespace}/${name}`, () => {
          throw error;
        });
      }
    },
    async labelWorkload(namespace, workload, labels) {
      const body = { spec: { template: { metadata: { labels } } } };
      const what = `label the pod template of ${workload.kind} ${namespace}/${workload.name}`;
      const name = workload.name;
      if (workload.kind === 'Deployment')
        await call(what, () =>
          apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch),
        );
      else if (workload.kind === 'StatefulSet')
        await call(what, () =>
          apps.patchNamespacedStatefulSet({ namespace, name, body }, mergePatch),
        );
      else
        await call(what, () =>
          apps.patchNamespacedDaemonSet({ namespace, name, body }, mergePatch),
        );
    },
    async requestToken(namespace, serviceAccountName, pod) {
      const answer = await call(
        `request a token of service account ${namespace}/${serviceAccountName}`,
        () =>
          core.createNamespacedServiceAccountToken({
            namespace,
            name: serviceAccountName,
            body: {
              spec: {
                audiences: [EXCHANGE_AUDIENCE],
                expirationSeconds: 600,
                boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid },
              },
            },
          }),
      );
      return answer.status?.token ?? '';
    },
  };
}
