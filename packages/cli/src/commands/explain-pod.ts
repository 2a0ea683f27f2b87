import {
  AssignedIdentityState,
  POD_LABEL_KEY,
  authorize,
  findException,
  isFederatedIdentity,
  isSameResourceId,
  matchedExceptionLabels,
  type AuthorizationDecision,
  type AuthorizationPod,
  type AuthorizationView,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type ExceptionMatch,
  type IdentitySelector,
} from '@pod-identity/core';
import { scaleSetIdentities } from '../azure-access.js';
import { CliError } from '../cli-error.js';
import { checkNamespace, resolveMode, type CommandContext } from '../command-context.js';
import type { ClusterClient, UnreadableObject } from '../cluster-client.js';
import { formatData, formatTable, type OutputFormat } from '../output-format.js';
import {
  renderUnreadable,
  unreadableData,
  type UnreadableObjectData,
} from '../unreadable-objects.js';
import { formatLabels } from './exception-commands.js';
import { scaleSetOfNode } from './node-scale-sets.js';

/** Options of `pod-identity explain`. */
export interface ExplainOptions {
  namespace: string;
  mode?: string;
  /** Skip the ARM look-up of the node's scale set. */
  skipAzure?: boolean;
  /** The exception rule NMI runs with (`--exception-match`). Default `any`, NMI's default. */
  exceptionMatch?: ExceptionMatch;
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
  /**
   * The exception that applies under `exceptionRule`: its labels and those the pod carries; `null`
   * when none does.
   */
  exception: { name: string; podLabels: string; matchedLabels: string } | null;
  /**
   * Which exception rule was applied (`any`: one label suffices, NMI's default and the original's
   * rule; `all`: every label), and which exception (if any) the other rule would apply.
   */
  exceptionRule: {
    rule: ExceptionMatch;
    otherRule: { rule: ExceptionMatch; exception: string | null };
  };
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
    /**
     * Served by federation (annotation `aadpodidentity.k8s.io/federated: "true"`): MIC records and
     * assigns nothing; NMI exchanges the pod's service-account token.
     */
    federated: boolean;
    onNodeScaleSet: string;
  }[];
  assignedIdentities: {
    namespace: string;
    name: string;
    identity: string;
    state: string;
    node: string;
    /**
     * MIC's last assignment error for the record (its latest `binding apply error` event on the
     * record, or on the pod), while the record is not `Assigned`; `null` when there is none.
     */
    lastError: string | null;
  }[];
  /**
   * NMI's answer per request, as its default `--refusal-style=imds` sends it: `200` with a token;
   * `400` (`Identity not found`) when nothing in flight can change the refusal; `503` +
   * `Retry-After` while MIC may still create or assign the record; `null` when the request is passed
   * to the node's IMDS. In words, and why.
   */
  nmi: { request: string; status: number | null; answer: string; reason: string | null }[];
  /**
   * The overall answer for the pod: `yes` (a request naming no identity gets a token), `waiting`
   * (MIC has work in flight), `no` (it will not resolve as things are: `why`, and `fix` says what to
   * change), or `exception` (an AzurePodIdentityException sends the pod to the node's IMDS).
   */
  verdict: { resolves: 'yes' | 'waiting' | 'no' | 'exception'; why: string; fix: string | null };
  /** What could not be checked, in one line each (e.g. ARM without an Azure login). */
  notes: string[];
  /**
   * Objects that may concern this pod but do not parse (bindings its label could match, their
   * identities, its records, exceptions of its namespace), with why; NMI and MIC leave them out.
   */
  unreadable: UnreadableObjectData[];
  /** How many other objects of the cluster could not be read (they do not concern this pod). */
  otherUnreadable: number;
}

/** The pod-identity objects explain decides from, read leniently. */
interface ClusterObjects {
  bindings: AzureIdentityBinding[];
  identities: AzureIdentity[];
  records: AzureAssignedIdentity[];
  exceptions: AzurePodIdentityException[];
  unreadable: UnreadableObject[];
}

async function readClusterObjects(
  cluster: ClusterClient,
  namespace: string,
): Promise<ClusterObjects> {
  const [bindings, identities, records, exceptions] = await Promise.all([
    cluster.listAll('AzureIdentityBinding'),
    cluster.listAll('AzureIdentity'),
    cluster.listAll('AzureAssignedIdentity'),
    cluster.listAll('AzurePodIdentityException', namespace),
  ]);
  return {
    bindings: bindings.items,
    identities: identities.items,
    records: records.items,
    exceptions: exceptions.items,
    unreadable: [
      ...bindings.unreadable,
      ...identities.unreadable,
      ...records.unreadable,
      ...exceptions.unreadable,
    ],
  };
}

function field(raw: unknown, ...path: string[]): unknown {
  let at: unknown = raw;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * Whether an unreadable object may concern the pod: a binding whose selector is the pod's label or
 * cannot be read (a pre-1.6 binding pruned of `Selector`), in scope for the mode; an identity one of
 * the pod's bindings names; a record of the pod (by its pod fields, or its name for records of the
 * Go MIC 1.5, which lose `podNamespace`); any exception of the pod's namespace.
 */
function concernsPod(
  object: UnreadableObject,
  pod: { namespace: string; name: string; selector: string | null },
  mode: 'standard' | 'managed',
  bindings: readonly AzureIdentityBinding[],
): boolean {
  switch (object.kind) {
    case 'AzureIdentityBinding': {
      if (pod.selector === null) return false;
      if (mode === 'managed' && object.namespace !== pod.namespace) return false;
      const selector = field(object.raw, 'spec', 'selector');
      return typeof selector !== 'string' || selector === pod.selector;
    }
    case 'AzureIdentity':
      return bindings.some(
        (b) => b.metadata.namespace === object.namespace && b.spec.azureIdentity === object.name,
      );
    case 'AzureAssignedIdentity': {
      const recordPod = field(object.raw, 'spec', 'pod');
      const recordNamespace = field(object.raw, 'spec', 'podNamespace');
      return (
        (recordPod === pod.name &&
          (recordNamespace === undefined || recordNamespace === pod.namespace)) ||
        object.name.startsWith(`${pod.name}-${pod.namespace}-`)
      );
    }
    case 'AzurePodIdentityException':
      return object.namespace === pod.namespace;
  }
}

/** The exception under the chosen rule, and which one the other rule would pick if different. */
function explainException(
  pod: AuthorizationPod,
  exceptions: readonly AzurePodIdentityException[],
  rule: ExceptionMatch,
): Pick<PodExplanation, 'exception' | 'exceptionRule'> {
  const otherRule = rule === 'any' ? 'all' : 'any';
  const exception = findException(pod, exceptions, rule);
  const other = findException(pod, exceptions, otherRule);
  return {
    exception:
      exception === undefined
        ? null
        : {
            name: exception.metadata.name,
            podLabels: formatLabels(exception.spec.podLabels),
            matchedLabels: formatLabels(
              Object.fromEntries(matchedExceptionLabels(pod, exception, rule)),
            ),
          },
    exceptionRule: {
      rule,
      otherRule: { rule: otherRule, exception: other?.metadata.name ?? null },
    },
  };
}

/** The reason of MIC's Warning events about a failed assignment (on the binding, record and pod). */
const BINDING_APPLY_ERROR = 'binding apply error';

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
  // Read leniently: an object that does not parse is named (when it may concern this pod), never a
  // reason to fail the explanation of an unrelated pod.
  const objects = await readClusterObjects(cluster, options.namespace);
  const allBindings = objects.bindings;
  const allIdentities = objects.identities;
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
  const records = objects.records.filter(
    (r) => r.spec.pod === podName && r.spec.podNamespace === options.namespace,
  );
  const lastErrorOf = await micErrors(cluster, options.namespace, podName, records);
  const concerning = objects.unreadable.filter((object) =>
    concernsPod(object, { namespace: options.namespace, name: podName, selector }, mode, bindings),
  );

  const nodeName = pod.spec?.nodeName ?? '';
  const membership = await scaleSetMembership(
    context,
    nodeName,
    boundIdentities,
    options.skipAzure === true,
  );
  const onScaleSet = membership.of;

  const authorizationPod = {
    namespace: options.namespace,
    name: podName,
    phase: pod.status?.phase ?? 'Unknown',
    labels,
    ...(pod.metadata?.uid === undefined ? {} : { uid: pod.metadata.uid }),
  };
  const exceptionMatch = options.exceptionMatch ?? 'any';
  const view: AuthorizationView = {
    mode,
    exceptionMatch,
    exceptions: () => objects.exceptions,
    assignedIdentities: () => records,
    bindings: (namespace) => allBindings.filter((b) => b.metadata.namespace === namespace),
    identities: (namespace) => allIdentities.filter((i) => i.metadata.namespace === namespace),
    // As NMI: a refusal is final when no binding selecting the pod still lacks its record, and
    // standard mode finds federated identities, which MIC never records, through the bindings.
    bindingsSelecting: (value) => allBindings.filter((b) => b.spec.selector === value),
  };
  const requests: { label: string; identity: IdentitySelector }[] = [
    { label: 'no identity named', identity: { kind: 'none' } },
  ];
  for (const identity of boundIdentities) {
    const clientId = identity.spec.clientID ?? '';
    if (clientId !== '')
      requests.push({ label: `client_id=${clientId}`, identity: { kind: 'clientId', clientId } });
  }
  const subject = `system:serviceaccount:${options.namespace}:${pod.spec?.serviceAccountName ?? 'default'}`;
  const nmi = requests.map(({ label, identity }) =>
    describeDecision(label, authorize(authorizationPod, identity, view), subject),
  );
  const exception = findException(authorizationPod, objects.exceptions, exceptionMatch);

  const assignedIdentities = records.map((r) => ({
    namespace: r.metadata.namespace ?? '',
    name: r.metadata.name,
    identity: `${r.spec.azureIdentityRef.metadata.namespace ?? ''}/${r.spec.azureIdentityRef.metadata.name}`,
    state: r.status?.status ?? '',
    node: r.spec.nodename,
    lastError: lastErrorOf(r),
  }));
  const bindingRows = bindings.map((b) => ({
    namespace: b.metadata.namespace ?? '',
    name: b.metadata.name,
    azureIdentity: b.spec.azureIdentity,
    selector: b.spec.selector,
    identityExists: allIdentities.some(
      (i) =>
        i.metadata.namespace === b.metadata.namespace && i.metadata.name === b.spec.azureIdentity,
    ),
  }));
  const verdict = verdictOf({
    podName: `${options.namespace}/${podName}`,
    phase: authorizationPod.phase,
    selector,
    mode,
    exception,
    bindings: bindingRows,
    assignedIdentities,
    firstAnswer: nmi[0],
    knownSelectors: [...new Set(allBindings.map((b) => b.spec.selector))].sort(),
  });

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
    ...explainException(authorizationPod, objects.exceptions, exceptionMatch),
    bindings: bindingRows,
    identities: boundIdentities.map((i) => ({
      namespace: i.metadata.namespace ?? '',
      name: i.metadata.name,
      clientId: i.spec.clientID ?? '',
      resourceId: i.spec.resourceID ?? '',
      federated: isFederatedIdentity(i),
      onNodeScaleSet: isFederatedIdentity(i) ? 'n/a (federated)' : onScaleSet(i),
    })),
    assignedIdentities,
    nmi,
    verdict,
    notes: membership.note === undefined ? [] : [membership.note],
    unreadable: unreadableData(concerning),
    otherUnreadable: objects.unreadable.length - concerning.length,
  };
  if (options.output === 'table') context.stdout.write(renderExplanation(explanation));
  else context.stdout.write(formatData(explanation, options.output));
  context.reportUnreadable(concerning);
}

function describeDecision(
  request: string,
  decision: AuthorizationDecision,
  subject: string,
): PodExplanation['nmi'][number] {
  switch (decision.kind) {
    case 'identity':
      return {
        request,
        status: 200,
        answer: `token for ${decision.identity.metadata.namespace ?? ''}/${decision.identity.metadata.name}${isFederatedIdentity(decision.identity) ? ` by federation as ${subject}` : ''}`,
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
        status: decision.permanent ? 400 : 503,
        answer:
          decision.permanent || decision.waitFor === undefined
            ? 'refused (final)'
            : `not yet (waiting for MIC: identity ${decision.waitFor})`,
        reason: `${decision.reason}: ${decision.message}`,
      };
  }
}

interface VerdictInput {
  podName: string;
  phase: string;
  selector: string | null;
  mode: 'standard' | 'managed';
  exception:
    { metadata: { name: string }; spec: { podLabels: Record<string, string> } } | undefined;
  bindings: PodExplanation['bindings'];
  assignedIdentities: PodExplanation['assignedIdentities'];
  firstAnswer: PodExplanation['nmi'][number] | undefined;
  knownSelectors: string[];
}

// Whether the pod's token requests will resolve, from the most basic cause up, and what to fix.
function verdictOf(input: VerdictInput): PodExplanation['verdict'] {
  const no = (why: string, fix: string | null): PodExplanation['verdict'] => ({
    resolves: 'no',
    why: `will not resolve: ${why}`,
    fix,
  });
  if (input.phase !== 'Running' && input.phase !== 'Pending')
    return no(`the pod is ${input.phase}`, null);
  if (input.exception !== undefined) {
    return {
      resolves: 'exception',
      why: `will not resolve through pod identity: exception ${input.exception.metadata.name} sends the pod's requests to the node's IMDS unchanged`,
      fix: `if the pod should get a pod identity, remove its labels ${formatLabels(input.exception.spec.podLabels)} or the exception`,
    };
  }
  const selectors =
    input.knownSelectors.length === 0
      ? 'no binding exists yet'
      : `selectors of existing bindings: ${input.knownSelectors.slice(0, 5).join(', ')}${input.knownSelectors.length > 5 ? ', …' : ''}`;
  if (input.selector === null)
    return no(
      `the pod has no ${POD_LABEL_KEY} label`,
      `label the pod ${POD_LABEL_KEY}=<selector of an AzureIdentityBinding> (${selectors})`,
    );
  if (input.bindings.length === 0) {
    const where = input.mode === 'managed' ? ' in its namespace' : '';
    return no(
      `no AzureIdentityBinding${where} selects ${POD_LABEL_KEY}=${input.selector}`,
      `create an AzureIdentityBinding with selector ${input.selector}, or relabel the pod (${selectors})`,
    );
  }
  const missing = input.bindings.filter((b) => !b.identityExists);
  if (missing.length === input.bindings.length) {
    const names = missing.map((b) => `${b.namespace}/${b.azureIdentity}`).join(', ');
    return no(
      `the AzureIdentity its binding names does not exist (${names})`,
      `create the AzureIdentity ${names}, or correct the binding's azureIdentity`,
    );
  }
  if (input.firstAnswer?.status === 200)
    return { resolves: 'yes', why: `resolves: ${input.firstAnswer.answer}`, fix: null };
  const failed = input.assignedIdentities.find((a) => a.lastError !== null);
  if (failed !== undefined)
    return no(
      `MIC could not assign ${failed.identity} to the node: ${failed.lastError ?? ''}`,
      "fix what MIC reports (e.g. the identity exists, and MIC's identity may assign it: Managed Identity Operator on it); MIC retries on its own",
    );
  if (input.firstAnswer?.status === 400)
    return no(input.firstAnswer.reason ?? 'NMI refuses it', null);
  return {
    resolves: 'waiting',
    why: `waiting for MIC: ${input.assignedIdentities.length === 0 ? 'no AzureAssignedIdentity yet' : `AzureAssignedIdentity ${input.assignedIdentities.map((a) => `${a.name} ${a.state || 'without state'}`).join(', ')}`}`,
    fix: null,
  };
}

// MIC's latest assignment error for each record, from its Warning events on the record or the pod.
async function micErrors(
  cluster: ReturnType<CommandContext['cluster']>,
  podNamespace: string,
  podName: string,
  records: readonly AzureAssignedIdentity[],
): Promise<(record: AzureAssignedIdentity) => string | null> {
  const pending = records.filter((r) => r.status?.status !== AssignedIdentityState.Assigned);
  if (pending.length === 0) return () => null;
  const namespaces = [
    ...new Set([podNamespace, ...pending.map((r) => r.metadata.namespace ?? '')]),
  ];
  const events = (await Promise.all(namespaces.map((ns) => cluster.listEvents(ns)))).flat();
  const latest = (kind: string, namespace: string, name: string): string | null => {
    let found: { at: string; message: string } | undefined;
    for (const event of events) {
      const object = event.involvedObject;
      if (event.reason !== BINDING_APPLY_ERROR || object.kind !== kind) continue;
      if (object.name !== name || (object.namespace ?? '') !== namespace) continue;
      const at = String(event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? '');
      if (found === undefined || at >= found.at) found = { at, message: event.message ?? '' };
    }
    return found?.message ?? null;
  };
  const onPod = latest('Pod', podNamespace, podName);
  return (record) =>
    record.status?.status === AssignedIdentityState.Assigned
      ? null
      : (latest('AzureAssignedIdentity', record.metadata.namespace ?? '', record.metadata.name) ??
        onPod);
}

async function scaleSetMembership(
  context: CommandContext,
  nodeName: string,
  identities: readonly AzureIdentity[],
  skipAzure: boolean,
): Promise<{ of: (identity: AzureIdentity) => string; note?: string }> {
  const all = (text: string) => ({ of: () => text });
  if (identities.length === 0) return all('');
  if (nodeName === '') return all('unknown: pod not scheduled');
  if (skipAzure) return all('not checked (--skip-azure)');
  const node = await context.cluster().getNode(nodeName);
  if (node === undefined) return all(`unknown: node ${nodeName} not found`);
  const scaleSet = scaleSetOfNode(node);
  if (scaleSet === undefined) return all(`unknown: node ${nodeName} is not a scale-set instance`);
  let present: string[];
  try {
    present = await scaleSetIdentities(scaleSet, await context.azure(), context.abortSignal);
  } catch (error) {
    // A missing Azure login is the usual cause: one line and the way around it, never the whole
    // credential chain's report in every cell.
    if (isCredentialError(error)) {
      return {
        of: () => 'unknown: no Azure login',
        note: "Azure: the node's scale set was not checked: no Azure login (az login, or AZURE_* variables); pass --skip-azure to skip this check",
      };
    }
    const line = firstLine((error as Error).message);
    return {
      of: () => 'unknown: ARM error',
      note: `Azure: the node's scale set was not checked: ${line}; pass --skip-azure to skip this check`,
    };
  }
  return {
    of: (identity) => {
      const id = identity.spec.resourceID ?? '';
      if (id === '') return 'n/a (not a managed identity)';
      return present.some((p) => isSameResourceId(p, id))
        ? `yes (${scaleSet.name})`
        : `no (${scaleSet.name})`;
    },
  };
}

// @azure/identity's failures to get the administrator's token (no credential in the chain worked),
// also when wrapped (the ARM read wraps what it caught as its cause).
const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
  'AuthenticationError',
]);

function isCredentialError(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const { name, cause } = e as { name?: unknown; cause?: unknown };
    if (typeof name === 'string' && CREDENTIAL_ERRORS.has(name)) return true;
    e = cause;
  }
  return false;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]?.trim() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
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
  lines.push(`Verdict:    ${e.verdict.why}`);
  if (e.verdict.fix !== null) lines.push(`Fix:        ${e.verdict.fix}`);
  lines.push(`Exception:  ${describeExceptionLine(e)}`);
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
            ['namespace', 'name', 'client-id', 'served-by', 'on-node-scale-set'],
            e.identities.map((i) => [
              i.namespace,
              i.name,
              i.clientId,
              i.federated ? 'federation' : 'assignment',
              i.onNodeScaleSet,
            ]),
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
  for (const a of e.assignedIdentities) {
    if (a.lastError !== null) lines.push(`  MIC's last error for ${a.name}: ${a.lastError}`);
  }
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
  const unreadable = renderUnreadable(
    e.unreadable.map((o) => ({ ...o, kind: o.kind as UnreadableObject['kind'], raw: undefined })),
    'Could not read, and may concern this pod',
  );
  if (unreadable !== '') lines.push(unreadable);
  if (e.otherUnreadable > 0) {
    lines.push(
      `(${String(e.otherUnreadable)} other object${e.otherUnreadable === 1 ? '' : 's'} of the cluster could not be read; \`pod-identity list\` and \`pod-identity exception list\` name them)`,
    );
  }
  for (const note of e.notes) lines.push(`Note: ${note}`);
  return `${lines.map((line) => line.replace(/\n$/, '')).join('\n')}\n`;
}

const RULE_WORDS: Record<ExceptionMatch, string> = {
  any: 'any one of its labels',
  all: 'every one of its labels',
};

/** The `Exception:` line: which exception applies, by which labels, under which rule. */
function describeExceptionLine(e: PodExplanation): string {
  const { rule, otherRule } = e.exceptionRule;
  const ruleText = `rule: ${RULE_WORDS[rule]} (NMI --exception-match=${rule})`;
  const other =
    otherRule.exception === (e.exception?.name ?? null)
      ? ''
      : `; under --exception-match=${otherRule.rule}: ${otherRule.exception ?? '<none>'}`;
  if (e.exception === null) return `<none> (${ruleText}${other})`;
  return `${e.exception.name} (${e.exception.podLabels}): the pod carries ${e.exception.matchedLabels} and reaches IMDS directly (${ruleText}${other})`;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
