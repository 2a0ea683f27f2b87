import {
  GROUP_VERSION,
  IdentityType,
  isFederatedIdentity,
  isSameResourceId,
  parseUserAssignedIdentityId,
  serializePodIdentityObject,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
} from '@pod-identity/core';
import { readUserAssignedIdentity, setScaleSetIdentity } from '../azure-access.js';
import { CliError } from '../cli-error.js';
import {
  checkName,
  checkNamespace,
  checkSelector,
  resolveMode,
  usage,
  type CommandContext,
} from '../command-context.js';
import type { UnreadableObject } from '../cluster-client.js';
import { formatData, formatTable, type OutputFormat } from '../output-format.js';
import {
  cliAssignedScaleSets,
  scaleSetKey,
  withCliAssignedScaleSets,
} from './cli-assigned-scale-sets.js';
import { renderUnreadable, unreadableData } from '../unreadable-objects.js';
import { nodeScaleSets } from './node-scale-sets.js';
import { WIDE_LIST_HEADERS, wideListCells } from './wide-list-cells.js';

/** At most this many pod identities (AzureIdentities) per cluster, as AKS documents. */
export const MAX_POD_IDENTITIES = 200;

/** Options of `pod-identity add`. */
export interface AddPodIdentityOptions {
  namespace: string;
  name: string;
  identityResourceId: string;
  bindingSelector?: string;
  mode?: string;
  output: OutputFormat;
}

/** The binding `add` creates for a pod identity: named after it, as the AKS add-on names it. */
export function bindingNameFor(identityName: string): string {
  return `${identityName}-binding`;
}

/**
 * `pod-identity add`: validates, reads the identity's client ID from ARM, creates the AzureIdentity
 * and its AzureIdentityBinding, and in managed mode assigns the identity to every node scale set.
 */
export async function addPodIdentity(
  context: CommandContext,
  options: AddPodIdentityOptions,
): Promise<void> {
  checkNamespace(options.namespace);
  checkName(options.name);
  const selector = options.bindingSelector ?? options.name;
  checkSelector(selector);
  let resourceId = '';
  usage(() => {
    resourceId = parseUserAssignedIdentityId(
      options.identityResourceId,
      '--identity-resource-id',
    ).id;
  });
  // A binding name longer than a subdomain allows would fail after the identity was created.
  checkName(bindingNameFor(options.name), '--name (with the -binding suffix)');

  const cluster = context.cluster();
  const mode = await resolveMode(context, options.mode);
  const all = await cluster.list('AzureIdentity');
  if (
    all.some(
      (identity) =>
        identity.metadata.namespace === options.namespace &&
        identity.metadata.name === options.name,
    )
  ) {
    throw new CliError(`pod identity ${options.namespace}/${options.name} already exists`, {
      hint: `delete it first: pod-identity delete --namespace ${options.namespace} --name ${options.name}`,
    });
  }
  if (all.length >= MAX_POD_IDENTITIES) {
    throw new CliError(
      `this cluster already has ${all.length} pod identities; at most ${MAX_POD_IDENTITIES} are allowed per cluster`,
      {
        hint: 'delete pod identities that are no longer used (pod-identity list, pod-identity delete)',
      },
    );
  }
  const bindingName = bindingNameFor(options.name);
  if ((await cluster.get('AzureIdentityBinding', options.namespace, bindingName)) !== undefined) {
    throw new CliError(`azureidentitybinding ${options.namespace}/${bindingName} already exists`, {
      hint: 'choose another --name, or delete that binding',
    });
  }

  const azure = await context.azure();
  const info = await readUserAssignedIdentity(resourceId, azure, context.abortSignal);

  const identity: AzureIdentity = {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentity',
    metadata: { name: options.name, namespace: options.namespace },
    spec: { type: IdentityType.UserAssignedMSI, resourceID: resourceId, clientID: info.clientId },
  };
  const binding: AzureIdentityBinding = {
    apiVersion: GROUP_VERSION,
    kind: 'AzureIdentityBinding',
    metadata: { name: bindingName, namespace: options.namespace },
    spec: { azureIdentity: options.name, selector },
  };
  const createdIdentity = await cluster.create(identity);
  let createdBinding: AzureIdentityBinding;
  try {
    createdBinding = await cluster.create(binding);
  } catch (error) {
    // Leave nothing half-made: an identity without its binding would count against the limit.
    await cluster.delete('AzureIdentity', options.namespace, options.name).catch(() => undefined);
    throw error;
  }

  const assigned: string[] = [];
  const foundThere: string[] = [];
  if (mode === 'managed') {
    const { scaleSets, otherNodes } = nodeScaleSets(await cluster.listNodes());
    if (otherNodes.length > 0) {
      context.stderr.write(
        `warning: nodes not in a scale set are not assigned identities: ${otherNodes.join(', ')}\n`,
      );
    }
    // Scale sets where another pod identity of this Azure identity recorded the CLI's assignment:
    // this one shares it, so whichever is deleted last removes it.
    const shared = new Set(
      all
        .filter((other) => isSameResourceId(other.spec.resourceID ?? '', resourceId))
        .flatMap((other) => [...cliAssignedScaleSets(other)]),
    );
    const recorded = new Set<string>();
    try {
      for (const scaleSet of scaleSets) {
        const target = `${scaleSet.resourceGroup}/${scaleSet.name}`;
        if (await setScaleSetIdentity(scaleSet, resourceId, true, azure, context.abortSignal)) {
          assigned.push(target);
          recorded.add(scaleSetKey(scaleSet));
        } else if (shared.has(scaleSetKey(scaleSet))) {
          recorded.add(scaleSetKey(scaleSet));
        } else {
          foundThere.push(target);
        }
      }
      if (recorded.size > 0)
        await cluster.replace(withCliAssignedScaleSets(createdIdentity, recorded));
    } catch (error) {
      // Managed mode has no controller to finish the job later: undo, so that a retry starts clean.
      await cluster
        .delete('AzureIdentityBinding', options.namespace, bindingName)
        .catch(() => undefined);
      await cluster.delete('AzureIdentity', options.namespace, options.name).catch(() => undefined);
      throw new CliError(`${(error as Error).message}; the pod identity was not created`, {
        cause: error,
        hint: 'the cluster identity needs "Managed Identity Operator" over the identity and "Virtual Machine Contributor" on the node resource group',
      });
    }
  }

  if (options.output === 'table') {
    context.stdout.write(
      `azureidentity.aadpodidentity.k8s.io/${options.name} created in namespace ${options.namespace} (client ID ${info.clientId})\n`,
    );
    context.stdout.write(
      `azureidentitybinding.aadpodidentity.k8s.io/${bindingName} created in namespace ${options.namespace} (selector ${selector})\n`,
    );
    for (const target of assigned)
      context.stdout.write(`identity assigned to scale set ${target}\n`);
    for (const target of foundThere)
      context.stdout.write(
        `identity already on scale set ${target}, assigned outside pod-identity: delete leaves it there\n`,
      );
    context.stdout.write(
      `label pods with aadpodidbinding=${selector} to give them this identity\n`,
    );
  } else {
    context.stdout.write(
      formatData(
        {
          mode,
          identity: serializePodIdentityObject(createdIdentity),
          binding: serializePodIdentityObject(createdBinding),
          assignedToScaleSets: assigned,
          alreadyOnScaleSets: foundThere,
        },
        options.output,
      ),
    );
  }
}

/** Options of `pod-identity delete`. */
export interface DeletePodIdentityOptions {
  namespace: string;
  name: string;
  mode?: string;
  output: OutputFormat;
}

/**
 * `pod-identity delete`: deletes the AzureIdentity and every binding in its namespace that names it;
 * in managed mode also removes the identity from the node scale sets unless another pod identity
 * in the cluster still uses the same Azure identity.
 */
export async function deletePodIdentity(
  context: CommandContext,
  options: DeletePodIdentityOptions,
): Promise<void> {
  checkNamespace(options.namespace);
  checkName(options.name);
  const cluster = context.cluster();
  const mode = await resolveMode(context, options.mode);
  const identity = await cluster.get('AzureIdentity', options.namespace, options.name);
  if (identity === undefined) {
    throw new CliError(`pod identity ${options.namespace}/${options.name} not found`, {
      hint: `see what exists: pod-identity list --namespace ${options.namespace}`,
    });
  }
  const bindings = (await cluster.list('AzureIdentityBinding', options.namespace)).filter(
    (b) => b.spec.azureIdentity === options.name,
  );
  for (const binding of bindings)
    await cluster.delete('AzureIdentityBinding', options.namespace, binding.metadata.name);
  await cluster.delete('AzureIdentity', options.namespace, options.name);

  const removed: string[] = [];
  const left: string[] = [];
  const resourceId = identity.spec.resourceID ?? '';
  if (mode === 'managed' && resourceId !== '') {
    const stillUsed = (await cluster.list('AzureIdentity')).some((other) =>
      isSameResourceId(other.spec.resourceID ?? '', resourceId),
    );
    if (!stillUsed) {
      const azure = await context.azure();
      const ours = cliAssignedScaleSets(identity);
      const { scaleSets } = nodeScaleSets(await cluster.listNodes());
      for (const scaleSet of scaleSets) {
        const target = `${scaleSet.resourceGroup}/${scaleSet.name}`;
        // Only where the CLI put it: an assignment made by hand is not the CLI's to undo.
        if (!ours.has(scaleSetKey(scaleSet))) left.push(target);
        else if (await setScaleSetIdentity(scaleSet, resourceId, false, azure, context.abortSignal))
          removed.push(target);
      }
    }
  }
  if (options.output === 'table') {
    for (const binding of bindings) {
      context.stdout.write(
        `azureidentitybinding.aadpodidentity.k8s.io/${binding.metadata.name} deleted from namespace ${options.namespace}\n`,
      );
    }
    context.stdout.write(
      `azureidentity.aadpodidentity.k8s.io/${options.name} deleted from namespace ${options.namespace}\n`,
    );
    for (const target of removed)
      context.stdout.write(`identity removed from scale set ${target}\n`);
    for (const target of left)
      context.stdout.write(
        `identity not removed from scale set ${target}: pod-identity add did not assign it there\n`,
      );
  } else {
    context.stdout.write(
      formatData(
        {
          mode,
          deleted: { identity: options.name, bindings: bindings.map((b) => b.metadata.name) },
          removedFromScaleSets: removed,
          notRemovedFromScaleSets: left,
        },
        options.output,
      ),
    );
  }
}

/** Options of `pod-identity list`. */
export interface ListPodIdentitiesOptions {
  /** One namespace; all when undefined. */
  namespace?: string;
  output: OutputFormat;
  /** `-o wide`: the table also names each identity's bindings and counts its pods' assignments. */
  wide?: boolean;
}

/**
 * `pod-identity list`: pod identities with their bindings' selectors; `-o json|yaml` gives the
 * objects. Identities and bindings that do not parse are listed after the others with the reason
 * (`unreadable` in JSON/YAML) and reported to the context, which makes the exit code 3.
 */
export async function listPodIdentities(
  context: CommandContext,
  options: ListPodIdentitiesOptions,
): Promise<void> {
  if (options.namespace !== undefined) checkNamespace(options.namespace);
  const cluster = context.cluster();
  const [identityList, bindingList] = await Promise.all([
    cluster.listAll('AzureIdentity', options.namespace),
    cluster.listAll('AzureIdentityBinding', options.namespace),
  ]);
  // Assignment records live in the pod's namespace, so -o wide reads them from every namespace.
  const assignedList =
    options.wide === true
      ? await cluster.listAll('AzureAssignedIdentity')
      : { items: [], unreadable: [] };
  const identities = identityList.items;
  const bindings = bindingList.items;
  const unreadable = [
    ...identityList.unreadable,
    ...bindingList.unreadable,
    ...assignedList.unreadable,
  ];
  try {
    writePodIdentities(
      context,
      options,
      { identities, bindings, assigned: assignedList.items },
      unreadable,
    );
  } finally {
    context.reportUnreadable(unreadable);
  }
}

function writePodIdentities(
  context: CommandContext,
  options: ListPodIdentitiesOptions,
  objects: {
    identities: AzureIdentity[];
    bindings: AzureIdentityBinding[];
    assigned: AzureAssignedIdentity[];
  },
  unreadable: readonly UnreadableObject[],
): void {
  const { identities, bindings, assigned } = objects;
  const key = (o: { metadata: { namespace?: string; name: string } }): string =>
    `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  identities.sort((a, b) => key(a).localeCompare(key(b)));
  bindings.sort((a, b) => key(a).localeCompare(key(b)));
  if (options.output !== 'table') {
    context.stdout.write(
      formatData(
        {
          identities: identities.map((i) => serializePodIdentityObject(i)),
          bindings: bindings.map((b) => serializePodIdentityObject(b)),
          ...(unreadable.length === 0 ? {} : { unreadable: unreadableData(unreadable) }),
        },
        options.output,
      ),
    );
    return;
  }
  if (identities.length === 0 && bindings.length === 0) {
    context.stdout.write(
      `no pod identities${options.namespace === undefined ? '' : ` in namespace ${options.namespace}`}\n`,
    );
    context.stdout.write(renderUnreadable(unreadable));
    return;
  }
  const rows = identities.map((identity) => {
    const own = bindings.filter(
      (b) =>
        b.metadata.namespace === identity.metadata.namespace &&
        b.spec.azureIdentity === identity.metadata.name,
    );
    return [
      identity.metadata.namespace ?? '',
      identity.metadata.name,
      // A federated identity is served by NMI's token exchange, not assigned to scale sets.
      `${identityTypeName(identity.spec.type)}${isFederatedIdentity(identity) ? ' (federated)' : ''}`,
      identity.spec.clientID ?? '',
      own.map((b) => b.spec.selector).join(','),
      identity.spec.resourceID ?? '',
      ...(options.wide === true ? wideListCells(identity, own, assigned) : []),
    ];
  });
  context.stdout.write(
    formatTable(
      [
        'namespace',
        'name',
        'type',
        'client-id',
        'binding-selector',
        'resource-id',
        ...(options.wide === true ? WIDE_LIST_HEADERS : []),
      ],
      rows,
    ),
  );
  const orphans = bindings.filter(
    (b) =>
      !identities.some(
        (i) =>
          i.metadata.namespace === b.metadata.namespace && i.metadata.name === b.spec.azureIdentity,
      ),
  );
  for (const binding of orphans) {
    context.stdout.write(
      `warning: binding ${key(binding)} names azureidentity ${binding.spec.azureIdentity}, which does not exist in its namespace\n`,
    );
  }
  context.stdout.write(renderUnreadable(unreadable));
}

function identityTypeName(type: number): string {
  switch (type) {
    case IdentityType.UserAssignedMSI:
      return 'UserAssignedMSI';
    case IdentityType.ServicePrincipal:
      return 'ServicePrincipal';
    case IdentityType.ServicePrincipalCertificate:
      return 'ServicePrincipalCertificate';
    default:
      return String(type);
  }
}
