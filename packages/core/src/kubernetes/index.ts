/**
 * Kubernetes adapters on `@kubernetes/client-node`: typed CRD clients, informers with projection and
 * indexes, Lease leader election, an event recorder.
 *
 * @packageDocumentation
 */
// --- informers (MIC engineer; API kept stable for NMI) ---
export {
  createInformer,
  objectKey,
  type Informer,
  type InformerOptions,
  type InformerSource,
  type InformerEventHandler,
  type InformerEventType,
  type IndexFunction,
  type KubernetesWireObject,
  type ListFunction,
  type ListQuery,
  type ListResult,
} from './informer.js';
export { podSource, nodeSource, customResourceSource } from './sources.js';
