import { Option, type Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { parseOutputFormat } from '../output-format.js';
import { migrateApply, migratePlan, migrateRollback } from './migrate-commands.js';

/**
 * Adds `migrate plan|apply|rollback` (pod-managed identity → workload identity federation).
 * @param program - the root command
 * @param contextOf - the command context of a subcommand
 * @param outputOption - the shared `-o` option
 */
export function registerMigrateCommands(
  program: Command,
  contextOf: (command: Command) => CommandContext,
  outputOption: () => Option,
): void {
  const migrate = program
    .command('migrate')
    .description(
      'move AzureIdentityBindings to workload identity federation (federated credentials, service-account annotations, pod labels), with a dry run and a rollback',
    );
  const issuer = (): Option =>
    new Option(
      '--oidc-issuer <url>',
      "the cluster's OIDC issuer URL (default: the issuer the API server announces; on AKS: az aks show --query oidcIssuerProfile.issuerUrl)",
    );
  migrate
    .command('plan')
    .description('show what apply would do, changing nothing')
    .option('-n, --namespace <namespace>', 'only bindings of this namespace (default: all)')
    .addOption(issuer())
    .addOption(outputOption())
    .action(
      async (
        opts: { namespace?: string; oidcIssuer?: string; output: string },
        command: Command,
      ) => {
        await migratePlan(contextOf(command), {
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          ...(opts.oidcIssuer === undefined ? {} : { oidcIssuer: opts.oidcIssuer }),
          output: parseOutputFormat(opts.output),
        });
      },
    );
  migrate
    .command('apply')
    .description(
      'create the federated credentials, annotate the service accounts, label the pods, check that Entra exchanges their tokens; optionally remove the bindings',
    )
    .option('-n, --namespace <namespace>', 'only bindings of this namespace (default: all)')
    .addOption(issuer())
    .option('--dry-run', 'print the plan and change nothing')
    .option(
      '--update-workloads',
      "also label the pod templates of the pods' Deployments, StatefulSets and DaemonSets (a rollout follows)",
    )
    .option(
      '--remove-bindings',
      'delete each binding once Entra accepts the tokens of all its pods (MIC then unassigns its identity)',
    )
    .option(
      '--verify-timeout <seconds>',
      'how long to wait for Entra to honour new credentials',
      '60',
    )
    .addOption(outputOption())
    .action(
      async (
        opts: {
          namespace?: string;
          oidcIssuer?: string;
          dryRun?: boolean;
          updateWorkloads?: boolean;
          removeBindings?: boolean;
          verifyTimeout: string;
          output: string;
        },
        command: Command,
      ) => {
        await migrateApply(contextOf(command), {
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          ...(opts.oidcIssuer === undefined ? {} : { oidcIssuer: opts.oidcIssuer }),
          dryRun: opts.dryRun === true,
          updateWorkloads: opts.updateWorkloads === true,
          removeBindings: opts.removeBindings === true,
          verifyTimeoutMs: Math.max(0, Number(opts.verifyTimeout) || 0) * 1000,
          output: parseOutputFormat(opts.output),
        });
      },
    );
  migrate
    .command('rollback')
    .description(
      'undo what apply recorded: recreate removed bindings, remove labels, annotations and the credentials it created',
    )
    .option('-n, --namespace <namespace>', 'only service accounts of this namespace (default: all)')
    .option('--dry-run', 'list the steps and change nothing')
    .addOption(outputOption())
    .action(
      async (opts: { namespace?: string; dryRun?: boolean; output: string }, command: Command) => {
        await migrateRollback(contextOf(command), {
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          dryRun: opts.dryRun === true,
          output: parseOutputFormat(opts.output),
        });
      },
    );
}
