import type { Command } from 'commander';

// Examples per command path, shown after each command's options. The az-style lines are what
// administrators coming from `az aks pod-identity` paste; they run unchanged.
const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': [
    'pod-identity enable',
    'pod-identity add -n my-app --name my-pod-identity --identity-resource-id <id>',
    'pod-identity list -o wide',
    'pod-identity explain demo -n my-app',
    'pod-identity version',
  ],
  add: [
    'pod-identity add -n my-app --name my-pod-identity \\\n    --identity-resource-id /subscriptions/<sub>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<identity>',
    '# as az aks pod-identity add writes it (the cluster is the kubeconfig context of that name):',
    'pod-identity add --resource-group myResourceGroup --cluster-name myAKSCluster \\\n    --namespace my-app --name my-pod-identity --identity-resource-id <id> --binding-selector demo',
  ],
  delete: ['pod-identity delete -n my-app --name my-pod-identity'],
  list: ['pod-identity list', 'pod-identity list -n my-app -o wide', 'pod-identity list -o yaml'],
  exception: ['pod-identity exception add -n my-app --name allow-probe --pod-labels app=probe'],
  'exception add': [
    'pod-identity exception add -n my-app --name allow-probe --pod-labels app=probe,tier=infra',
    '# az form: labels separated by spaces',
    'pod-identity exception add -n my-app --name allow-probe --pod-labels app=probe tier=infra',
  ],
  'exception update': [
    'pod-identity exception update -n my-app --name allow-probe --pod-labels app=probe',
  ],
  'exception delete': ['pod-identity exception delete -n my-app --name allow-probe'],
  'exception list': [
    'pod-identity exception list -A',
    'pod-identity exception list -n kube-system -o wide',
  ],
  enable: [
    'pod-identity enable',
    'pod-identity enable --mode managed',
    'pod-identity enable --nmi-manifest deploy/manifests/standard.yaml',
    'pod-identity enable --nmi-manifest nmi.yaml --enable-pod-identity-with-kubenet',
  ],
  disable: ['pod-identity disable --dry-run', 'pod-identity disable --nmi-manifest nmi.yaml'],
  explain: ['pod-identity explain demo -n my-app', 'pod-identity explain demo -n my-app -o json'],
  version: ['pod-identity version', 'pod-identity version --client'],
  completion: [
    'source <(pod-identity completion bash)',
    'pod-identity completion zsh > "${fpath[1]}/_pod-identity"',
    'pod-identity completion fish | source',
  ],
  'migrate plan': ['pod-identity migrate plan -n my-app'],
  'migrate apply': [
    'pod-identity migrate apply -n my-app --dry-run',
    'pod-identity migrate apply -n my-app --remove-bindings',
  ],
  'migrate rollback': ['pod-identity migrate rollback -n my-app --dry-run'],
};

/**
 * Adds an `Examples:` section to the help of every command that has examples, walking the whole
 * command tree (so commands registered elsewhere, like `migrate`, get theirs too).
 */
export function addHelpExamples(program: Command): void {
  const visit = (command: Command, path: string): void => {
    const examples = EXAMPLES[path];
    if (examples !== undefined)
      command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
    for (const child of command.commands)
      visit(child, path === '' ? child.name() : `${path} ${child.name()}`);
  };
  visit(program, '');
}
