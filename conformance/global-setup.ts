/**
 * vitest globalSetup of the conformance tier: starts one real etcd + kube-apiserver for the whole
 * run, applies the shipped CRDs (`deploy/crds/`) and ClusterRoles (`deploy/rbac/`, bound to the MIC
 * and NMI identities), and hands the cluster to the test files through env:
 * - `POD_IDENTITY_KUBECONFIG`: the admin kubeconfig (the Kubernetes contract tests target it);
 * - `POD_IDENTITY_MIC_KUBECONFIG`, `POD_IDENTITY_NMI_KUBECONFIG`: bound only to the shipped roles;
 * - `POD_IDENTITY_NODE_A_KUBECONFIG`, `POD_IDENTITY_NODE_B_KUBECONFIG`: two nodes' own credentials
 *   (`system:node:conformance-node-a|b`), for federated NMI's TokenRequests;
 * - `POD_IDENTITY_ETCD_URL`: etcd's client URL; compaction is `compactEtcd(url)` (two calls to the
 *   etcd v3 HTTP gateway), which makes every older resourceVersion 410 Gone;
 * - `POD_IDENTITY_CONFORMANCE_CLUSTER`: the state file `connectRealCluster()` reads.
 *
 * The API server runs with `--watch-cache=false` unless `POD_IDENTITY_WATCH_CACHE=true`: with the
 * watch cache, a watch from a compacted but recent resourceVersion is still served from the cache's
 * window (about 75 s of events) instead of answering 410, so compaction tests could not observe the
 * 410 that etcd gives. Both are kube-apiserver behaviour; docs/conformance.md says what differs.
 *
 * @module
 */
import {
  bindShippedRbac,
  publishServiceAccountIssuer,
  clusterStateEnv,
  manifestFiles,
  startRealCluster,
  writeClusterState,
} from './harness.ts';

/** Starts the cluster; the returned function stops it after the run. */
export default async function setup(): Promise<() => Promise<void>> {
  const cluster = await startRealCluster({
    watchCache: process.env.POD_IDENTITY_WATCH_CACHE === 'true',
  });
  try {
    const crds = await manifestFiles('deploy/crds');
    if (crds.length === 0)
      throw new Error('deploy/crds/ holds no CRD manifests (pnpm gen:crds writes them)');
    await cluster.applyManifests(crds);
    await bindShippedRbac(cluster);
    await publishServiceAccountIssuer(cluster);
    process.env[clusterStateEnv] = await writeClusterState(cluster);
    process.env.POD_IDENTITY_KUBECONFIG = cluster.kubeconfigs.admin;
    process.env.POD_IDENTITY_MIC_KUBECONFIG = cluster.kubeconfigs.mic;
    process.env.POD_IDENTITY_NMI_KUBECONFIG = cluster.kubeconfigs.nmi;
    process.env.POD_IDENTITY_NODE_A_KUBECONFIG = cluster.kubeconfigs.nodeA;
    process.env.POD_IDENTITY_NODE_B_KUBECONFIG = cluster.kubeconfigs.nodeB;
    process.env.POD_IDENTITY_ETCD_URL = cluster.etcdUrl;
    console.log(
      `conformance: kube-apiserver ${cluster.version} at ${cluster.server}, etcd at ${cluster.etcdUrl}`,
    );
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return () => cluster.stop();
}
