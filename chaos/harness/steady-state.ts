/**
 * Steps most scenarios share: bindings of every identity to its own selector, pods spread over
 * nodes, a relabelled pod.
 *
 * @module
 */
import type { SandboxNode } from '@pod-identity/testkit';
import type { ChaosCluster } from './chaos-cluster.ts';

/** Binds `id-<i>` to the selector `app-<i>` (binding `binding-<i>`). */
export function bindEachIdentity(cluster: ChaosCluster): string[] {
  return cluster.identityNames.map((name, i) => {
    const selector = `app-${String(i)}`;
    cluster.bind(`binding-${String(i)}`, name, selector);
    return selector;
  });
}

/** Creates `count` pods `<prefix>-<i>` with seeded random selectors among `selectors`, on random nodes. */
export function createRandomPods(
  cluster: ChaosCluster,
  prefix: string,
  count: number,
  selectors: readonly string[],
  nodes: readonly SandboxNode[] = cluster.sandbox.nodes,
): string[] {
  return Array.from({ length: count }, (_, i) =>
    cluster.createPod(
      `${prefix}-${String(i)}`,
      cluster.random.pick(nodes),
      cluster.random.pick(selectors),
    ),
  );
}

/** Sets a pod's `aadpodidbinding` label. */
export function relabelPod(cluster: ChaosCluster, podKey: string, selector: string): void {
  const [namespace = 'default', name = ''] = podKey.split('/');
  const store = cluster.sandbox.kubernetes.store;
  const pod = store.get({ apiVersion: 'v1', kind: 'Pod', namespace, name });
  if (pod === undefined) return;
  const metadata = (pod.metadata ?? {}) as { labels?: Record<string, string> };
  store.put({
    ...pod,
    metadata: { ...metadata, labels: { ...metadata.labels, aadpodidbinding: selector } },
  });
}

/** The ARM ids' paths: requests for a scale set carry its name in the path. */
export function pathOfScaleSet(cluster: ChaosCluster, index: number): string {
  return `/virtualMachineScaleSets/${cluster.firstNodes[index]?.scaleSetName ?? ''}`.toLowerCase();
}
