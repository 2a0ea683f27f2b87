import {
  GROUP_VERSION,
  serializePodIdentityObject,
  type AzurePodIdentityException,
} from '@pod-identity/core';
import { CliError } from '../cli-error.js';
import {
  checkName,
  checkNamespace,
  parsePodLabels,
  type CommandContext,
} from '../command-context.js';
import type { UnreadableObject } from '../cluster-client.js';
import { formatData, formatTable, type OutputFormat } from '../output-format.js';
import { renderUnreadable, unreadableData } from '../unreadable-objects.js';

/** At most this many pod identity exceptions per cluster, as AKS documents. */
export const MAX_POD_IDENTITY_EXCEPTIONS = 200;

/** Options of `pod-identity exception add|update`. */
export interface ExceptionOptions {
  namespace: string;
  name: string;
  podLabels: string;
  output: OutputFormat;
}

/**
 * `pod-identity exception add`: creates an AzurePodIdentityException. Pods in its namespace that
 * carry any one of its labels (every one, when NMI runs with `--exception-match=all`) reach IMDS
 * directly, as if pod identity were not installed.
 */
export async function addException(
  context: CommandContext,
  options: ExceptionOptions,
): Promise<void> {
  checkNamespace(options.namespace);
  checkName(options.name);
  const podLabels = parsePodLabels(options.podLabels);
  const cluster = context.cluster();
  const all = await cluster.list('AzurePodIdentityException');
  if (
    all.some((e) => e.metadata.namespace === options.namespace && e.metadata.name === options.name)
  ) {
    throw new CliError(
      `pod identity exception ${options.namespace}/${options.name} already exists`,
      {
        hint: `change it with: pod-identity exception update --namespace ${options.namespace} --name ${options.name} --pod-labels ...`,
      },
    );
  }
  if (all.length >= MAX_POD_IDENTITY_EXCEPTIONS) {
    throw new CliError(
      `this cluster already has ${all.length} pod identity exceptions; at most ${MAX_POD_IDENTITY_EXCEPTIONS} are allowed per cluster`,
      {
        hint: 'delete exceptions that are no longer needed (pod-identity exception list, pod-identity exception delete)',
      },
    );
  }
  const exception: AzurePodIdentityException = {
    apiVersion: GROUP_VERSION,
    kind: 'AzurePodIdentityException',
    metadata: { name: options.name, namespace: options.namespace },
    spec: { podLabels },
  };
  const created = await cluster.create(exception);
  report(context, options.output, created, 'created');
}

/** `pod-identity exception update`: replaces an exception's pod labels. */
export async function updateException(
  context: CommandContext,
  options: ExceptionOptions,
): Promise<void> {
  checkNamespace(options.namespace);
  checkName(options.name);
  const podLabels = parsePodLabels(options.podLabels);
  const cluster = context.cluster();
  const existing = await cluster.get('AzurePodIdentityException', options.namespace, options.name);
  if (existing === undefined) {
    throw new CliError(`pod identity exception ${options.namespace}/${options.name} not found`, {
      hint: `create it with: pod-identity exception add --namespace ${options.namespace} --name ${options.name} --pod-labels ...`,
    });
  }
  const updated = await cluster.replace({ ...existing, spec: { ...existing.spec, podLabels } });
  report(context, options.output, updated, 'updated');
}

/** `pod-identity exception delete`. */
export async function deleteException(
  context: CommandContext,
  options: { namespace: string; name: string; output: OutputFormat },
): Promise<void> {
  checkNamespace(options.namespace);
  checkName(options.name);
  if (
    !(await context.cluster().delete('AzurePodIdentityException', options.namespace, options.name))
  ) {
    throw new CliError(`pod identity exception ${options.namespace}/${options.name} not found`);
  }
  if (options.output === 'table') {
    context.stdout.write(
      `azurepodidentityexception.aadpodidentity.k8s.io/${options.name} deleted from namespace ${options.namespace}\n`,
    );
  } else {
    context.stdout.write(
      formatData({ deleted: { namespace: options.namespace, name: options.name } }, options.output),
    );
  }
}

/**
 * `pod-identity exception list`: exceptions that parse, then those that do not with the reason
 * (reported to the context, which makes the exit code 3).
 * @param options - `namespace`: one namespace (all when undefined); `wide`: the table adds each
 * exception's creation time
 */
export async function listExceptions(
  context: CommandContext,
  options: { namespace?: string; output: OutputFormat; wide?: boolean },
): Promise<void> {
  if (options.namespace !== undefined) checkNamespace(options.namespace);
  const listed = await context.cluster().listAll('AzurePodIdentityException', options.namespace);
  try {
    writeExceptions(context, options, listed.items, listed.unreadable);
  } finally {
    context.reportUnreadable(listed.unreadable);
  }
}

function writeExceptions(
  context: CommandContext,
  options: { output: OutputFormat; wide?: boolean },
  exceptions: AzurePodIdentityException[],
  unreadable: readonly UnreadableObject[],
): void {
  const { output } = options;
  exceptions.sort((a, b) =>
    `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
      `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
    ),
  );
  if (output !== 'table') {
    context.stdout.write(
      formatData(
        {
          exceptions: exceptions.map((e) => serializePodIdentityObject(e)),
          ...(unreadable.length === 0 ? {} : { unreadable: unreadableData(unreadable) }),
        },
        output,
      ),
    );
    return;
  }
  if (exceptions.length === 0) {
    context.stdout.write('no pod identity exceptions\n');
    context.stdout.write(renderUnreadable(unreadable));
    return;
  }
  const wide = options.wide === true;
  context.stdout.write(
    formatTable(
      ['namespace', 'name', 'pod-labels', ...(wide ? ['created'] : [])],
      exceptions.map((e) => [
        e.metadata.namespace ?? '',
        e.metadata.name,
        formatLabels(e.spec.podLabels),
        ...(wide ? [e.metadata.creationTimestamp ?? ''] : []),
      ]),
    ),
  );
}

function report(
  context: CommandContext,
  output: OutputFormat,
  exception: AzurePodIdentityException,
  verb: string,
): void {
  if (output === 'table') {
    context.stdout.write(
      `azurepodidentityexception.aadpodidentity.k8s.io/${exception.metadata.name} ${verb} in namespace ${exception.metadata.namespace ?? ''} (pod labels ${formatLabels(exception.spec.podLabels)})\n`,
    );
  } else {
    context.stdout.write(formatData(serializePodIdentityObject(exception), output));
  }
}

/** `k=v,k2=v2`, keys sorted. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key] ?? ''}`)
    .join(',');
}
