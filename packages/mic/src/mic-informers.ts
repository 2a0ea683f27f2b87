// MIC's view of the cluster: five informers (pods with the binding label, nodes, and the three
// custom resources) with the projections and indexes the planners read, and the provider IDs of every
// node seen.
import {
  CrdKinds,
  POD_LABEL_KEY,
  safeParseAzureAssignedIdentity,
  safeParseAzureIdentity,
  safeParseAzureIdentityBinding,
  silentLogger,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type Logger,
  type PlannerPod,
} from '@pod-identity/core';
import {
  createInformer,
  customResourceSource,
  nodeSource,
  podSource,
  type Informer,
  type KubeConnection,
  type KubernetesWireObject,
} from '@pod-identity/core/kubernetes';
import { createLenientProjection } from './lenient-projection.js';
import { looseRecordSpec } from './record-rewrites.js';

/** A node as MIC sees it: its name and the Azure provider ID that names its scale set or VM. */
export interface MicNode {
  /** `metadata.name`. */
  readonly name: string;
  /** `spec.providerID` (`azure:///subscriptions/…`), or `''`. */
  readonly providerId: string;
}

/** Options of {@link createMicInformers}. */
export interface MicInformersOptions {
  /** Connection to the API server: a lean `KubeConnection` or a client-node `KubeConfig`. */
  kubeConfig: KubeConnection;
  /** Where watch failures and refused objects are logged. Default silent. */
  logger?: Logger;
}

/**
 * The informers a Managed Identity Controller plans from. Objects the strict parsers refuse are kept
 * in the custom-resource caches (when they have a name) with their problem remembered, so a planner
 * leaves them out and reports them instead of them vanishing.
 */
export interface MicInformers {
  /** Pods carrying the binding label (`aadpodidbinding`), indexed by node. */
  readonly pods: Informer<PlannerPod, 'byNode'>;
  /** Every node. */
  readonly nodes: Informer<MicNode>;
  /** AzureIdentities. */
  readonly identities: Informer<AzureIdentity>;
  /** AzureIdentityBindings. */
  readonly bindings: Informer<AzureIdentityBinding>;
  /** AzureAssignedIdentities (the records), indexed by node and by `podNamespace/pod`. */
  readonly assigned: Informer<AzureAssignedIdentity, 'byNode' | 'byPod'>;
  /**
   * Provider ID by node name, for every node seen since the start: a deleted node keeps its entry,
   * so the records of a vanished node can still be released from its scale set.
   */
  readonly nodeProviderIds: ReadonlyMap<string, string>;
  /** Why the strict parser refused a cached identity or binding, or `undefined` if it parsed. */
  readonly parseProblem: (object: AzureIdentity | AzureIdentityBinding) => string | undefined;
  /**
   * Starts all five; resolves once each has its first list. If one fails to start (say `signal`
   * aborts first), all are stopped and the error is thrown.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops all five; the caches keep their last contents. */
  stop(): Promise<void>;
}

function labelsOf(raw: KubernetesWireObject): Record<string, string> {
  const labels = raw.metadata?.labels;
  return typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : {};
}

/**
 * A pod reduced to what the planners read (name, namespace, uid, node, binding selector, phase).
 * @param raw - the pod as the API server sent it
 * @returns the projection, or `undefined` for a pod without a name or namespace
 */
export function projectPlannerPod(raw: KubernetesWireObject): PlannerPod | undefined {
  const name = raw.metadata?.name;
  const namespace = raw.metadata?.namespace;
  if (name === undefined || namespace === undefined) return undefined;
  const spec = raw.spec as { nodeName?: string } | undefined;
  const status = raw.status as { phase?: string } | undefined;
  const uid = raw.metadata?.uid;
  return {
    name,
    namespace,
    ...(typeof uid === 'string' && uid !== '' ? { uid } : {}),
    nodeName: spec?.nodeName ?? '',
    selector: labelsOf(raw)[POD_LABEL_KEY] ?? '',
    ...(status?.phase === undefined ? {} : { phase: status.phase }),
  };
}

function projectNode(raw: KubernetesWireObject): MicNode | undefined {
  const name = raw.metadata?.name;
  if (name === undefined) return undefined;
  const spec = raw.spec as { providerID?: string } | undefined;
  return { name, providerId: spec?.providerID ?? '' };
}

/**
 * Creates MIC's informer set (not started). A custom controller can plan from it as MIC does, or
 * watch the same objects with the same projections.
 *
 * @example
 * ```ts
 * const informers = createMicInformers({ kubeConfig });
 * await informers.start(signal);
 * const podsOnNode = informers.pods.byIndex('byNode', 'aks-nodepool1-0');
 * ```
 * @param options - the connection and logger
 * @returns the informers
 */
export function createMicInformers(options: MicInformersOptions): MicInformers {
  const { kubeConfig } = options;
  const log = options.logger ?? silentLogger;
  const onInformerError = (what: string) => (error: unknown) => {
    log.warn({ err: error, informer: what }, 'watch failed, retrying');
  };
  const lenient = createLenientProjection((kind, raw, message) => {
    log.warn(
      { kind, namespace: raw.metadata?.namespace, name: raw.metadata?.name, reason: message },
      'ignoring invalid object',
    );
  });
  const pods = createInformer<PlannerPod, 'byNode'>({
    kubeConfig,
    ...podSource(kubeConfig),
    labelSelector: POD_LABEL_KEY,
    project: projectPlannerPod,
    indexes: { byNode: (pod) => [pod.nodeName] },
    onError: onInformerError('pods'),
  });
  const nodes = createInformer<MicNode>({
    kubeConfig,
    ...nodeSource(kubeConfig),
    project: projectNode,
    onError: onInformerError('nodes'),
  });
  const identities = createInformer<AzureIdentity>({
    kubeConfig,
    ...customResourceSource(kubeConfig, CrdKinds.AzureIdentity.plural),
    project: lenient.project('AzureIdentity', safeParseAzureIdentity),
    onError: onInformerError('azureidentities'),
  });
  const bindings = createInformer<AzureIdentityBinding>({
    kubeConfig,
    ...customResourceSource(kubeConfig, CrdKinds.AzureIdentityBinding.plural),
    project: lenient.project('AzureIdentityBinding', safeParseAzureIdentityBinding),
    onError: onInformerError('azureidentitybindings'),
  });
  const assigned = createInformer<AzureAssignedIdentity, 'byNode' | 'byPod'>({
    kubeConfig,
    ...customResourceSource(kubeConfig, CrdKinds.AzureAssignedIdentity.plural),
    project: lenient.project('AzureAssignedIdentity', safeParseAzureAssignedIdentity),
    // Records that failed the strict parser may lack these fields, or their spec.
    indexes: {
      byNode: (record) => {
        const { nodename } = looseRecordSpec(record);
        return nodename === undefined ? [] : [nodename];
      },
      byPod: (record) => {
        const { pod, podNamespace } = looseRecordSpec(record);
        return pod === undefined ? [] : [`${podNamespace ?? ''}/${pod}`];
      },
    },
    onError: onInformerError('azureassignedidentities'),
  });
  const all = [pods, nodes, identities, bindings, assigned] as const;
  const nodeProviderIds = new Map<string, string>();
  const rememberNode = (node: MicNode): void => {
    nodeProviderIds.set(node.name, node.providerId);
  };
  nodes.on('add', rememberNode);
  nodes.on('update', rememberNode);
  const stop = async (): Promise<void> => {
    await Promise.all(all.map((informer) => informer.stop()));
  };
  return {
    pods,
    nodes,
    identities,
    bindings,
    assigned,
    nodeProviderIds,
    parseProblem: (object) => lenient.parseProblem(object),
    async start(signal) {
      try {
        await Promise.all(all.map((informer) => informer.start(signal)));
      } catch (error) {
        await stop();
        throw error;
      }
    },
    stop,
  };
}
