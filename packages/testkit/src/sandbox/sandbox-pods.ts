import type { JsonObject } from '../kubernetes/json.js';
import type { KubernetesEmulator } from '../kubernetes/kubernetes-emulator.js';
import type { Sandbox, SandboxNode, SandboxPodSpec } from './start-sandbox.js';

type PodPhase = NonNullable<SandboxPodSpec['phase']>;

/** What address allocation reads of a pod. */
interface PodView {
  readonly key: string;
  readonly nodeName: unknown;
  readonly podIp: unknown;
  readonly terminated: boolean;
}

const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Pods as the store has them now, so pods created or deleted through the API count too. */
function podViews(kubernetes: KubernetesEmulator): PodView[] {
  return kubernetes.store.list({ apiVersion: 'v1', kind: 'Pod' }).map((pod) => {
    const metadata = (pod.metadata ?? {}) as { name?: string; namespace?: string };
    const status = (pod.status ?? {}) as { podIP?: unknown; phase?: unknown };
    return {
      key: podKey(metadata.namespace ?? 'default', metadata.name ?? ''),
      nodeName: (pod.spec as { nodeName?: unknown } | undefined)?.nodeName,
      podIp: status.podIP,
      // Kubernetes frees the address of a finished pod while its object remains: it may be reused.
      terminated: status.phase === 'Succeeded' || status.phase === 'Failed',
    };
  });
}

function readyCondition(phase: PodPhase, now: string): JsonObject {
  return { type: 'Ready', status: phase === 'Running' ? 'True' : 'False', lastTransitionTime: now };
}

/**
 * The address a new (or replaced) pod gets on its node: the one asked for, which no other live pod
 * may hold; else the address the pod already has; else a fresh one of the node's range, then one
 * only finished pods still show.
 */
function podAddress(
  pods: readonly PodView[],
  node: SandboxNode,
  key: string,
  asked?: string,
): string {
  const own = pods.find((pod) => pod.key === key && pod.nodeName === node.name);
  const podIp = asked ?? (typeof own?.podIp === 'string' ? own.podIp : undefined);
  if (podIp !== undefined) {
    const holder = pods.find((pod) => pod.podIp === podIp && pod.key !== key && !pod.terminated);
    if (holder) throw new RangeError(`pod address ${podIp} is in use by pod ${holder.key}`);
    return podIp;
  }
  const held = new Map<unknown, boolean>(); // ip → held by a live pod
  for (const pod of pods) held.set(pod.podIp, (held.get(pod.podIp) ?? false) || !pod.terminated);
  const prefix = node.podCidr.slice(0, node.podCidr.lastIndexOf('.') + 1);
  const candidates = Array.from({ length: 253 }, (_, index) => `${prefix}${index + 2}`);
  // Fresh addresses first; then those only finished pods still show.
  const free =
    candidates.find((ip) => !held.has(ip)) ?? candidates.find((ip) => held.get(ip) === false);
  if (free === undefined) throw new RangeError(`node ${node.name} has no free pod address`);
  return free;
}

/** The sandbox's pod operations: create on a node with an address, set the phase, delete as a cluster does. */
export function createSandboxPods(
  kubernetes: KubernetesEmulator,
  nodeOf: (name: string) => SandboxNode,
): Pick<Sandbox, 'createPod' | 'setPodPhase' | 'deletePod'> {
  return {
    createPod(spec) {
      const node = nodeOf(spec.nodeName);
      const namespace = spec.namespace ?? 'default';
      const podIp = podAddress(
        podViews(kubernetes),
        node,
        podKey(namespace, spec.name),
        spec.podIp,
      );
      const phase = spec.phase ?? 'Running';
      const now = new Date().toISOString();
      return kubernetes.store.put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: spec.name,
          namespace,
          labels: { ...spec.labels },
          annotations: { ...spec.annotations },
          ownerReferences: [...(spec.ownerReferences ?? [])],
        },
        spec: {
          nodeName: node.name,
          serviceAccountName: spec.serviceAccountName ?? 'default',
          containers: [
            { name: 'app', image: 'mcr.microsoft.com/oss/azure/aad-pod-identity/demo:v1.8.17' },
          ],
          restartPolicy: 'Always',
        },
        status: {
          phase,
          hostIP: node.internalIp,
          podIP: podIp,
          podIPs: [{ ip: podIp }],
          startTime: now,
          conditions: [readyCondition(phase, now)],
        },
      });
    },
    setPodPhase(name, phase, namespace = 'default') {
      const pod = kubernetes.store.get({ apiVersion: 'v1', kind: 'Pod', namespace, name });
      if (!pod) throw new RangeError(`no pod ${podKey(namespace, name)}`);
      const status = (pod.status ?? {}) as JsonObject;
      return kubernetes.store.put({
        ...pod,
        status: { ...status, phase, conditions: [readyCondition(phase, new Date().toISOString())] },
      });
    },
    deletePod(name, namespace = 'default') {
      const ref = { apiVersion: 'v1', kind: 'Pod', namespace, name };
      if (!kubernetes.store.delete(ref)) return false;
      // The kubelet's part: the containers are "stopped", so it finishes the deletion.
      kubernetes.store.delete(ref, { gracePeriodSeconds: 0 });
      return true;
    },
  };
}
