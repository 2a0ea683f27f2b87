import type { Command, Option } from 'commander';

/** The shells `pod-identity completion` writes a script for. */
export const CompletionShells = ['bash', 'zsh', 'fish'] as const;

/** One of {@link CompletionShells}. */
export type CompletionShell = (typeof CompletionShells)[number];

interface CompletionOption {
  flags: string[];
  takesValue: boolean;
  choices: readonly string[];
  files: boolean;
  description: string;
}

interface CompletionNode {
  /** `root`, or the command path joined with `_` (`exception_add`). */
  id: string;
  description: string;
  children: { name: string; id: string; description: string }[];
  /** The choices of its arguments (`completion <shell>`). */
  values: readonly string[];
  options: CompletionOption[];
}

// Options whose value is a file path: the shell completes file names for them.
const FILE_OPTIONS = new Set(['--kubeconfig', '--nmi-manifest']);

/**
 * The shell completion script for a program: its commands at each level, their options, and the
 * choices of options that have them (`-o`, `--mode`), from the program's own definition so it never
 * lags behind the commands.
 *
 * @param program - the root command
 * @param shell - `bash`, `zsh` or `fish`
 */
export function completionScript(program: Command, shell: CompletionShell): string {
  const nodes = collect(program, 'root', []);
  const name = program.name();
  const fn = `_${name.replace(/[^a-zA-Z0-9]/g, '_')}`;
  if (shell === 'fish') return fishScript(name, fn, nodes);
  const bash = bashScript(name, fn, nodes);
  return shell === 'bash'
    ? bash
    : `#compdef ${name}\n# zsh runs the bash completion through bashcompinit.\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}

function collect(command: Command, id: string, inherited: CompletionOption[]): CompletionNode[] {
  const own = command.options
    .filter((option) => !(option as Option & { hidden?: boolean }).hidden)
    .map(optionOf);
  const help: CompletionOption = {
    flags: ['-h', '--help'],
    takesValue: false,
    choices: [],
    files: false,
    description: 'display help',
  };
  const options = [...own, ...inherited, help];
  const children = command.commands.map((child) => ({
    name: child.name(),
    id: id === 'root' ? child.name() : `${id}_${child.name()}`,
    description: child.description(),
  }));
  const values = command.registeredArguments.flatMap((argument) => argument.argChoices ?? []);
  const node: CompletionNode = {
    id,
    description: command.description(),
    children,
    values,
    options,
  };
  // The root's options (kubeconfig, context, …) are accepted after any subcommand too; --version
  // only before one.
  const passDown =
    id === 'root' ? own.filter((option) => !option.flags.includes('--version')) : inherited;
  return [
    node,
    ...command.commands.flatMap((child, index) =>
      collect(child, children[index]?.id ?? child.name(), passDown),
    ),
  ];
}

function optionOf(option: Option): CompletionOption {
  const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
  return {
    flags,
    takesValue: option.required || option.optional,
    choices: option.argChoices ?? [],
    files: option.long !== undefined && FILE_OPTIONS.has(option.long),
    description: option.description,
  };
}

function bashScript(name: string, fn: string, nodes: CompletionNode[]): string {
  const walk = nodes
    .flatMap((node) =>
      node.children.map((child) => `      ${node.id}:${child.name}) cmd=${child.id} ;;`),
    )
    .join('\n');
  const values = nodes
    .flatMap((node) =>
      node.options
        .filter((option) => option.takesValue)
        .map((option) => {
          const pattern = option.flags.map((flag) => `${node.id}:${flag}`).join('|');
          const reply =
            option.choices.length > 0
              ? `COMPREPLY=($(compgen -W "${option.choices.join(' ')}" -- "$cur"))`
              : option.files
                ? 'COMPREPLY=($(compgen -f -- "$cur"))'
                : 'COMPREPLY=()';
          return `    ${pattern}) ${reply}; return ;;`;
        }),
    )
    .join('\n');
  const words = nodes
    .map(
      (node) =>
        `    ${node.id}) words="${[...node.children.map((c) => c.name), ...node.values, ...node.options.flatMap((o) => o.flags)].join(' ')}" ;;`,
    )
    .join('\n');
  return `# ${name} completion for bash. Load it with: source <(${name} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd=root words="" i
  if [ "$COMP_CWORD" -gt 0 ]; then prev="\${COMP_WORDS[COMP_CWORD-1]}"; fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "$cmd:\${COMP_WORDS[i]}" in
${walk}
    esac
  done
  case "$cmd:$prev" in
${values}
  esac
  case "$cmd" in
${words}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${name}
`;
}

function fishScript(name: string, fn: string, nodes: CompletionNode[]): string {
  const quote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const walk = nodes
    .flatMap((node) =>
      node.children.map(
        (child) => `      case ${quote(`${node.id}:${child.name}`)}\n        set cmd ${child.id}`,
      ),
    )
    .join('\n');
  const lines = nodes.flatMap((node) => {
    const when = `-n '${fn}_cmd_is ${node.id}'`;
    return [
      ...node.children.map(
        (child) => `complete -c ${name} ${when} -a ${child.name} -d ${quote(child.description)}`,
      ),
      ...(node.values.length > 0
        ? [`complete -c ${name} ${when} -a ${quote(node.values.join(' '))}`]
        : []),
      ...node.options.map((option) => {
        const flags = option.flags
          .map((flag) => (flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`))
          .join(' ');
        const value =
          option.choices.length > 0
            ? ` -x -a ${quote(option.choices.join(' '))}`
            : option.takesValue
              ? option.files
                ? ' -r -F'
                : ' -x'
              : '';
        return `complete -c ${name} ${when} ${flags}${value} -d ${quote(option.description)}`;
      }),
    ];
  });
  return `# ${name} completion for fish. Load it with: ${name} completion fish | source
function ${fn}_cmd_is
  set -l cmd root
  for word in (commandline -opc)[2..-1]
    switch "$cmd:$word"
${walk}
    end
  end
  test "$cmd" = $argv[1]
end
complete -c ${name} -f
${lines.join('\n')}
`;
}
