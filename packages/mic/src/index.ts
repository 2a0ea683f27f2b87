/**
 * The Managed Identity Controller: `createMic(options)` composes core's planners, work queue and
 * adapters into the controller that assigns user-assigned identities to the scale sets and VMs of
 * pods that need them. The `pod-identity-mic` CLI runs it.
 *
 * `createMic` only wires parts that a custom controller can take one by one: the cluster view
 * (`createMicInformers`), when to plan (`createPassScheduler`, fed by `watchForPasses`), the planners' driver
 * (`createPlanDriver`), the lanes (`createLaneExecutor`, `createLaneRunner`), the record writer
 * (`createRecordWriter`), skip reporting (`createSkipReporter`), periodic passes
 * (`startResyncTimers`), taking over the Go MIC's assignments (`adoptGoMicAssignments`) and
 * leader election (`runLeaderElected`).
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
export {
  createMicInformers,
  projectPlannerPod,
  type MicInformers,
  type MicInformersOptions,
  type MicNode,
} from './mic-informers.js';
export {
  createPassScheduler,
  podMatters,
  MAX_SCOPED_PODS,
  type PassScheduler,
  type PassSchedulerOptions,
  type PassRequest,
} from './pass-scheduler.js';
export {
  createPlanDriver,
  type PlanDriver,
  type PlanDriverOptions,
  type LaneSink,
} from './plan-driver.js';
export {
  createLaneExecutor,
  type LaneExecutor,
  type LaneExecutorOptions,
} from './lane-executor.js';
export {
  createLaneRunner,
  IdentitiesRefusedError,
  type LaneRunner,
  type LaneRunnerOptions,
  type LaneWork,
  type TargetLaneWork,
  type DirectLaneWork,
  type UnplacedLaneWork,
  type TerminatingLaneWork,
} from './lane-runner.js';
export {
  createRecordWriter,
  type RecordWriter,
  type RecordWriterOptions,
  type ReleaseOptions,
} from './record-writer.js';
export type { RecordRewrite, RecordRewrites } from './record-rewrites.js';
export {
  createSkipReporter,
  type SkipReporter,
  type SkipReporterOptions,
} from './skip-reporter.js';
export { watchForPasses } from './watch-for-passes.js';
export { startResyncTimers, type Resync } from './resync-timers.js';
export { adoptGoMicAssignments, type GoMicAdoptionOptions } from './go-mic-adoption.js';
export { runLeaderElected, type LeaderElectedOptions } from './leader-lifecycle.js';
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
