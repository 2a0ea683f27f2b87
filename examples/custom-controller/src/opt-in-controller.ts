import type { ComputeManagementClientOptionalParams } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  AssignedIdentityState,
  CrdKinds,
  POD_LABEL_KEY,
  nodeTarget,
  parseTargetKey,
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  planAssignments,
  serializePodIdentityObject,
  toAssignedIdentity,
  type AzureAssignedIdentity,
  type IdentityTarget,
  type PlannerPod,
} from '@pod-identity/core';
import { createIdentityAssigner, type IdentityAssigner } from '@pod-identity/core/arm';

/** The namespace label that opts a namespace in, unless another is configured. */
export const OPT_IN_LABEL = 'pod-identity.example.com/enabled';

/** Options of {@link createOptInController}. */
export interface OptInControllerOptions {
  /** The cluster. */
  kubeConfig: KubeConfig;
  /** Credential for ARM. */
  credential: TokenCredential;
  /** ARM endpoint. Default `https://management.azure.com`. */
  armEndpoint?: string;
  /** Options of the ARM clients (e.g. `tlsOptions` for a private CA). */
  armClientOptions?: ComputeManagementClientOptionalParams;
  /** Namespace label whose value `true` opts a namespace in. Default {@link OPT_IN_LABEL}. */
  optInLabel?: string;
}

/** What one reconcile did. */
export interface ReconcileReport {
  /** Records created (`namespace/name`). */
  created: string[];
  /** Records deleted. */
  deleted: string[];
  /** Pods left out because their namespace has not opted in (`namespace/name`). */
  excluded: string[];
  /** Identities added and removed per scale set or VM (by target key). */
  changes: { target: string; added: string[]; removed: string[] }[];
}

/** A controller you run yourself: call {@link OptInController.reconcileOnce} on a timer or on events. */
export interface OptInController {
  /** Reads the cluster, plans with core's planner, writes records and assigns identities. */
  reconcileOnce(abortSignal?: AbortSignal): Promise<ReconcileReport>;
}

/**
 * A Managed Identity Controller with its own policy, built from core's primitives: only pods in
 * namespaces labelled `<optInLabel>: "true"` get identities. Everything else is core's: the planner
 * (`planAssignments`) decides which assigned-identity records should exist, `toAssignedIdentity`
 * writes them in the original's wire format (so NMI serves them), `nodeTarget` finds each node's
 * scale set, and the ARM `IdentityAssigner` applies one delta per target. Like MIC, it removes only
 * identities it added itself (remembered in memory here; MIC keeps a ledger).
 *
 * It is level-based: every call reads the whole state, so a missed call is repaired by the next.
 */
export function createOptInController(options: OptInControllerOptions): OptInController {
  const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const assigner: IdentityAssigner = createIdentityAssigner({
    credential: options.credential,
    ...(options.armEndpoint === undefined ? {} : { endpoint: options.armEndpoint }),
    ...(options.armClientOptions === undefined ? {} : { clientOptions: options.armClientOptions }),
    pollIntervalMs: 50,
  });
  const optInLabel = options.optInLabel ?? OPT_IN_LABEL;
  // Identities this controller put on each target: the only ones it may take off again.
  const added = new Map<
    string,
    Map<string, { resourceId: string; key: string; clientId: string }>
  >();

  const list = async (plural: string): Promise<unknown[]> =>
    (
      (await custom.listClusterCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural,
      })) as { items?: unknown[] }
    ).items ?? [];

  return {
    async reconcileOnce(abortSignal) {
      const report: ReconcileReport = { created: [], deleted: [], excluded: [], changes: [] };
      const [namespaces, pods, nodes, identities, bindings, records] = await Promise.all([
        core.listNamespace(),
        core.listPodForAllNamespaces({ labelSelector: POD_LABEL_KEY }),
        core.listNode(),
        list(CrdKinds.AzureIdentity.plural),
        list(CrdKinds.AzureIdentityBinding.plural),
        list(CrdKinds.AzureAssignedIdentity.plural),
      ]);
      const optedIn = new Set(
        namespaces.items
          .filter((ns) => ns.metadata?.labels?.[optInLabel] === 'true')
          .map((ns) => ns.metadata?.name ?? ''),
      );

      // The policy: pods of namespaces that did not opt in are simply not shown to the planner.
      const plannerPods: PlannerPod[] = [];
      for (const pod of pods.items) {
        const namespace = pod.metadata?.namespace ?? '';
        const name = pod.metadata?.name ?? '';
        if (!optedIn.has(namespace)) {
          report.excluded.push(`${namespace}/${name}`);
          continue;
        }
        plannerPods.push({
          namespace,
          name,
          nodeName: pod.spec?.nodeName ?? '',
          selector: pod.metadata?.labels?.[POD_LABEL_KEY] ?? '',
          phase: pod.status?.phase ?? '',
        });
      }
      const plan = planAssignments({
        pods: plannerPods,
        identities: identities.map((item) => parseAzureIdentity(item)),
        bindings: bindings.map((item) => parseAzureIdentityBinding(item)),
        assignedIdentities: records.map((item) => parseAzureAssignedIdentity(item)),
      });

      for (const record of plan.deletes) {
        await deleteRecord(custom, record);
        report.deleted.push(`${record.metadata.namespace ?? ''}/${record.metadata.name}`);
      }
      const writes = new Map<string, AzureAssignedIdentity>();
      for (const desired of plan.creates) {
        const record = toAssignedIdentity(desired);
        const created: unknown = await custom.createNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace: record.metadata.namespace ?? 'default',
          plural: CrdKinds.AzureAssignedIdentity.plural,
          body: serializePodIdentityObject(record),
        });
        writes.set(desired.key, parseAzureAssignedIdentity(created));
        report.created.push(desired.key);
      }

      // One delta per target: ensure what desired records need, remove what we added and no longer need.
      const providerIds = new Map(
        nodes.items.map((node) => [node.metadata?.name ?? '', node.spec?.providerID]),
      );
      const needed = new Map<
        string,
        {
          target: IdentityTarget;
          refs: Map<string, { resourceId: string; key: string; clientId: string }>;
        }
      >();
      for (const desired of plan.desired) {
        const result = nodeTarget(desired.nodeName, providerIds.get(desired.nodeName));
        if (!result.ok) continue;
        const entry = needed.get(result.target.key) ?? { target: result.target, refs: new Map() };
        const resourceId = desired.identity.spec.resourceID ?? '';
        entry.refs.set(resourceId.toLowerCase(), {
          resourceId,
          key: resourceId.toLowerCase(),
          clientId: desired.identity.spec.clientID ?? '',
        });
        needed.set(result.target.key, entry);
      }
      const targets = new Map([...needed].map(([key, entry]) => [key, entry.target]));
      for (const key of added.keys()) {
        const target = parseTargetKey(key);
        if (!targets.has(key) && target !== undefined) targets.set(key, target);
      }
      for (const [key, target] of targets) {
        const ensure = [...(needed.get(key)?.refs.values() ?? [])];
        const mine =
          added.get(key) ??
          new Map<string, { resourceId: string; key: string; clientId: string }>();
        const remove = [...mine.values()].filter((ref) => !ensure.some((e) => e.key === ref.key));
        if (ensure.length === 0 && remove.length === 0) continue;
        const result = await assigner.apply(
          target,
          { ensure, remove },
          abortSignal === undefined ? {} : { abortSignal },
        );
        for (const ref of result.added) mine.set(ref.key, ref);
        for (const ref of result.removed) mine.delete(ref.key);
        added.set(key, mine);
        if (result.added.length > 0 || result.removed.length > 0) {
          report.changes.push({
            target: key,
            added: result.added.map((r) => r.resourceId),
            removed: result.removed.map((r) => r.resourceId),
          });
        }
      }

      // Records whose identity is now on their node's target become Assigned (what NMI waits for).
      for (const desired of plan.desired) {
        const record = writes.get(desired.key) ?? desired.current;
        if (record === undefined || record.status?.status === AssignedIdentityState.Assigned)
          continue;
        await custom.replaceNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace: record.metadata.namespace ?? 'default',
          plural: CrdKinds.AzureAssignedIdentity.plural,
          name: record.metadata.name,
          body: serializePodIdentityObject({
            ...record,
            status: { status: AssignedIdentityState.Assigned, availableReplicas: 1 },
          }),
        });
      }
      return report;
    },
  };
}

/** Deletes a record, clearing its finalizer first (this controller is the finalizer's owner). */
async function deleteRecord(
  custom: CustomObjectsApi,
  record: AzureAssignedIdentity,
): Promise<void> {
  const where = {
    group: API_GROUP,
    version: API_VERSION,
    namespace: record.metadata.namespace ?? 'default',
    plural: CrdKinds.AzureAssignedIdentity.plural,
    name: record.metadata.name,
  };
  if ((record.metadata.finalizers ?? []).length > 0) {
    await custom.replaceNamespacedCustomObject({
      ...where,
      body: serializePodIdentityObject({
        ...record,
        metadata: { ...record.metadata, finalizers: [] },
      }),
    });
  }
  await custom.deleteNamespacedCustomObject(where);
}
