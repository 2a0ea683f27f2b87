import {
  ASSIGNED_IDENTITY_NODE_LABEL,
  CrdKinds,
  PodIndex,
  safeParseAzureAssignedIdentity,
  safeParseAzureIdentity,
  safeParseAzureIdentityBinding,
  safeParseAzurePodIdentityException,
  type AuthorizationView,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type ExceptionMatch,
  type OperationMode,
  type PodRecord,
  type ParseResult,
  type ValidationError,
} from '@pod-identity/core';
import {
  createInformer,
  customResourceSource,
  kubeHttpClientFor,
  podSource,
  type Informer,
  type KubeConnection,
  type KubernetesWireObject,
} from '@pod-identity/core/kubernetes';
import { ChangeSignal, type NmiClusterState } from './cluster-state.js';

/** Options of {@link createInformerClusterState}. */
export interface InformerClusterStateOptions {
  /** API server connection: a client-node `KubeConfig` or a lean `KubeConnection`. */
  kubeConfig: KubeConnection;
  /** This node's name: only its pods are watched (`spec.nodeName`). */
  nodeName: string;
  /** Operation mode: standard also watches assigned identities. */
  operationMode: OperationMode;
  /** Every identity namespaced. */
  forceNamespaced: boolean;
  /** How exceptions select pods (`--exception-match`). Default `any`, as the original. */
  exceptionMatch?: ExceptionMatch;
  /** Watch only this node's assigned identities (label `nodename=<node>`), as `--enableScaleFeatures`. */
  scaleFeatures: boolean;
  /** Told of objects that fail to parse (they are left out) and of watch errors. */
  onInvalid?: (kind: string, error: ValidationError) => void;
  /** Told of list/watch failures. */
  onError?: (error: unknown) => void;
}

const byNamespace = (item: { metadata: { namespace?: string } }): string[] => [
  item.metadata.namespace ?? '',
];

/**
 * The daemon's cluster state: informers on this node's pods (field selector `spec.nodeName`), the
 * exceptions, and, by mode, this node's assigned identities (label `nodename`) or the bindings and
 * identities. Caches hold parsed, typed objects; anything that does not parse is left out and reported,
 * so a malformed object can never be half-read into a decision.
 * @param options - connection, node, mode
 */
export function createInformerClusterState(options: InformerClusterStateOptions): NmiClusterState {
  const { kubeConfig } = options;
  const pods = new PodIndex();
  const changes = new ChangeSignal();
  const client = kubeHttpClientFor(kubeConfig);
  const invalid =
    (kind: string) =>
    (error: ValidationError): undefined => {
      options.onInvalid?.(kind, error);
      return undefined;
    };
  const parsed = <T>(result: ParseResult<T>, kind: string): T | undefined => {
    if (result.ok) return result.value;
    invalid(kind)(result.error);
    return undefined;
  };

  const podInformer = createInformer<PodRecord>({
    ...podSource(kubeConfig),
    kubeConfig,
    fieldSelector: `spec.nodeName=${options.nodeName}`,
    project: projectPod,
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  podInformer.on('add', (pod) => {
    pods.upsert(pod);
  });
  podInformer.on('update', (pod) => {
    pods.upsert(pod);
  });
  podInformer.on('delete', (pod) => {
    pods.remove(pod.namespace, pod.name);
  });

  const crd = <T extends { metadata: { namespace?: string } }, I extends string>(
    plural: string,
    kind: string,
    parse: (raw: unknown) => ParseResult<T>,
    indexes: Record<I, (item: T) => readonly string[]>,
    labelSelector?: string,
  ): Informer<T, I> => {
    const informer = createInformer<T, I>({
      ...customResourceSource(kubeConfig, plural),
      kubeConfig,
      ...(labelSelector === undefined ? {} : { labelSelector }),
      project: (raw: KubernetesWireObject) => parsed(parse(raw), kind),
      indexes,
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
    const notify = (): void => {
      changes.notify();
    };
    informer.on('add', notify);
    informer.on('update', notify);
    informer.on('delete', notify);
    return informer;
  };

  const exceptions = crd<AzurePodIdentityException, 'namespace'>(
    CrdKinds.AzurePodIdentityException.plural,
    'AzurePodIdentityException',
    safeParseAzurePodIdentityException,
    { namespace: byNamespace },
  );
  const standard = options.operationMode === 'standard';
  const assigned = standard
    ? crd<AzureAssignedIdentity, 'pod'>(
        CrdKinds.AzureAssignedIdentity.plural,
        'AzureAssignedIdentity',
        safeParseAzureAssignedIdentity,
        { pod: (record) => [`${record.spec.podNamespace}/${record.spec.pod}`] },
        options.scaleFeatures ? `${ASSIGNED_IDENTITY_NODE_LABEL}=${options.nodeName}` : undefined,
      )
    : undefined;
  // Standard mode reads bindings only to tell a final refusal (no binding selects the pod) from one
  // MIC is still working on; managed mode decides from them.
  const bindings = crd<AzureIdentityBinding, 'namespace' | 'selector'>(
    CrdKinds.AzureIdentityBinding.plural,
    'AzureIdentityBinding',
    safeParseAzureIdentityBinding,
    { namespace: byNamespace, selector: (binding) => [binding.spec.selector] },
  );
  // Managed mode decides from the identities; standard mode reads them for the federated ones
  // (annotation aadpodidentity.k8s.io/federated), which MIC never records.
  const identities = crd<AzureIdentity, 'namespace'>(
    CrdKinds.AzureIdentity.plural,
    'AzureIdentity',
    safeParseAzureIdentity,
    { namespace: byNamespace },
  );
  const all: Informer<unknown, string>[] = [
    podInformer,
    exceptions,
    ...(assigned === undefined ? [] : [assigned]),
    bindings,
    identities,
  ] as Informer<unknown, string>[];

  const view: AuthorizationView = {
    mode: options.operationMode,
    forceNamespaced: options.forceNamespaced,
    exceptionMatch: options.exceptionMatch ?? 'any',
    exceptions: (namespace) => exceptions.byIndex('namespace', namespace),
    assignedIdentities: (podNamespace, podName) =>
      assigned?.byIndex('pod', `${podNamespace}/${podName}`) ?? [],
    bindings: (namespace) => bindings.byIndex('namespace', namespace),
    bindingsSelecting: (selector) => bindings.byIndex('selector', selector),
    identities: (namespace) => identities.byIndex('namespace', namespace),
  };

  return {
    pods,
    view,
    changed: (timeoutMs, abortSignal) => changes.wait(timeoutMs, abortSignal),
    readSecret: async (reference, abortSignal) => {
      abortSignal?.throwIfAborted();
      const secret = await client.request<{ data?: Record<string, string> | null }>(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(reference.namespace)}/secrets/${encodeURIComponent(reference.name)}`,
        abortSignal === undefined ? {} : { abortSignal },
      );
      const data: Record<string, Uint8Array> = {};
      for (const [key, value] of Object.entries(secret.data ?? {}))
        data[key] = Buffer.from(value, 'base64');
      return data;
    },
    start: async (abortSignal) => {
      await Promise.all(all.map((informer) => informer.start(abortSignal)));
    },
    stop: async () => {
      await Promise.all(all.map((informer) => informer.stop()));
    },
    isSynced: () => all.every((informer) => informer.hasSynced()),
  };
}

/**
 * The fields of a pod the broker reads. Accepts both the typed list's objects and the watch's raw JSON
 * (same field names for pods).
 * @param raw - a pod as the API server sent it
 */
export function projectPod(raw: KubernetesWireObject): PodRecord | undefined {
  const metadata = raw.metadata;
  const name = metadata?.name;
  const namespace = metadata?.namespace;
  if (typeof name !== 'string' || typeof namespace !== 'string') return undefined;
  const status = (raw.status ?? {}) as { phase?: unknown; podIP?: unknown; podIPs?: unknown };
  const spec = (raw.spec ?? {}) as { hostNetwork?: unknown; serviceAccountName?: unknown };
  const ips = new Set<string>();
  if (Array.isArray(status.podIPs)) {
    for (const entry of status.podIPs as unknown[]) {
      const ip = (entry as { ip?: unknown } | null)?.ip;
      if (typeof ip === 'string' && ip !== '') ips.add(ip);
    }
  }
  if (typeof status.podIP === 'string' && status.podIP !== '') ips.add(status.podIP);
  const labels: Record<string, string> = {};
  const rawLabels = metadata?.labels;
  if (typeof rawLabels === 'object' && rawLabels !== null) {
    for (const [key, value] of Object.entries(rawLabels as Record<string, unknown>)) {
      if (typeof value === 'string') labels[key] = value;
    }
  }
  const uid = metadata?.uid;
  return {
    namespace,
    name,
    ...(typeof uid === 'string' ? { uid } : {}),
    phase: typeof status.phase === 'string' ? status.phase : '',
    podIPs: [...ips],
    hostNetwork: spec.hostNetwork === true,
    labels,
    ...(typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== ''
      ? { serviceAccountName: spec.serviceAccountName }
      : {}),
  };
}
