// Property: pods come and go under the same names (deleted and created again with a new UID, a new
// label, the same or another IP) and are relabelled, while MIC's records lag behind (MIC slow or
// down) and are written either with the pod UID (this MIC) or without it (the original MIC). This
// MIC is MIC's own planner (planAssignments, toAssignedIdentity) run on the model's pods, with any
// part of each plan applied (MIC stopped half-way, or failing over) and records reaching Assigned
// in any order. A request from an address is answered through the pod index and authorize(), as
// NMI does, and is never answered with an identity that the calling pod's current label does not
// bind.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssignedIdentityState } from '../crd/constants.js';
import type { AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding } from '../crd/types.js';
import type { IdentitySelector } from '../imds/identity-selector.js';
import { planAssignments, toAssignedIdentity } from '../planner/plan-assignments.js';
import { authorize, type AuthorizationView } from './authorize.js';
import { PodIndex } from './pod-index.js';

const NAMESPACES = ['ns1', 'ns2'] as const;
const POD_NAMES = ['p1', 'p2'] as const;
const SELECTORS = ['s1', 's2', 's3'] as const;
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'] as const;

type PodKey = `${(typeof NAMESPACES)[number]}/${(typeof POD_NAMES)[number]}`;
const POD_KEYS: PodKey[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((n): PodKey => `${ns}/${n}`));

interface ModelPod {
  uid: string;
  label: string | null;
  ip: string;
  phase: 'Running' | 'Pending' | 'Succeeded';
}

type Operation =
  /** MIC catches up: records for the pods as they are now, in random states. */
  | { op: 'mic'; originalMic: boolean; states: AssignedIdentityState[] }
  /**
   * MIC's planner plans from the pods and records as they are; only the writes flagged in `applied`
   * happen (the rest wait for a later pass), and records flagged in `assigned` reach Assigned.
   */
  | { op: 'plan'; applied: boolean[]; assigned: boolean[] }
  | { op: 'create'; pod: PodKey; label: string | null; ip: string }
  /** Deleted and created again under the same name: new UID, new (or same) label, same or new IP. */
  | {
      op: 'recreate';
      pod: PodKey;
      label: { keep: true } | { keep: false; label: string | null };
      ip: { keep: true } | { keep: false; ip: string };
    }
  | { op: 'relabel'; pod: PodKey; label: string | null }
  | { op: 'finish'; pod: PodKey }
  | { op: 'delete'; pod: PodKey }
  /** A request from an address, or from wherever a pod of that name is now. */
  | { op: 'request'; from: { pod: PodKey } | { ip: string }; requested: IdentitySelector };

const label = fc.option(fc.constantFrom(...SELECTORS));
const podKey = fc.constantFrom(...POD_KEYS);
const ip = fc.constantFrom(...IPS);
const mic = fc.record({
  op: fc.constant('mic' as const),
  originalMic: fc.boolean(),
  states: fc.array(
    fc.constantFrom<AssignedIdentityState>('Created', 'Assigned', 'Assigned', 'Assigned', ''),
    { minLength: 12, maxLength: 12 },
  ),
});
const plan = fc.record({
  op: fc.constant('plan' as const),
  applied: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  assigned: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
});
const requested = fc.oneof(
  fc.constant<IdentitySelector>({ kind: 'none' }),
  fc
    .constantFrom('c-i1', 'c-i2', 'c-i3')
    .map((clientId): IdentitySelector => ({ kind: 'clientId', clientId })),
  fc.constant<IdentitySelector>({ kind: 'objectId', objectId: 'o' }),
);
const request = fc.record({
  op: fc.constant('request' as const),
  from: fc.oneof(
    { arbitrary: podKey.map((pod) => ({ pod })), weight: 4 },
    { arbitrary: ip.map((address) => ({ ip: address })), weight: 1 },
  ),
  requested,
});
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { arbitrary: request, weight: 6 },
  { arbitrary: mic, weight: 1 },
  { arbitrary: plan, weight: 3 },
  fc.record({ op: fc.constant('create' as const), pod: podKey, label, ip }),
  fc.record({
    op: fc.constant('recreate' as const),
    pod: podKey,
    label: fc.oneof(
      fc.constant({ keep: true as const }),
      label.map((l) => ({ keep: false as const, label: l })),
    ),
    ip: fc.oneof(
      fc.constant({ keep: true as const }),
      ip.map((address) => ({ keep: false as const, ip: address })),
    ),
  }),
  fc.record({ op: fc.constant('relabel' as const), pod: podKey, label }),
  fc.record({ op: fc.constant('finish' as const), pod: podKey }),
  fc.record({ op: fc.constant('delete' as const), pod: podKey }),
);

const world = fc.record({
  identities: fc.uniqueArray(
    fc.record({ ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('i1', 'i2', 'i3') }),
    { selector: (i) => `${i.ns}/${i.name}`, minLength: 1, maxLength: 6 },
  ),
  bindings: fc.array(
    fc.record({
      ns: fc.constantFrom(...NAMESPACES),
      identity: fc.constantFrom('i1', 'i2', 'i3'),
      selector: fc.constantFrom(...SELECTORS),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  forceNamespaced: fc.boolean(),
  /** The pods at the start (one per name, distinct IPs), then MIC's first pass, then the operations. */
  initialLabels: fc.array(label, { minLength: POD_KEYS.length, maxLength: POD_KEYS.length }),
  initialMic: mic,
  operations: fc.array(operation, { minLength: 1, maxLength: 40 }),
});

function makeIdentity(ns: string, name: string): AzureIdentity {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { namespace: ns, name },
    spec: { type: 0, clientID: `c-${name}`, resourceID: `/subscriptions/s/${ns}/${name}` },
  };
}

function makeBinding(ns: string, n: number, identity: string, selector: string) {
  const binding: AzureIdentityBinding = {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { namespace: ns, name: `b${String(n)}` },
    spec: { azureIdentity: identity, selector },
  };
  return binding;
}

function key(i: AzureIdentity): string {
  return `${i.metadata.namespace ?? ''}/${i.metadata.name}`;
}

describe('authorize with the pod index, property: pods re-created and relabelled while MIC lags', () => {
  it('never answers with an identity the calling pod’s current label does not bind', () => {
    fc.assert(
      fc.property(world, (w) => {
        const identities = w.identities.map((i) => makeIdentity(i.ns, i.name));
        const bindings = w.bindings.map((b, n) => makeBinding(b.ns, n, b.identity, b.selector));
        const pods = new Map<PodKey, ModelPod>();
        const index = new PodIndex();
        let records: AzureAssignedIdentity[] = [];
        let uids = 0;
        const view: AuthorizationView = {
          mode: 'standard',
          forceNamespaced: w.forceNamespaced,
          exceptions: () => [],
          assignedIdentities: (ns, name) =>
            records.filter((r) => r.spec.podNamespace === ns && r.spec.pod === name),
          bindings: () => [],
          identities: () => [],
        };
        const publish = (podKey: PodKey, pod: ModelPod): void => {
          const [namespace, name] = podKey.split('/') as [string, string];
          index.upsert({
            namespace,
            name,
            uid: pod.uid,
            phase: pod.phase,
            podIPs: [pod.ip],
            labels: pod.label === null ? {} : { aadpodidbinding: pod.label },
          });
        };

        POD_KEYS.forEach((podKey, n) => {
          const pod: ModelPod = {
            uid: `uid-${String(++uids)}`,
            label: w.initialLabels[n] ?? null,
            ip: IPS[n] ?? '10.0.0.9',
            phase: 'Running',
          };
          pods.set(podKey, pod);
          publish(podKey, pod);
        });
        records = micRecords(pods, identities, bindings, w.initialMic);

        for (const step of w.operations) {
          switch (step.op) {
            case 'mic':
              records = micRecords(pods, identities, bindings, step);
              break;
            case 'plan':
              records = plannedRecords(pods, identities, bindings, records, {
                step,
                forceNamespaced: w.forceNamespaced,
              });
              break;
            case 'create':
              if (pods.has(step.pod)) break;
              pods.set(step.pod, {
                uid: `uid-${String(++uids)}`,
                label: step.label,
                ip: step.ip,
                phase: 'Running',
              });
              publish(step.pod, pods.get(step.pod)!);
              break;
            case 'recreate': {
              const old = pods.get(step.pod);
              if (old === undefined) break;
              const [namespace, name] = step.pod.split('/') as [string, string];
              index.remove(namespace, name);
              const next: ModelPod = {
                uid: `uid-${String(++uids)}`,
                label: step.label.keep ? old.label : step.label.label,
                ip: step.ip.keep ? old.ip : step.ip.ip,
                phase: 'Pending',
              };
              pods.set(step.pod, next);
              publish(step.pod, next);
              break;
            }
            case 'relabel': {
              const old = pods.get(step.pod);
              if (old === undefined) break;
              const next = { ...old, label: step.label };
              pods.set(step.pod, next);
              publish(step.pod, next);
              break;
            }
            case 'finish': {
              const old = pods.get(step.pod);
              if (old === undefined) break;
              const next = { ...old, phase: 'Succeeded' as const };
              pods.set(step.pod, next);
              publish(step.pod, next);
              break;
            }
            case 'delete': {
              if (!pods.delete(step.pod)) break;
              const [namespace, name] = step.pod.split('/') as [string, string];
              index.remove(namespace, name);
              break;
            }
            case 'request': {
              const from = 'ip' in step.from ? step.from.ip : pods.get(step.from.pod)?.ip;
              if (from === undefined) break;
              checkRequest(from, step.requested, {
                pods,
                index,
                view,
                records,
                bindings,
                forceNamespaced: w.forceNamespaced,
              });
              break;
            }
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

/** What MIC would write for the pods as they are, in random states; `originalMic` omits the pod UID. */
function micRecords(
  pods: ReadonlyMap<PodKey, ModelPod>,
  identities: readonly AzureIdentity[],
  bindings: readonly AzureIdentityBinding[],
  step: Extract<Operation, { op: 'mic' }>,
): AzureAssignedIdentity[] {
  const out: AzureAssignedIdentity[] = [];
  let n = 0;
  for (const [podKey, pod] of pods) {
    if (pod.label === null || pod.phase === 'Succeeded') continue;
    const [namespace, name] = podKey.split('/') as [string, string];
    for (const binding of bindings) {
      if (binding.spec.selector !== pod.label) continue;
      const identity = identities.find(
        (i) =>
          i.metadata.namespace === binding.metadata.namespace &&
          i.metadata.name === binding.spec.azureIdentity,
      );
      if (identity === undefined) continue;
      out.push({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureAssignedIdentity',
        metadata: {
          namespace: 'default',
          name: `${name}-${namespace}-${identity.metadata.name}`,
          ...(step.originalMic
            ? {}
            : { annotations: { 'aadpodidentity.k8s.io/pod-uid': pod.uid } }),
        },
        spec: {
          azureIdentityRef: identity,
          azureBindingRef: binding,
          pod: name,
          podNamespace: namespace,
          nodename: 'node-0',
        },
        status: { status: step.states[n++ % step.states.length] ?? 'Created' },
      });
    }
  }
  return out;
}

/**
 * What this MIC leaves after one pass of its planner over the model's pods and the current records,
 * when only the creates, updates and deletes flagged in `step.applied` are written, and the records
 * flagged in `step.assigned` (new, rewritten or waiting) reach Assigned.
 */
function plannedRecords(
  pods: ReadonlyMap<PodKey, ModelPod>,
  identities: readonly AzureIdentity[],
  bindings: readonly AzureIdentityBinding[],
  records: readonly AzureAssignedIdentity[],
  options: { step: Extract<Operation, { op: 'plan' }>; forceNamespaced: boolean },
): AzureAssignedIdentity[] {
  const plannerPods = [...pods]
    .filter(([, pod]) => pod.label !== null)
    .map(([podKey, pod]) => {
      const [namespace, name] = podKey.split('/') as [string, string];
      return {
        namespace,
        name,
        uid: pod.uid,
        nodeName: 'node-0',
        selector: pod.label ?? '',
        phase: pod.phase,
      };
    });
  const plan = planAssignments(
    { pods: plannerPods, identities, bindings, assignedIdentities: records },
    { forceNamespaced: options.forceNamespaced },
  );
  let n = 0;
  const flag = (flags: readonly boolean[]): boolean => flags[n++ % flags.length] ?? false;
  const recordKey = (r: { metadata: { namespace?: string; name: string } }): string =>
    `${r.metadata.namespace ?? ''}/${r.metadata.name}`;
  const next = new Map(records.map((r) => [recordKey(r), r]));
  const settle = (record: AzureAssignedIdentity): AzureAssignedIdentity =>
    flag(options.step.assigned) ? { ...record, status: { status: 'Assigned' } } : record;
  for (const record of plan.deletes) if (flag(options.step.applied)) next.delete(recordKey(record));
  for (const update of plan.updates) {
    if (!flag(options.step.applied)) continue;
    const record = settle(toAssignedIdentity(update.desired, update.current));
    next.set(recordKey(record), record);
  }
  for (const desired of plan.creates) {
    if (!flag(options.step.applied)) continue;
    const record = settle(toAssignedIdentity(desired));
    next.set(recordKey(record), record);
  }
  for (const desired of plan.pending) {
    if (desired.current === undefined) continue;
    next.set(recordKey(desired.current), settle(desired.current));
  }
  return [...next.values()];
}

interface RequestContext {
  pods: ReadonlyMap<PodKey, ModelPod>;
  index: PodIndex;
  view: AuthorizationView;
  records: readonly AzureAssignedIdentity[];
  bindings: readonly AzureIdentityBinding[];
  forceNamespaced: boolean;
}

function checkRequest(ip: string, requested: IdentitySelector, context: RequestContext): void {
  // The pod index agrees with the model on who owns the address: one live pod, or nobody.
  const owners = [...context.pods].filter(
    ([, pod]) => pod.ip === ip && (pod.phase === 'Running' || pod.phase === 'Pending'),
  );
  const found = context.index.lookup(ip);
  if (owners.length === 0) {
    expect(found.kind).toBe('unknown');
    return;
  }
  if (owners.length > 1) {
    expect(found.kind).toBe('shared');
    return;
  }
  const [ownerKey, owner] = owners[0]!;
  expect(found.kind).toBe('pod');
  if (found.kind !== 'pod') return;
  expect(found.pod.uid).toBe(owner.uid);
  expect(`${found.pod.namespace}/${found.pod.name}`).toBe(ownerKey);

  const decision = authorize(found.pod, requested, context.view);
  const served: AzureIdentity[] =
    decision.kind === 'identity'
      ? [decision.identity]
      : decision.kind === 'object-id'
        ? [...decision.candidates]
        : [];
  expect(decision.kind).not.toBe('exception');

  // The guarantee: every identity served is bound by the pod's current label.
  for (const identity of served) {
    expect(owner.label).not.toBeNull();
    const bound = context.bindings.some(
      (b) =>
        b.spec.selector === owner.label &&
        b.metadata.namespace === identity.metadata.namespace &&
        b.spec.azureIdentity === identity.metadata.name,
    );
    expect(bound).toBe(true);
  }

  // And exactly the reference model's answer.
  const allowed = reference(ownerKey, owner, requested, context);
  if (decision.kind === 'identity') {
    expect(key(decision.identity)).toBe(allowed.map(key).sort()[0]);
  } else if (decision.kind === 'object-id') {
    expect(decision.candidates.map(key)).toEqual([...new Set(allowed.map(key))].sort());
  } else {
    expect(allowed).toEqual([]);
  }
}

// The rules written out plainly: a record serves the pod if it names the pod, is Assigned (or
// legacy), its binding's selector is the pod's current label, and its pod UID, if any, is the pod's.
function reference(
  podKey: PodKey,
  pod: ModelPod,
  requested: IdentitySelector,
  context: RequestContext,
): AzureIdentity[] {
  const [namespace, name] = podKey.split('/') as [string, string];
  if (pod.label === null) return [];
  return context.records
    .filter((r) => r.spec.pod === name && r.spec.podNamespace === namespace)
    .filter((r) => r.status?.status === 'Assigned' || r.status?.status === '')
    .filter((r) => r.spec.azureBindingRef.spec.selector === pod.label)
    .filter((r) => {
      const uid = r.metadata.annotations?.['aadpodidentity.k8s.io/pod-uid'];
      return uid === undefined || uid === pod.uid;
    })
    .map((r) => r.spec.azureIdentityRef)
    .filter((i) => !context.forceNamespaced || i.metadata.namespace === namespace)
    .filter(
      (i) =>
        requested.kind !== 'clientId' ||
        (i.spec.clientID ?? '').toLowerCase() === requested.clientId.toLowerCase(),
    );
}
