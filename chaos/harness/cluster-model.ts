/**
 * What the cluster should look like, computed from the emulators' own state (not through the
 * daemons): which pod should have which identity, where identities are, what the ledgers say.
 *
 * @module
 */
import type { JsonObject, Sandbox } from '@pod-identity/testkit';

/** The API group of the pod-identity CRDs. */
export const CRD_API_VERSION = 'aadpodidentity.k8s.io/v1';
const POD_UID_ANNOTATION = 'aadpodidentity.k8s.io/pod-uid';
const LEDGER_LABEL = 'aadpodidentity.k8s.io/mic-ownership-ledger';
const LEDGER_TARGET_ANNOTATION = 'aadpodidentity.k8s.io/target';

/** A (pod, identity) pair that should be assigned. */
export interface DesiredPair {
  readonly podKey: string;
  readonly podUid: string;
  readonly nodeName: string;
  /** `namespace/name` of the AzureIdentity. */
  readonly identityKey: string;
  /** Lower-cased ARM resource id. */
  readonly resourceId: string;
  readonly clientId: string;
}

/** An AzureAssignedIdentity as the monitor reads it. */
export interface RecordView {
  readonly key: string;
  readonly podKey: string;
  readonly podUid: string | undefined;
  readonly nodeName: string;
  readonly identityKey: string;
  readonly resourceId: string;
  readonly clientId: string;
  readonly state: string;
  readonly terminating: boolean;
}

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

const metaOf = (obj: JsonObject): Meta => obj.metadata ?? {};
const keyOf = (obj: JsonObject): string =>
  `${metaOf(obj).namespace ?? ''}/${metaOf(obj).name ?? ''}`;

/** A pod as far as binding goes. */
export interface PodView {
  readonly key: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly ip: string;
  readonly selector: string | undefined;
  readonly live: boolean;
}

/** Pods by `namespace/name`. */
export function podViews(sandbox: Sandbox): Map<string, PodView> {
  const pods = new Map<string, PodView>();
  for (const pod of sandbox.kubernetes.store.list({ apiVersion: 'v1', kind: 'Pod' })) {
    const meta = metaOf(pod);
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    const status = (pod.status ?? {}) as { phase?: string; podIP?: string };
    const phase = status.phase ?? '';
    pods.set(keyOf(pod), {
      key: keyOf(pod),
      uid: meta.uid ?? '',
      nodeName: spec.nodeName ?? '',
      ip: status.podIP ?? '',
      selector: meta.labels?.aadpodidbinding,
      live:
        meta.deletionTimestamp === undefined &&
        (phase === 'Running' || phase === 'Pending') &&
        (spec.nodeName ?? '') !== '',
    });
  }
  return pods;
}

interface IdentityView {
  readonly key: string;
  readonly resourceId: string;
  readonly clientId: string;
}

/** AzureIdentities by `namespace/name`. */
export function identityViews(sandbox: Sandbox): Map<string, IdentityView> {
  const identities = new Map<string, IdentityView>();
  for (const identity of sandbox.kubernetes.store.list({
    apiVersion: CRD_API_VERSION,
    kind: 'AzureIdentity',
  })) {
    const spec = (identity.spec ?? {}) as { resourceID?: string; clientID?: string };
    identities.set(keyOf(identity), {
      key: keyOf(identity),
      resourceId: (spec.resourceID ?? '').toLowerCase(),
      clientId: (spec.clientID ?? '').toLowerCase(),
    });
  }
  return identities;
}

/** For each binding selector, the identities it binds (non-namespaced mode). */
export function identitiesBySelector(sandbox: Sandbox): Map<string, IdentityView[]> {
  const identities = identityViews(sandbox);
  const bySelector = new Map<string, IdentityView[]>();
  for (const binding of sandbox.kubernetes.store.list({
    apiVersion: CRD_API_VERSION,
    kind: 'AzureIdentityBinding',
  })) {
    const spec = (binding.spec ?? {}) as { azureIdentity?: string; selector?: string };
    const identity = identities.get(
      `${metaOf(binding).namespace ?? ''}/${spec.azureIdentity ?? ''}`,
    );
    if (identity === undefined || identity.resourceId === '' || (spec.selector ?? '') === '')
      continue;
    const list = bySelector.get(spec.selector ?? '') ?? [];
    if (!list.some((i) => i.key === identity.key)) list.push(identity);
    bySelector.set(spec.selector ?? '', list);
  }
  return bySelector;
}

/** Every (pod, identity) pair the cluster's objects ask for now. */
export function desiredPairs(sandbox: Sandbox): DesiredPair[] {
  const bySelector = identitiesBySelector(sandbox);
  const pairs: DesiredPair[] = [];
  for (const pod of podViews(sandbox).values()) {
    if (!pod.live || pod.selector === undefined) continue;
    for (const identity of bySelector.get(pod.selector) ?? []) {
      pairs.push({
        podKey: pod.key,
        podUid: pod.uid,
        nodeName: pod.nodeName,
        identityKey: identity.key,
        resourceId: identity.resourceId,
        clientId: identity.clientId,
      });
    }
  }
  return pairs;
}

/** Every AzureAssignedIdentity. */
export function recordViews(sandbox: Sandbox): RecordView[] {
  return sandbox.kubernetes.store
    .list({ apiVersion: CRD_API_VERSION, kind: 'AzureAssignedIdentity' })
    .map((record) => {
      const meta = metaOf(record);
      const spec = (record.spec ?? {}) as {
        pod?: string;
        podNamespace?: string;
        nodename?: string;
        azureIdentityRef?: {
          metadata?: { name?: string; namespace?: string };
          spec?: { resourceID?: string; clientID?: string };
        };
      };
      const status = (record.status ?? {}) as { status?: string };
      const ref = spec.azureIdentityRef;
      return {
        key: keyOf(record),
        podKey: `${spec.podNamespace ?? ''}/${spec.pod ?? ''}`,
        podUid: meta.annotations?.[POD_UID_ANNOTATION],
        nodeName: spec.nodename ?? '',
        identityKey: `${ref?.metadata?.namespace ?? ''}/${ref?.metadata?.name ?? ''}`,
        resourceId: (ref?.spec?.resourceID ?? '').toLowerCase(),
        clientId: (ref?.spec?.clientID ?? '').toLowerCase(),
        state: status.status ?? '',
        terminating: meta.deletionTimestamp !== undefined,
      };
    });
}

/** The user-assigned identities on each scale set or VM, by lower-cased target id. */
export function identitiesOnTargets(sandbox: Sandbox): Map<string, string[]> {
  const targets = new Map<string, string[]>();
  for (const node of sandbox.nodes) {
    const target = node.identityTargetId.toLowerCase();
    if (targets.has(target)) continue;
    const assignment = sandbox.arm.getIdentityAssignment(node.identityTargetId);
    targets.set(
      target,
      (assignment?.userAssigned ?? []).map((u) => u.resourceId.toLowerCase()),
    );
  }
  return targets;
}

/** The lower-cased target id a node's identities go to. */
export function targetOfNode(sandbox: Sandbox, nodeName: string): string | undefined {
  return sandbox.nodes.find((node) => node.name === nodeName)?.identityTargetId.toLowerCase();
}

/** What MIC's ownership ledger ConfigMaps say it added, by target. */
export function ledgers(sandbox: Sandbox, namespace: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const configMap of sandbox.kubernetes.store.list({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace,
  })) {
    const meta = metaOf(configMap);
    if (meta.labels?.[LEDGER_LABEL] !== 'true') continue;
    const target = meta.annotations?.[LEDGER_TARGET_ANNOTATION] ?? '';
    const data = (configMap.data ?? {}) as Record<string, string>;
    const owned = JSON.parse(data['identities.json'] ?? '[]') as { resourceId: string }[];
    result.set(
      target.toLowerCase(),
      owned.map((o) => o.resourceId.toLowerCase()),
    );
  }
  return result;
}
