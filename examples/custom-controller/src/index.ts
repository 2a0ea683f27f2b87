/**
 * A custom controller built on `@pod-identity/core`'s planner with its own policy: only namespaces
 * that opt in get pod identities.
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
