import { KubeConfig } from '@kubernetes/client-node';
import { CliError, ExitCode } from './cli-error.js';

/** The cluster as `az aks` names it: `--resource-group/-g` and `--cluster-name/-n`. */
export interface AzClusterName {
  resourceGroup?: string;
  clusterName?: string;
}

/**
 * Picks the kubeconfig context for a command line that names the cluster as az does. This CLI
 * works on a kubeconfig context; `az aks get-credentials -g <group> -n <cluster>` adds one named
 * `<cluster>` (`<cluster>-admin` with `--admin`), so that is the context used. A cluster name with no
 * such context is refused rather than run against whatever the current context is.
 *
 * @param kubeConfig - the loaded kubeconfig (not changed)
 * @param az - the az names from the command line
 * @param explicitContext - `--context`, which wins when given
 * @returns the kubeconfig to use and the one line telling the administrator which context it is
 */
export function selectClusterContext(
  kubeConfig: KubeConfig,
  az: AzClusterName,
  explicitContext: string | undefined,
): { kubeConfig: KubeConfig; note: string } {
  const named = [
    az.resourceGroup === undefined ? undefined : `--resource-group ${az.resourceGroup}`,
    az.clusterName === undefined ? undefined : `--cluster-name ${az.clusterName}`,
  ]
    .filter((part) => part !== undefined)
    .join(' ');
  const lead = `note: ${named} are az's names; pod-identity works on a kubeconfig context, as after az aks get-credentials`;
  const current = kubeConfig.getCurrentContext();
  if (explicitContext !== undefined || az.clusterName === undefined) {
    return { kubeConfig, note: `${lead}: using context ${current}\n` };
  }
  const contexts = kubeConfig.getContexts().map((context) => context.name);
  const match = [az.clusterName, `${az.clusterName}-admin`].find(
    (name) => name === current || contexts.includes(name),
  );
  if (match === undefined) {
    throw new CliError(
      `--cluster-name ${az.clusterName}: no kubeconfig context of that name; pod-identity works on a kubeconfig context`,
      {
        exitCode: ExitCode.Usage,
        hint: `run az aks get-credentials --resource-group ${az.resourceGroup ?? '<group>'} --name ${az.clusterName}, or pass --context <name> (contexts: ${contexts.join(', ') || '(none)'})`,
      },
    );
  }
  if (match === current) return { kubeConfig, note: `${lead}: using context ${match}\n` };
  const selected = new KubeConfig();
  selected.loadFromOptions({
    clusters: kubeConfig.getClusters(),
    users: kubeConfig.getUsers(),
    contexts: kubeConfig.getContexts(),
    currentContext: match,
  });
  return { kubeConfig: selected, note: `${lead}: using context ${match}\n` };
}
