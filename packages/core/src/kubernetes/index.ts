/**
 * Kubernetes adapters on `@kubernetes/client-node`: typed CRD clients, informers with projection and
 * indexes, Lease leader election, an event recorder.
 *
 * @packageDocumentation
 */
export {};
