import type { KubernetesObject } from '@kubernetes/client-node';

/** NMI's flag that lets it run on a kubenet node (it refuses to by default). */
export const KUBENET_FLAG = '--allow-network-plugin-kubenet';

interface ContainerLike {
  name?: string;
  args?: string[];
}

/**
 * What az's `--enable-pod-identity-with-kubenet` means for a manifest: NMI's containers get
 * `--allow-network-plugin-kubenet=true` (replacing any value they had). NMI's containers are those
 * of a DaemonSet that already pass the flag or are named `nmi`.
 *
 * @param objects - the manifest's objects (not changed)
 * @returns the objects to apply, and the DaemonSets whose NMI now allows kubenet
 */
export function allowKubenet(objects: readonly KubernetesObject[]): {
  objects: KubernetesObject[];
  changed: string[];
} {
  const changed: string[] = [];
  const result = objects.map((object) => {
    if (object.kind !== 'DaemonSet') return object;
    const copy = structuredClone(object) as KubernetesObject & {
      spec?: { template?: { spec?: { containers?: ContainerLike[] } } };
    };
    let touched = false;
    for (const container of copy.spec?.template?.spec?.containers ?? []) {
      const args = container.args ?? [];
      const isNmi = container.name === 'nmi' || args.some((arg) => arg.startsWith(KUBENET_FLAG));
      if (!isNmi) continue;
      container.args = [
        ...args.filter((arg) => !arg.startsWith(KUBENET_FLAG)),
        `${KUBENET_FLAG}=true`,
      ];
      touched = true;
    }
    if (touched) changed.push(`daemonset/${object.metadata?.name ?? '?'}`);
    return touched ? copy : object;
  });
  return { objects: result, changed };
}

/** What `enable --enable-pod-identity-with-kubenet` says when it has no manifest to change. */
export const KUBENET_WITHOUT_MANIFEST =
  "kubenet: NMI runs on kubenet nodes only with --allow-network-plugin-kubenet=true; with the Helm chart: --set nmi.allowNetworkPluginKubenet=true. Require pods to drop NET_RAW (ARP spoofing on kubenet lets a pod take another pod's IP and identity)\n";
