import {
  POD_LABEL_KEY,
  authorize,
  findException,
  isSameResourceId,
  type AuthorizationDecision,
  type AuthorizationView,
  type AzureIdentity,
  type IdentitySelector,
} from '@pod-identity/core';
import { scaleSetIdentities } from '../azure-access.js';
import { CliError } from '../cli-error.js';
import { checkNamespace, resolveMode, type CommandContext } from '../command-context.js';
import { formatData, formatTable, type OutputFormat } from '../output-format.js';
import { formatLabels } from './exception-commands.js';
import { scaleSetOfNode } from './node-scale-sets.js';

/** Options of `pod-identity explain`. */
export interface ExplainOptions {
  namespace: string;
  mode?: string;
  /** Skip the ARM look-up of the node's scale set. */
  skipAzure?: boolean;
  output: OutputFormat;
}

/** Why a pod gets (or does not get) a token: everything `explain` found, as `-o json` prints it. */
export interface PodExplanation {
  pod: {
    namespace: string;
    name: string;
    phase: string;
    node: string;
    podIP: string;
    selector: string | null;
  };
  mode: 'standard' | 'managed';
  exception: { name: string; podLabels: string } | null;
  bindings: {
    namespace: string;
    name: string;
    azureIdentity: string;
    selector: string;
    identityExists: boolean;
  }[];
  identities: {
    namespace: string;
    name: string;
    clientId: string;
    resourceId: string;
    onNodeScaleSet: string;
  }[];
  assignedIdentities: {
    namespace: string;
    name: string;
    identity: string;
    state: string;
    node: string;
  }[];
  /**
   * NMI's answer per request: the HTTP status it sends (`200` with a token; `404` when refused,
   * `503` + `Retry-After` instead when NMI runs with `--set-retry-after-header` and MIC may still
   * assign; `null` when the request is passed to the node's IMDS), in words, and why.
   */
  nmi: { request: string; status: number | null; answer: string; reason: string | null }[];
}

/**
 * `pod-identity explain <pod>`: the bindings the pod's `aadpodidbinding` label matches, their
 * identities, the AzureAssignedIdentity records for the pod and their states, whether each identity
 * is on the node's scale set (from ARM), and what NMI would answer (core's `authorize()`, the same
 * decision NMI makes) for a request naming no identity and for each identity by client ID.
 */
export async function explainPod(
  context: CommandContext,
  podName: string,
  options: ExplainOptions,
): Promise<void> {
  checkNamespace(options.namespace);
  const cluster = context.cluster();
  const pod = await cluster.getPod(options.namespace, podName);
  if (pod === undefined) {
    throw new CliError(`pod ${options.namespace}/${podName} not found`, {
      hint: "pass the pod's namespace with -n",
    });
  }
  const mode = await resolveMode(context, options.mode);
  const labels = pod.metadata?.labels ?? {};
  const selector = Object.hasOwn(labels, POD_LABEL_KEY) ? (labels[POD_LABEL_KEY] ?? null) : null;
  const [allBindings, allIdentities, assigned, exceptions] = await Promise.all([
    cluster.list('AzureIdentityBinding'),
    cluster.list('AzureIdentity'),
    cluster.list('AzureAssignedIdentity'),
    cluster.list('AzurePodIdentityException', options.namespace),
  ]);
  // Standard mode: MIC matches bindings of every namespace (unless namespaced); managed: the pod's own.
  const bindings = allBindings.filter(
    (b) =>
      selector !== null &&
      b.spec.selector === selector &&
      (mode === 'standard' || b.metadata.namespace === options.namespace),
  );
  const boundIdentities: AzureIdentity[] = [];
  for (const binding of bindings) {
    const identity = allIdentities.find(
      (i) =>
        i.metadata.namespace === binding.metadata.namespace &&
        i.metadata.name === binding.spec.azureIdentity,
    );
    if (identity !== undefined && !boundIdentities.includes(identity))
      boundIdentities.push(identity);
  }
  const records = assigned.filter(
    (r) => r.spec.pod === podName && r.spec.podNamespace === options.namespace,
  );

  const nodeName = pod.spec?.nodeName ?? '';
  const onScaleSet = await scaleSetMembership(
    context,
    nodeName,
    boundIdentities,
    options.skipAzure === true,
  );

  const authorizationPod = {
    namespace: options.namespace,
    name: podName,
    // Records carry the UID of the pod MIC made them for; NMI compares it.
    ...(pod.metadata?.uid === undefined ? {} : { uid: pod.metadata.uid }),
    phase: pod.status?.phase ?? 'Unknown',
    labels,
  };
  const view: AuthorizationView = {
    mode,
    exceptions: () => exceptions,
    assignedIdentities: () => records,
    bindings: (namespace) => allBindings.filter((b) => b.metadata.namespace === namespace),
    identities: (namespace) => allIdentities.filter((i) => i.metadata.namespace === namespace),
  };
  const requests: { label: string; identity: IdentitySelector }[] = [
    { label: 'no identity named', identity: { kind: 'none' } },
  ];
  for (const identity of boundIdentities) {
    const clientId = identity.spec.clientID ?? '';
    if (clientId !== '')
      requests.push({ label: `client_id=${clientId}`, identity: { kind: 'clientId', clientId } });
  }
  const nmi = requests.map(({ label, identity }) =>
    describeDecision(label, authorize(authorizationPod, identity, view)),
  );
  const exception = findException(authorizationPod, exceptions);

  const explanation: PodExplanation = {
    pod: {
      namespace: options.namespace,
      name: podName,
      phase: authorizationPod.phase,
      node: nodeName,
      podIP: pod.status?.podIP ?? '',
      selector,
    },
    mode,
    exception:
      exception === undefined
        ? null
        : { name: exception.metadata.name, podLabels: formatLabels(exception.spec.podLabels) },
    bindings: bindings.map((b) => ({
      namespace: b.metadata.namespace ?? '',
      name: b.metadata.name,
      azureIdentity: b.spec.azureIdentity,
      selector: b.spec.selector,
      identityExists: allIdentities.some(
        (i) =>
          i.metadata.namespace === b.metadata.namespace && i.metadata.name === b.spec.azureIdentity,
      ),
    })),
    identities: boundIdentities.map((i) => ({
      namespace: i.metadata.namespace ?? '',
      name: i.metadata.name,
      clientId: i.spec.clientID ?? '',
      resourceId: i.spec.resourceID ?? '',
      onNodeScaleSet: onScaleSet(i),
    })),
    assignedIdentities: records.map((r) => ({
      namespace: r.metadata.namespace ?? '',
      name: r.metadata.name,
      identity: `${r.spec.azureIdentityRef.metadata.namespace ?? ''}/${r.spec.azureIdentityRef.metadata.name}`,
      state: r.status?.status ?? '',
      node: r.spec.nodename,
    })),
    nmi,
  };
  if (options.output === 'table') context.stdout.write(renderExplanation(explanation));
  else context.stdout.write(formatData(explanation, options.output));
}

function describeDecision(
  request: string,
  decision: AuthorizationDecision,
): PodExplanation['nmi'][number] {
  switch (decision.kind) {
    case 'identity':
      return {
        request,
        status: 200,
        answer: `token for ${decision.identity.metadata.namespace ?? ''}/${decision.identity.metadata.name}`,
        reason: null,
      };
    case 'object-id':
      return {
        request,
        status: 200,
        answer: `token of the candidate whose object ID is ${decision.objectId}`,
        reason: null,
      };
    case 'exception':
      return {
        request,
        status: null,
        answer: "passed to the node's IMDS unchanged",
        reason: `exception ${decision.exception.metadata.name}`,
      };
    case 'deny':
      return {
        request,
        status: 404,
        answer:
          decision.waitFor === undefined
            ? 'refused'
            : `not yet (waiting for MIC: identity ${decision.waitFor})`,
        reason: `${decision.reason}: ${decision.message}`,
      };
  }
}

async function scaleSetMembership(
  context: CommandContext,
  nodeName: string,
  identities: readonly AzureIdentity[],
  skipAzure: boolean,
): Promise<(identity: AzureIdentity) => string> {
  if (identities.length === 0) return () => '';
  if (nodeName === '') return () => 'unknown: pod not scheduled';
  if (skipAzure) return () => 'not checked (--skip-azure)';
  const node = await context.cluster().getNode(nodeName);
  if (node === undefined) return () => `unknown: node ${nodeName} not found`;
  const scaleSet = scaleSetOfNode(node);
  if (scaleSet === undefined) return () => `unknown: node ${nodeName} is not a scale-set instance`;
  let present: string[];
  try {
    present = await scaleSetIdentities(scaleSet, await context.azure(), context.abortSignal);
  } catch (error) {
    const message = (error as Error).message;
    return () => `unknown: ${message}`;
  }
  return (identity) => {
    const id = identity.spec.resourceID ?? '';
    if (id === '') return 'n/a (not a managed identity)';
    return present.some((p) => isSameResourceId(p, id))
      ? `yes (${scaleSet.name})`
      : `no (${scaleSet.name})`;
  };
}

/** The human-readable form of an explanation. */
export function renderExplanation(e: PodExplanation): string {
  const lines: string[] = [];
  lines.push(
    `Pod:        ${e.pod.namespace}/${e.pod.name} (${e.pod.phase}) on node ${e.pod.node || '<none>'}, IP ${e.pod.podIP || '<none>'}`,
  );
  lines.push(
    `Selector:   ${e.pod.selector === null ? `<none> (no ${POD_LABEL_KEY} label: no binding can match)` : `${POD_LABEL_KEY}=${e.pod.selector}`}`,
  );
  lines.push(`Mode:       ${e.mode}`);
  lines.push(
    `Exception:  ${e.exception === null ? '<none>' : `${e.exception.name} (${e.exception.podLabels}): the pod reaches IMDS directly`}`,
  );
  lines.push('');
  lines.push('Bindings matched:');
  lines.push(
    e.bindings.length === 0
      ? '  <none>'
      : indent(
          formatTable(
            ['namespace', 'name', 'azure-identity', 'selector'],
            e.bindings.map((b) => [
              b.namespace,
              b.name,
              b.identityExists ? b.azureIdentity : `${b.azureIdentity} (missing)`,
              b.selector,
            ]),
          ),
        ),
  );
  lines.push('Identities:');
  lines.push(
    e.identities.length === 0
      ? '  <none>'
      : indent(
          formatTable(
            ['namespace', 'name', 'client-id', 'on-node-scale-set'],
            e.identities.map((i) => [i.namespace, i.name, i.clientId, i.onNodeScaleSet]),
          ),
        ),
  );
  lines.push('Assigned identities (AzureAssignedIdentity):');
  lines.push(
    e.assignedIdentities.length === 0
      ? `  <none>${e.mode === 'managed' ? ' (managed mode has none)' : ''}`
      : indent(
          formatTable(
            ['namespace', 'name', 'identity', 'state'],
            e.assignedIdentities.map((a) => [a.namespace, a.name, a.identity, a.state]),
          ),
        ),
  );
  lines.push('NMI would answer:');
  lines.push(
    indent(
      formatTable(
        ['request', 'status', 'answer', 'reason'],
        e.nmi.map((n) => [
          n.request,
          n.status === null ? 'IMDS' : String(n.status),
          n.answer,
          n.reason ?? '',
        ]),
      ),
    ),
  );
  return `${lines.map((line) => line.replace(/\n$/, '')).join('\n')}\n`;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
