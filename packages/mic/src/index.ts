/**
 * The Managed Identity Controller: `createMic(options)` composes core's planners, work queue and
 * adapters into the controller that assigns user-assigned identities to the scale sets and VMs of
 * pods that need them. The `pod-identity-mic` CLI runs it.
 *
 * @packageDocumentation
 */
export {
  createMic,
  type Mic,
  type MicOptions,
  type MicOutcome,
  type MicLeaderElectionOptions,
} from './create-mic.js';
export { createMicMetrics, type MicMetrics } from './mic-metrics.js';
export { silentLogger, type Logger, type LogFields } from '@pod-identity/core';
export {
  parseCloudConfig,
  cloudConfigFromEnv,
  loadCloudConfig,
  cloudEndpoints,
  CloudConfigError,
  type CloudConfig,
} from './cloud-config.js';
export { parseMicArgs, createMicCommand, type MicCliOptions } from './mic-cli-options.js';
export { parseGoDuration } from '@pod-identity/core';
export {
  startMicHttpServers,
  type MicHttpServers,
  type MicHttpServersOptions,
} from './mic-http-servers.js';
export { runMicCli, MIC_VERSION, type MicCliIo } from './run-mic-cli.js';
