import type { KubernetesObject } from '@kubernetes/client-node';
import type { CommandContext } from '../command-context.js';
import { recordName } from '../command-context.js';
import { formatData, formatTable, type OutputFormat } from '../output-format.js';
import { VERSION } from '../version.js';

/** A MIC Deployment or NMI DaemonSet found in the cluster. */
export interface DaemonVersion {
  component: 'mic' | 'nmi';
  kind: 'Deployment' | 'DaemonSet';
  namespace: string;
  name: string;
  /** The container's image reference. */
  image: string;
  /** The image's tag (or digest), `''` when it has neither. */
  version: string;
  /** The mode its `--operation-mode` flag sets (`standard` when absent, as the daemons default). */
  mode: string;
}

/** What `pod-identity version` reports. */
export interface VersionReport {
  /** This CLI's version. */
  cli: string;
  /** The Node.js running it. */
  node: string;
  /** The API server's version; absent with `--client`. */
  kubernetes?: string;
  /** The cluster's recorded mode and where it is recorded; absent when nothing records one. */
  mode?: { mode: string; record: string };
  /** MIC and NMI workloads, in every namespace. */
  daemons: DaemonVersion[];
  /** Disagreements between the daemons' flags and the recorded mode. */
  warnings: string[];
}

/**
 * `pod-identity version`: the CLI's version, and unless `client` the API server's, the recorded
 * mode, and each MIC Deployment and NMI DaemonSet with its image and `--operation-mode`, warning
 * when a daemon runs in another mode than the record (they read their flags, the CLI the record).
 */
export async function showVersion(
  context: CommandContext,
  options: { client?: boolean; output: OutputFormat },
): Promise<void> {
  const report: VersionReport = {
    cli: VERSION,
    node: process.versions.node,
    daemons: [],
    warnings: [],
  };
  if (options.client !== true) await addClusterVersions(context, report);
  if (options.output !== 'table') {
    context.stdout.write(formatData(report, options.output));
    return;
  }
  context.stdout.write(`Client:      pod-identity ${report.cli} (Node.js ${report.node})\n`);
  if (options.client === true) return;
  context.stdout.write(
    `Server:      Kubernetes ${report.kubernetes ?? '?'} (context ${context.kubeConfig().getCurrentContext()})\n`,
  );
  context.stdout.write(
    `Mode:        ${report.mode === undefined ? 'none recorded (commands assume standard)' : `${report.mode.mode} (${report.mode.record})`}\n`,
  );
  if (report.daemons.length === 0) context.stdout.write('MIC and NMI: none found\n');
  else
    context.stdout.write(
      formatTable(
        ['component', 'kind', 'namespace', 'name', 'version', 'mode', 'image'],
        report.daemons.map((d) => [
          d.component,
          d.kind,
          d.namespace,
          d.name,
          d.version,
          d.mode,
          d.image,
        ]),
      ),
    );
  for (const warning of report.warnings) context.stdout.write(`warning: ${warning}\n`);
}

async function addClusterVersions(context: CommandContext, report: VersionReport): Promise<void> {
  const cluster = context.cluster();
  const [kubernetes, settings, deployments, daemonSets] = await Promise.all([
    cluster.serverVersion(),
    cluster.getSettings(),
    cluster.listObjects('apps/v1', 'Deployment'),
    cluster.listObjects('apps/v1', 'DaemonSet'),
  ]);
  report.kubernetes = kubernetes;
  if (settings !== undefined) report.mode = { mode: settings.mode, record: recordName(settings) };
  for (const [objects, component] of [
    [deployments, 'mic'],
    [daemonSets, 'nmi'],
  ] as const) {
    for (const object of objects) {
      const found = daemonVersion(object, component);
      if (found !== undefined) report.daemons.push(found);
    }
  }
  report.daemons.sort((a, b) =>
    `${a.component}/${a.namespace}/${a.name}`.localeCompare(
      `${b.component}/${b.namespace}/${b.name}`,
    ),
  );
  for (const daemon of report.daemons) {
    if (settings !== undefined && daemon.mode !== settings.mode)
      report.warnings.push(
        `${daemon.kind.toLowerCase()} ${daemon.namespace}/${daemon.name} runs with --operation-mode=${daemon.mode}, but the cluster records ${settings.mode} (${recordName(settings)})`,
      );
  }
}

interface WorkloadShape {
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: { containers?: { name?: string; image?: string; args?: string[] }[] };
    };
  };
}

/**
 * The MIC or NMI of a workload: one whose pod template carries `app.kubernetes.io/component` (this
 * chart, the Go chart) or `component` (the Go manifests) naming it, or that has a container of that
 * name (the AKS add-on's).
 */
export function daemonVersion(
  object: KubernetesObject,
  component: 'mic' | 'nmi',
): DaemonVersion | undefined {
  const template = (object as WorkloadShape).spec?.template;
  const labels = template?.metadata?.labels ?? {};
  const containers = template?.spec?.containers ?? [];
  const named = containers.find((c) => c.name === component);
  const labelled =
    labels['app.kubernetes.io/component'] === component || labels.component === component;
  const container = named ?? (labelled ? containers[0] : undefined);
  if (container === undefined) return undefined;
  const image = container.image ?? '';
  return {
    component,
    kind: component === 'mic' ? 'Deployment' : 'DaemonSet',
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    image,
    version: imageVersion(image),
    mode: operationMode(container.args ?? []),
  };
}

/** The tag (or digest) of an image reference; a registry's port is not a tag. */
function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at !== -1) return image.slice(at + 1);
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? image.slice(colon + 1) : '';
}

function operationMode(args: readonly string[]): string {
  for (const [index, arg] of args.entries()) {
    if (arg.startsWith('--operation-mode=')) return arg.slice('--operation-mode='.length);
    if (arg === '--operation-mode') return args[index + 1] ?? 'standard';
  }
  return 'standard';
}
