/**
 * The Node Managed Identity server: answers pods' IMDS token requests for the identities they may use.
 *
 * @packageDocumentation
 */
export {
  createNmi,
  NMI_VERSION,
  type Nmi,
  type NmiOptions,
  type NmiFederatedOptions,
} from './create-nmi.js';
export {
  startNmiHttpServers,
  type NmiHttpServers,
  type NmiHttpServersOptions,
} from './nmi-http-servers.js';
export { silentLogger, type Logger, type LogFields } from '@pod-identity/core';
export {
  createMemoryClusterState,
  ChangeSignal,
  type NmiClusterState,
  type MemoryClusterState,
  type MemoryClusterContents,
  type MemoryClusterStateOptions,
} from './cluster-state.js';
export {
  createInformerClusterState,
  projectPod,
  type InformerClusterStateOptions,
} from './informer-cluster-state.js';
export {
  TokenBroker,
  RETRY_AFTER_SECONDS,
  DEFAULT_UPSTREAM_WAIT,
  type UpstreamWaitPolicy,
  type TokenBrokerOptions,
  type BrokerOutcome,
  type IdentityWaitPolicy,
  type CallerRecheck,
  type RefusalNature,
  type FederatedIdentityTokens,
  type BrokerPod,
} from './token-broker.js';
export type { RefusalStyle } from './refusal-response.js';
export {
  RefusalConfirmer,
  DEFAULT_REFUSAL_CONFIRMATION,
  isSameDecision,
  unconfirmedRefusal,
  type RefusalConfirmationOptions,
  type RefusalToConfirm,
  type RefusalVerdict,
} from './refusal-confirmer.js';
export {
  confirmedAnswer,
  CACHE_CATCH_UP_MS,
  type ConfirmedAnswerOptions,
} from './confirmed-answer.js';
export {
  createFreshViewReader,
  FRESH_VIEW_READS,
  type FreshAuthorizationView,
  type FreshViewReader,
} from './fresh-authorization-view.js';
export type { FederatedBroker, FederatedBrokerOptions } from './federated-broker.js';
export type { FederatedServiceAccounts } from './federated-service-accounts.js';
export { createNmiRequestHandler, type NmiRequestHandlerOptions } from './nmi-request-handler.js';
export { createNmiMetrics, type NmiMetrics } from './nmi-metrics.js';
export {
  buildIptablesRules,
  isChainCurrent,
  type IptablesRules,
  type IptablesRuleOptions,
} from './iptables/iptables-rules.js';
export {
  createIptablesManager,
  defaultIptablesRunner,
  type IptablesManager,
  type IptablesManagerOptions,
  type IptablesRunner,
} from './iptables/iptables-manager.js';
export {
  deleteConntrackEntries,
  buildConntrackDeleteArgs,
  createConntrackRunner,
  defaultConntrackRunner,
  type ConntrackDeletion,
  type ConntrackRunner,
  type ConntrackTarget,
  type DeleteConntrackEntriesOptions,
} from './iptables/delete-conntrack-entries.js';
export {
  parseNmiFlags,
  createNmiCommand,
  defaultNmiFlags,
  nmiFlagsHelp,
  isKubenet,
  KUBENET_REFUSAL,
  type NmiFlags,
  type NmiFlagsResult,
} from './nmi-flags.js';
export { runNmiCli, type NmiCliIo } from './run-nmi-cli.js';
