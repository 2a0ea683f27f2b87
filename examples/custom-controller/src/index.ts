/**
 * Two custom controllers with a policy of their own. The opt-in controller is built on
 * `@pod-identity/core`'s planner alone: only namespaces that opt in get pod identities. The node-pool
 * controller reuses MIC's parts (`@pod-identity/mic`: informer set, pass scheduler, lanes, record
 * writer) with its own planner: only pods on the named node pools get identities.
 *
 * @packageDocumentation
 */
export {
  createOptInController,
  OPT_IN_LABEL,
  type OptInController,
  type OptInControllerOptions,
  type ReconcileReport,
} from './opt-in-controller.ts';
export {
  createNodePoolController,
  type NodePoolController,
  type NodePoolControllerOptions,
} from './node-pool-controller.ts';
