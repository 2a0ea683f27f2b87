import { Command, CommanderError, Help, Option } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import { PodIdentityError, type CustomResourceDefinition } from '@pod-identity/core';
import type { AzureAccess } from './azure-access.js';
import { CliError, ExitCode } from './cli-error.js';
import type { UnreadableObject } from './cluster-client.js';
import {
  createCommandContext,
  type CliWriter,
  type CommandContext,
  type GlobalOptions,
} from './command-context.js';
import {
  disablePodIdentity,
  enablePodIdentity,
  type DisableOptions,
} from './commands/cluster-commands.js';
import {
  addException,
  deleteException,
  listExceptions,
  updateException,
} from './commands/exception-commands.js';
import { explainPod } from './commands/explain-pod.js';
import { registerMigrateCommands } from './commands/register-migrate-commands.js';
import { upgradeTypes } from './commands/upgrade-types.js';
import {
  addPodIdentity,
  deletePodIdentity,
  listPodIdentities,
} from './commands/pod-identity-commands.js';
import { registerInfoCommands } from './commands/register-info-commands.js';
import { azArgumentsToOptions } from './az-arguments.js';
import { addHelpExamples } from './help-examples.js';
import { parseOutputFormat, OutputFormats, type OutputFormat } from './output-format.js';
import { VERSION } from './version.js';

/** Where `runCli` reads and writes, and what tests (or an embedding program) inject. */
export interface RunCliOptions {
  /** Results. Default `process.stdout`. */
  stdout?: CliWriter;
  /** Progress and errors. Default `process.stderr`. */
  stderr?: CliWriter;
  /** Environment (`KUBECONFIG`, `HOME`, `AZURE_RESOURCE_MANAGER_ENDPOINT`, …). Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A kubeconfig to use when neither `--kubeconfig` nor `--context` is given. */
  kubeConfig?: KubeConfig;
  /** ARM access to use instead of `DefaultAzureCredential`. */
  azure?: AzureAccess;
  /** Cancels ARM calls. */
  abortSignal?: AbortSignal;
  /**
   * The CRDs `enable` installs. Default core's `podIdentityCrds()`; an embedding program may install
   * its own variant (e.g. an emulator that needs a schema tweak).
   */
  crds?: () => CustomResourceDefinition[];
}

/**
 * Runs `pod-identity` in-process: parses `argv` (without the node and script names), runs the
 * command, writes to the given streams, and resolves to the exit code instead of exiting
 * ({@link ExitCode}). Never throws for a failed command.
 *
 * @example
 * ```ts
 * const code = await runCli(['list', '-n', 'my-app', '-o', 'json'], { stdout, stderr, env });
 * ```
 */
export async function runCli(
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const unreadable: UnreadableObject[] = [];
  const contextFor = (globals: GlobalOptions): CommandContext =>
    createCommandContext(globals, {
      stdout,
      stderr,
      env,
      ...(options.kubeConfig === undefined ? {} : { kubeConfig: options.kubeConfig }),
      ...(options.azure === undefined ? {} : { azure: options.azure }),
      ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
      ...(options.crds === undefined ? {} : { crds: options.crds }),
      unreadable,
    });
  const program = buildProgram((command) => contextFor(command.optsWithGlobals<GlobalOptions>()), {
    writeOut: (text) => stdout.write(text),
    writeErr: (text) => stderr.write(text),
  });
  try {
    await program.parseAsync(azArgumentsToOptions(argv), { from: 'user' });
    return unreadable.length === 0 ? ExitCode.Success : ExitCode.UnreadableObjects;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; every other parse failure is a usage error, already printed.
      return error.exitCode === 0 ? ExitCode.Success : ExitCode.Usage;
    }
    if (error instanceof CliError) {
      stderr.write(`error: ${error.message}\n`);
      if (error.hint !== undefined) stderr.write(`hint: ${error.hint}\n`);
      return error.exitCode;
    }
    if (PodIdentityError.is(error)) {
      stderr.write(`error: ${error.message}\n`);
      return error.code === 'OBJECT_INVALID' ? ExitCode.Usage : ExitCode.Failure;
    }
    stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Failure;
  }
}

type ContextFactory = (command: Command) => CommandContext;

function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format')
    .choices(OutputFormats)
    .default('table');
}

/** `-o` of commands that print lists: kubectl's `wide` adds columns to the table. */
function listOutputOption(): Option {
  return new Option('-o, --output <format>', 'output format')
    .choices([...OutputFormats, 'wide'])
    .default('table');
}

/** A list command's `-o`: the format, and whether the table is the wide one. */
function listOutput(output: string): { output: OutputFormat; wide: boolean } {
  return output === 'wide'
    ? { output: 'table', wide: true }
    : { output: parseOutputFormat(output), wide: false };
}

/**
 * Adds a command that lists objects kubectl's way: `-n` (one namespace), `-A` (all, the default),
 * `-o table|wide|json|yaml`.
 */
function addListCommand(
  parent: Command,
  name: string,
  description: string,
  list: (
    command: Command,
    options: { namespace?: string; output: OutputFormat; wide: boolean },
  ) => Promise<void>,
): void {
  parent
    .command(name)
    .description(description)
    .option('-n, --namespace <namespace>', 'only this namespace (default: all)')
    .option('-A, --all-namespaces', 'all namespaces (the default)')
    .addOption(listOutputOption())
    .action(
      async (
        opts: { namespace?: string; allNamespaces?: boolean; output: string },
        command: Command,
      ) => {
        await list(command, {
          ...(opts.namespace === undefined || opts.allNamespaces === true
            ? {}
            : { namespace: opts.namespace }),
          ...listOutput(opts.output),
        });
      },
    );
}

/** `--mode`, which must agree with the mode the cluster records. */
function modeOption(): Option {
  return new Option(
    '--mode <mode>',
    'the mode; must agree with the one the cluster records',
  ).choices(['standard', 'managed']);
}

/** `add`, `delete` and `list`: pod identities (an AzureIdentity and its binding). */
function addPodIdentityCommands(program: Command, contextOf: ContextFactory): void {
  program
    .command('add')
    .description(
      'create a pod identity: an AzureIdentity for a user-assigned identity and its AzureIdentityBinding',
    )
    .requiredOption('-n, --namespace <namespace>', 'namespace of the pod identity')
    .requiredOption('--name <name>', 'name of the pod identity (RFC 1123 subdomain)')
    .requiredOption(
      '--identity-resource-id <id>',
      'ARM resource ID of the user-assigned managed identity',
    )
    .option(
      '--binding-selector <selector>',
      "value of the pods' aadpodidbinding label (default: the name)",
    )
    .addOption(modeOption())
    .addOption(outputOption())
    .action(
      async (
        opts: {
          namespace: string;
          name: string;
          identityResourceId: string;
          bindingSelector?: string;
          mode?: string;
          output: string;
        },
        command: Command,
      ) => {
        await addPodIdentity(contextOf(command), {
          ...opts,
          output: parseOutputFormat(opts.output),
        });
      },
    );

  program
    .command('delete')
    .description(
      'delete a pod identity and its bindings (managed mode: also from the node scale sets)',
    )
    .requiredOption('-n, --namespace <namespace>', 'namespace of the pod identity')
    .requiredOption('--name <name>', 'name of the pod identity')
    .addOption(modeOption())
    .addOption(outputOption())
    .action(
      async (
        opts: { namespace: string; name: string; mode?: string; output: string },
        command: Command,
      ) => {
        await deletePodIdentity(contextOf(command), {
          ...opts,
          output: parseOutputFormat(opts.output),
        });
      },
    );

  addListCommand(program, 'list', 'list pod identities and their binding selectors', (c, o) =>
    listPodIdentities(contextOf(c), o),
  );

  program
    .command('upgrade-types')
    .description(
      "rename the fields of objects written before v1.6 (ClientID, Selector, PodLabels, old MIC records) to today's names, as the original MIC's type upgrade did",
    )
    .option('-n, --namespace <namespace>', 'only this namespace (default: all)')
    .option('--dry-run', 'show what would be rewritten, write nothing')
    .addOption(outputOption())
    .action(
      async (opts: { namespace?: string; dryRun?: boolean; output: string }, command: Command) => {
        await upgradeTypes(contextOf(command), {
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          dryRun: opts.dryRun === true,
          output: parseOutputFormat(opts.output),
        });
      },
    );
}

/** `exception add|update|delete|list`: AzurePodIdentityExceptions. */
function addExceptionCommands(program: Command, contextOf: ContextFactory): void {
  const exception = program
    .command('exception')
    .description('manage AzurePodIdentityExceptions (pods that reach IMDS directly)');
  for (const verb of ['add', 'update'] as const) {
    exception
      .command(verb)
      .description(
        verb === 'add' ? 'create an exception' : 'replace the pod labels of an exception',
      )
      .requiredOption(
        '-n, --namespace <namespace>',
        'namespace of the exception (it applies to pods of this namespace)',
      )
      .requiredOption('--name <name>', 'name of the exception')
      .requiredOption(
        '--pod-labels <labels...>',
        "key=value[,key=value…] (or az's key=value key=value): pods carrying any one of these labels are excepted (all of them under NMI --exception-match=all)",
      )
      .addOption(outputOption())
      .action(
        async (
          opts: { namespace: string; name: string; podLabels: string[]; output: string },
          command: Command,
        ) => {
          const run = verb === 'add' ? addException : updateException;
          await run(contextOf(command), {
            ...opts,
            podLabels: opts.podLabels.join(','),
            output: parseOutputFormat(opts.output),
          });
        },
      );
  }
  exception
    .command('delete')
    .description('delete an exception')
    .requiredOption('-n, --namespace <namespace>', 'namespace of the exception')
    .requiredOption('--name <name>', 'name of the exception')
    .addOption(outputOption())
    .action(async (opts: { namespace: string; name: string; output: string }, command: Command) => {
      await deleteException(contextOf(command), {
        ...opts,
        output: parseOutputFormat(opts.output),
      });
    });
  addListCommand(exception, 'list', 'list exceptions', (c, o) => listExceptions(contextOf(c), o));
}

/** `enable` and `disable`: what the cluster needs for pod identity, and its removal. */
function addSetupCommands(program: Command, contextOf: ContextFactory): void {
  program
    .command('enable')
    .description(
      'install the CRDs, record the mode, add the aks-addon-exception in kube-system, apply an NMI manifest',
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'standard (MIC assigns identities) or managed (this CLI does); default: the recorded mode, else standard',
      ).choices(['standard', 'managed']),
    )
    .option(
      '--switch-mode',
      'record --mode although the cluster records the other mode (then restart MIC and NMI in it)',
    )
    .option('--nmi-manifest <file>', 'YAML manifest of NMI (DaemonSet and RBAC) to apply')
    .option(
      '--enable-pod-identity-with-kubenet',
      "az's kubenet opt-in: NMI of --nmi-manifest runs with --allow-network-plugin-kubenet=true (without a manifest: says how to set it)",
    )
    .addOption(outputOption())
    .action(
      async (
        opts: {
          mode?: string;
          switchMode?: boolean;
          nmiManifest?: string;
          enablePodIdentityWithKubenet?: boolean;
          output: string;
        },
        command: Command,
      ) => {
        const { enablePodIdentityWithKubenet, ...rest } = opts;
        await enablePodIdentity(contextOf(command), {
          ...rest,
          ...(enablePodIdentityWithKubenet === true ? { allowKubenet: true } : {}),
          output: parseOutputFormat(opts.output),
        });
      },
    );

  program
    .command('disable')
    .description(
      'remove what enable created (the aks-addon-exception, the recorded mode, the objects of an NMI manifest), listing it first; CRDs and namespaces only when asked',
    )
    .option(
      '--nmi-manifest <file>',
      'YAML manifest whose objects enable created and disable deletes',
    )
    .option(
      '--delete-crds',
      "also delete the four CRDs (and every pod-identity object) and the manifest's CRDs",
    )
    .option('--delete-namespaces', 'also delete the namespaces the manifest declares')
    .option('--delete-unowned', 'also delete objects that pod-identity enable did not create')
    .option('--force', 'even while pod identities exist')
    .option('--dry-run', 'list what would be deleted and delete nothing')
    .addOption(outputOption())
    .action(async (opts: Omit<DisableOptions, 'output'> & { output: string }, command: Command) => {
      await disablePodIdentity(contextOf(command), {
        ...opts,
        output: parseOutputFormat(opts.output),
      });
    });
}

/** `explain <pod>`: why a pod gets, or does not get, a token. */
function addExplainCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('explain')
    .description(
      "explain why a pod gets, or does not get, a token: bindings, identities, assignments, scale set, NMI's answer",
    )
    .argument('<pod>', 'pod name')
    .option('-n, --namespace <namespace>', 'namespace of the pod', 'default')
    .addOption(modeOption())
    .option('--skip-azure', "do not ask ARM which identities the node's scale set has")
    .addOption(
      new Option(
        '--exception-match <rule>',
        "the exception rule NMI runs with: any label (NMI's default) or all labels",
      )
        .choices(['any', 'all'])
        .default('any'),
    )
    .addOption(outputOption())
    .action(
      async (
        pod: string,
        opts: {
          namespace: string;
          mode?: string;
          skipAzure?: boolean;
          exceptionMatch: 'any' | 'all';
          output: string;
        },
        command: Command,
      ) => {
        await explainPod(contextOf(command), pod, {
          ...opts,
          output: parseOutputFormat(opts.output),
        });
      },
    );
}

function buildProgram(
  contextOf: ContextFactory,
  output: { writeOut: (text: string) => void; writeErr: (text: string) => void },
): Command {
  // Subcommands copy these settings when created, so they come first.
  const program = new Command('pod-identity')
    .exitOverride()
    .configureOutput(output)
    .description(
      'Administer Microsoft Entra pod-managed identity on a Kubernetes cluster (AAD Pod Identity compatible).',
    )
    .version(VERSION)
    .option(
      '--kubeconfig <file>',
      'path of the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)',
    )
    .option('--context <name>', 'kubeconfig context to use')
    .option(
      '--arm-endpoint <url>',
      'Azure Resource Manager endpoint (default: $AZURE_RESOURCE_MANAGER_ENDPOINT or https://management.azure.com)',
    )
    .option(
      '-g, --resource-group <group>',
      "az's resource group of the cluster: accepted so az lines paste; the kubeconfig context names the cluster",
    )
    .option(
      '--cluster-name <name>',
      "az's cluster name: uses the kubeconfig context az aks get-credentials named after it (in az's form -n is this)",
    )
    .configureHelp({
      optionDescription(option) {
        const text = new Help().optionDescription(option);
        return option.mandatory ? `${text} (required)` : text;
      },
    })
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError();

  addPodIdentityCommands(program, contextOf);
  addExceptionCommands(program, contextOf);
  addSetupCommands(program, contextOf);
  addExplainCommand(program, contextOf);
  registerMigrateCommands(program, contextOf, outputOption);
  registerInfoCommands(program, contextOf, outputOption);
  addHelpExamples(program);

  return program;
}
