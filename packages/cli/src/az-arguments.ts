/**
 * `az aks pod-identity …` command lines name the cluster with `--resource-group/-g` and
 * `--cluster-name/-n`, where this CLI's `-n` is kubectl's `--namespace`. A pasted az line always
 * has both `-g` and `-n`, or `-n` beside `--namespace` (az's pod identity commands spell the namespace
 * only in full), so in those two shapes `-n` is read as az's cluster name; everywhere else it stays
 * the namespace.
 *
 * @param argv - the command line, without the node and script names
 * @returns the command line with az's `-n <cluster>` spelled `--cluster-name <cluster>`
 */
export function azArgumentsToOptions(argv: readonly string[]): string[] {
  const hasResourceGroup = argv.some((arg) => isFlag(arg, '-g') || isFlag(arg, '--resource-group'));
  const hasNamespace = argv.some((arg) => isFlag(arg, '--namespace'));
  const hasClusterName = argv.some((arg) => isFlag(arg, '--cluster-name'));
  if (hasClusterName || !(hasResourceGroup || hasNamespace)) return [...argv];
  const end = argv.indexOf('--');
  return argv.map((arg, index) =>
    (end === -1 || index < end) && arg === '-n'
      ? '--cluster-name'
      : (end === -1 || index < end) && arg.startsWith('-n=')
        ? `--cluster-name=${arg.slice(3)}`
        : arg,
  );
}

function isFlag(arg: string, flag: string): boolean {
  return arg === flag || arg.startsWith(`${flag}=`);
}
