/**
 * A bespoke NMI built from `@pod-identity/core`'s broker primitives, with its own authorization rule
 * (an audience allow-list per namespace) and token source (the node's IMDS behind core's cache).
 *
 * @packageDocumentation
 */
export {
  startAudienceGuardBroker,
  type AudienceGuardBroker,
  type AudienceGuardBrokerOptions,
  type AudienceGuardState,
} from './audience-guard-broker.ts';
