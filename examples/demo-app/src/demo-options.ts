import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { DemoOptions } from './run-demo.ts';

/** The demo's command line: the walkthrough's flags (and the Go demo's spellings) plus the environment. */
export interface DemoCommandLine extends DemoOptions {
  /** Run one round and exit (non-zero on failure) instead of looping. */
  once: boolean;
  /** Time between rounds when looping. Default 100 s, as the Go demo. */
  periodMs: number;
}

/** The demo's `--help` text. */
export const DEMO_USAGE = `Usage: pod-identity-demo --subscription-id <id> --resource-group <name> --client-id <id> [options]

Every period, acquires a token for the identity through IMDS (NMI on a cluster), lists the VMs of the
resource group with it, and reads the instance metadata.

Options:
  --subscription-id <id>   subscription of the resource group (alias --subscriptionid)
  --resource-group <name>  resource group whose VMs are listed (alias --resourcegroup)
  --client-id <id>         client ID of the identity to use (aliases --clientid, --identity-client-id)
  --resource-name <uri>    token audience (default https://management.azure.com/)
  --imds-endpoint <url>    IMDS to ask (default $AZURE_POD_IDENTITY_AUTHORITY_HOST, else
                           http://169.254.169.254)
  --arm-endpoint <url>     ARM endpoint (default https://management.azure.com)
  --arm-ca-file <path>     extra CA certificate (PEM) to trust for ARM
  --local-address <ip>     source address of requests (the pod IP when run outside a pod)
  --period <seconds>       time between rounds (default 100)
  --once                   run one round and exit, non-zero on failure
  -h, --help               print this text
  --version                print the version
`;

/**
 * What the command line asks for before any option is read: help or the version, which need no other
 * flag, or a normal run.
 * @param argv - arguments after the script
 */
export function demoCommand(argv: readonly string[]): 'help' | 'version' | 'run' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  if (argv.includes('--version')) return 'version';
  return 'run';
}

/**
 * Reads the demo's flags: `--subscription-id` (`--subscriptionid`), `--resource-group`
 * (`--resourcegroup`), `--client-id` (`--clientid`, `--identity-client-id`), `--resource-name`,
 * `--imds-endpoint`, `--arm-endpoint`, `--arm-ca-file`, `--local-address`, `--period <seconds>`,
 * `--once`. `MY_POD_NAME`, `MY_POD_NAMESPACE` and `MY_POD_IP` are only logged.
 *
 * @throws Error naming the missing or bad flag
 */
export function parseDemoOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DemoCommandLine {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'subscription-id': { type: 'string' },
      subscriptionid: { type: 'string' },
      'resource-group': { type: 'string' },
      resourcegroup: { type: 'string' },
      'client-id': { type: 'string' },
      clientid: { type: 'string' },
      'identity-client-id': { type: 'string' },
      'resource-name': { type: 'string' },
      'imds-endpoint': { type: 'string' },
      'arm-endpoint': { type: 'string' },
      'arm-ca-file': { type: 'string' },
      'local-address': { type: 'string' },
      period: { type: 'string' },
      once: { type: 'boolean' },
    },
    strict: true,
  });
  const need = (value: string | undefined, flag: string): string => {
    if (value === undefined || value === '') throw new Error(`missing --${flag}`);
    return value;
  };
  const periodSeconds = values.period === undefined ? 100 : Number(values.period);
  if (!Number.isFinite(periodSeconds) || periodSeconds <= 0)
    throw new Error(`--period must be a positive number of seconds, got ${values.period ?? ''}`);
  const options: DemoCommandLine = {
    subscriptionId: need(values['subscription-id'] ?? values.subscriptionid, 'subscription-id'),
    resourceGroup: need(values['resource-group'] ?? values.resourcegroup, 'resource-group'),
    clientId: need(
      values['client-id'] ?? values.clientid ?? values['identity-client-id'],
      'client-id',
    ),
    once: values.once === true,
    periodMs: periodSeconds * 1000,
    env,
  };
  if (values['resource-name'] !== undefined) options.resource = values['resource-name'];
  if (values['imds-endpoint'] !== undefined) options.imdsEndpoint = values['imds-endpoint'];
  if (values['arm-endpoint'] !== undefined) options.armEndpoint = values['arm-endpoint'];
  if (values['arm-ca-file'] !== undefined)
    options.armCaPem = readFileSync(values['arm-ca-file'], 'utf8');
  if (values['local-address'] !== undefined) options.localAddress = values['local-address'];
  return options;
}
