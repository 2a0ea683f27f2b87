import type { Command, Option } from 'commander';
import type { CommandContext } from '../command-context.js';
import { completionScript, CompletionShells, type CompletionShell } from '../completion-script.js';
import { parseOutputFormat } from '../output-format.js';
import { showVersion } from './show-version.js';

/**
 * Adds `version` (the CLI's and the cluster's: API server, recorded mode, MIC and NMI images and
 * modes) and `completion bash|zsh|fish`.
 * @param program - the root command
 * @param contextOf - the command context of a subcommand
 * @param outputOption - the shared `-o` option
 */
export function registerInfoCommands(
  program: Command,
  contextOf: (command: Command) => CommandContext,
  outputOption: () => Option,
): void {
  program
    .command('version')
    .description(
      "print the CLI's version and the cluster's: Kubernetes, the recorded mode, each MIC and NMI with its image and --operation-mode",
    )
    .option('--client', "only the CLI's version; do not contact the cluster")
    .addOption(outputOption())
    .action(async (opts: { client?: boolean; output: string }, command: Command) => {
      await showVersion(contextOf(command), {
        ...(opts.client === true ? { client: true } : {}),
        output: parseOutputFormat(opts.output),
      });
    });

  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(program.createArgument('<shell>', 'the shell').choices(CompletionShells))
    .action((shell: CompletionShell, _opts: unknown, command: Command) => {
      contextOf(command).stdout.write(completionScript(program, shell));
    });
}
