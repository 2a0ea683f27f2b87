/**
 * The `pod-identity` administrator CLI as a library: {@link runCli} runs any command in-process
 * and resolves to its exit code; the command functions and the cluster and ARM helpers are exported
 * for programs that embed the workflow.
 *
 * @packageDocumentation
 */

export { runCli, type RunCliOptions } from './run-cli.js';
export { CliError, ExitCode } from './cli-error.js';
export {
  formatTable,
  formatData,
  parseOutputFormat,
  OutputFormats,
  type OutputFormat,
} from './output-format.js';
export {
  ClusterClient,
  loadKubeConfig,
  SETTINGS_NAMESPACE,
  SETTINGS_CONFIG_MAP,
  CREATED_BY_ANNOTATION,
  CREATED_BY_ENABLE,
  type ClusterSettings,
  type ListedObjects,
  type UnreadableObject,
  type PodIdentityObjectsByKind,
  type KubeConfigSelection,
} from './cluster-client.js';
export {
  readUserAssignedIdentity,
  scaleSetIdentities,
  setScaleSetIdentity,
  armEndpoint,
  type AzureAccess,
  type ScaleSetRef,
  type UserAssignedIdentityInfo,
} from './azure-access.js';
export {
  type CommandContext,
  type CliWriter,
  type GlobalOptions,
  parsePodLabels,
} from './command-context.js';
export {
  addPodIdentity,
  deletePodIdentity,
  listPodIdentities,
  bindingNameFor,
  MAX_POD_IDENTITIES,
  type AddPodIdentityOptions,
  type DeletePodIdentityOptions,
  type ListPodIdentitiesOptions,
} from './commands/pod-identity-commands.js';
export {
  addException,
  updateException,
  deleteException,
  listExceptions,
  MAX_POD_IDENTITY_EXCEPTIONS,
  type ExceptionOptions,
} from './commands/exception-commands.js';
export {
  enablePodIdentity,
  disablePodIdentity,
  type EnableOptions,
  type DisableOptions,
} from './commands/cluster-commands.js';
export { AKS_ADDON_EXCEPTION } from './commands/aks-addon-exception.js';
export {
  explainPod,
  renderExplanation,
  type ExplainOptions,
  type PodExplanation,
} from './commands/explain-pod.js';
export { nodeScaleSets } from './commands/node-scale-sets.js';
export { type UnreadableObjectData } from './unreadable-objects.js';
export {
  upgradeTypes,
  type UpgradeTypesOptions,
  type TypeUpgradeResult,
} from './commands/upgrade-types.js';
