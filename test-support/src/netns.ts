// Two network namespaces for the iptables tests: "node" (10.250.0.1 on veth vn) and "pod"
// (10.250.0.2 on veth vp), joined by a veth pair and nothing else, so nothing sent in them can leave
// the machine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The node side's address on the veth pair. */
export const NODE_ADDRESS = '10.250.0.1';
/** The pod side's address on the veth pair. */
export const POD_ADDRESS = '10.250.0.2';

/**
 * Runs `tool args` inside a namespace; resolves with the exit code (never rejects on one), as the
 * iptables and conntrack runners want.
 */
export async function runInNamespace(
  namespace: string,
  tool: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('ip', ['netns', 'exec', namespace, tool, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/**
 * Creates the two namespaces with their links up, a route from the pod to `podRoute` through the
 * node (as a cluster node routes its pods' IMDS traffic), and `route_localnet` on the node, which
 * DNAT to 127.0.0.1 from PREROUTING needs (kube-proxy sets it on real nodes).
 * @param nodeNs - name of the node namespace
 * @param podNs - name of the pod namespace
 * @param podRoute - destination (CIDR) the pod reaches through the node
 */
export async function createNodeAndPod(
  nodeNs: string,
  podNs: string,
  podRoute: string,
): Promise<void> {
  await run('ip', ['netns', 'add', nodeNs]);
  await run('ip', ['netns', 'add', podNs]);
  await run('ip', [
    '-n',
    nodeNs,
    'link',
    'add',
    'vn',
    'type',
    'veth',
    'peer',
    'name',
    'vp',
    'netns',
    podNs,
  ]);
  await run('ip', ['-n', nodeNs, 'addr', 'add', `${NODE_ADDRESS}/30`, 'dev', 'vn']);
  await run('ip', ['-n', podNs, 'addr', 'add', `${POD_ADDRESS}/30`, 'dev', 'vp']);
  for (const [ns, dev] of [
    [nodeNs, 'vn'],
    [podNs, 'vp'],
    [nodeNs, 'lo'],
    [podNs, 'lo'],
  ] as const) {
    await run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  await run('ip', ['-n', podNs, 'route', 'add', podRoute, 'via', NODE_ADDRESS]);
  for (const dev of ['all', 'vn']) {
    const sysctl = await runInNamespace(nodeNs, 'sysctl', [
      '-q',
      '-w',
      `net.ipv4.conf.${dev}.route_localnet=1`,
    ]);
    if (sysctl.code !== 0) throw new Error(`sysctl in ${nodeNs} failed: ${sysctl.stderr}`);
  }
}

/** Deletes namespaces, ignoring ones that are gone. */
export async function deleteNamespaces(...namespaces: string[]): Promise<void> {
  for (const namespace of namespaces)
    await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
}
