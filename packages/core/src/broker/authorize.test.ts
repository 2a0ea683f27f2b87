import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  AzurePodIdentityException,
} from '../crd/types.js';
import type { AssignedIdentityState } from '../crd/constants.js';
import type { IdentitySelector } from '../imds/identity-selector.js';
import {
  authorize,
  matchedExceptionLabels,
  type AuthorizationPod,
  type AuthorizationView,
} from './authorize.js';

const identity = (
  namespace: string,
  name: string,
  clientID: string,
  annotations?: Record<string, string>,
): AzureIdentity => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { namespace, name, ...(annotations ? { annotations } : {}) },
  spec: {
    type: 0,
    clientID,
    resourceID: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
  },
});
const binding = (
  namespace: string,
  name: string,
  azureIdentity: string,
  selector: string,
): AzureIdentityBinding => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentityBinding',
  metadata: { namespace, name },
  spec: { azureIdentity, selector },
});
// A record as MIC writes it for the pod as it is: the binding's selector is the pod's label.
const assigned = (
  pod: AuthorizationPod,
  id: AzureIdentity,
  state: AssignedIdentityState,
): AzureAssignedIdentity => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureAssignedIdentity',
  metadata: { namespace: 'default', name: `${pod.name}-${pod.namespace}-${id.metadata.name}` },
  spec: {
    azureIdentityRef: id,
    azureBindingRef: binding(
      id.metadata.namespace ?? '',
      'b',
      id.metadata.name,
      pod.labels.aadpodidbinding ?? '',
    ),
    pod: pod.name,
    podNamespace: pod.namespace,
    nodename: 'node-1',
  },
  status: { status: state },
});
const exception = (
  namespace: string,
  name: string,
  podLabels: Record<string, string>,
): AzurePodIdentityException => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzurePodIdentityException',
  metadata: { namespace, name },
  spec: { podLabels },
});

interface State {
  identities?: AzureIdentity[];
  bindings?: AzureIdentityBinding[];
  records?: AzureAssignedIdentity[];
  exceptions?: AzurePodIdentityException[];
}
function view(
  mode: 'standard' | 'managed',
  state: State,
  forceNamespaced = false,
): AuthorizationView {
  return {
    mode,
    forceNamespaced,
    exceptions: (ns) => (state.exceptions ?? []).filter((e) => e.metadata.namespace === ns),
    assignedIdentities: (ns, name) =>
      (state.records ?? []).filter((r) => r.spec.podNamespace === ns && r.spec.pod === name),
    bindings: (ns) => (state.bindings ?? []).filter((b) => b.metadata.namespace === ns),
    identities: (ns) => (state.identities ?? []).filter((i) => i.metadata.namespace === ns),
  };
}

const none: IdentitySelector = { kind: 'none' };
const demo: AuthorizationPod = {
  namespace: 'default',
  name: 'demo',
  phase: 'Running',
  labels: { aadpodidbinding: 'demo' },
};
const idA = identity('default', 'a', 'AAAAAAAA-0000-0000-0000-000000000001');
const idB = identity('default', 'b', 'BBBBBBBB-0000-0000-0000-000000000002');

describe('authorize, standard mode', () => {
  it('serves an Assigned (or legacy) identity recorded for the pod', () => {
    expect(
      authorize(demo, none, view('standard', { records: [assigned(demo, idA, 'Assigned')] })),
    ).toEqual({
      kind: 'identity',
      identity: idA,
    });
    expect(
      authorize(demo, none, view('standard', { records: [assigned(demo, idA, '')] })).kind,
    ).toBe('identity');
  });

  it('waits for MIC: no record yet means wait for created, Created means wait for assigned', () => {
    expect(authorize(demo, none, view('standard', {}))).toMatchObject({
      kind: 'deny',
      reason: 'no-identity',
      waitFor: 'created',
    });
    expect(
      authorize(demo, none, view('standard', { records: [assigned(demo, idA, 'Created')] })),
    ).toMatchObject({
      kind: 'deny',
      reason: 'not-assigned',
      waitFor: 'assigned',
    });
  });

  it('says a refusal is permanent only when no binding selecting the pod still lacks its record', () => {
    const withBindings = (state: State): AuthorizationView => ({
      ...view('standard', state),
      bindingsSelecting: (selector) =>
        (state.bindings ?? []).filter((b) => b.spec.selector === selector),
    });
    const forA = binding('default', 'b', 'a', 'demo');
    const forB = binding('default', 'b2', 'b', 'demo');
    const askB = { kind: 'clientId', clientId: idB.spec.clientID ?? '' } as const;
    // No label: no binding can select the pod.
    expect(
      authorize({ ...demo, labels: {} }, none, withBindings({ bindings: [forA] })),
    ).toMatchObject({ kind: 'deny', reason: 'no-identity', permanent: true });
    // A label no binding selects.
    expect(authorize(demo, none, withBindings({}))).toMatchObject({
      kind: 'deny',
      reason: 'no-identity',
      permanent: true,
      message: expect.stringContaining(
        'no AzureIdentityBinding selects aadpodidbinding=demo',
      ) as string,
    });
    // A binding selects it, its record not written yet: MIC is at work.
    expect(authorize(demo, none, withBindings({ bindings: [forA] }))).toMatchObject({
      permanent: false,
      waitFor: 'created',
    });
    // Every binding has its record and none gives b: final.
    const records = [assigned(demo, idA, 'Assigned')];
    const identities = [idA, idB];
    expect(
      authorize(demo, askB, withBindings({ identities, bindings: [forA], records })),
    ).toMatchObject({
      reason: 'identity-not-bound',
      permanent: true,
    });
    // A second binding (for b) still without its record: b may still come.
    expect(
      authorize(demo, askB, withBindings({ identities, bindings: [forA, forB], records })),
    ).toMatchObject({
      reason: 'identity-not-bound',
      permanent: false,
    });
    // A record not yet Assigned is in flight; a view without bindings can never say "final".
    expect(
      authorize(
        demo,
        none,
        withBindings({ identities, bindings: [forA], records: [assigned(demo, idA, 'Created')] }),
      ),
    ).toMatchObject({ reason: 'not-assigned', permanent: false });
    expect(authorize(demo, none, view('standard', {}))).toMatchObject({ permanent: false });
  });

  it('serves a record only while its binding still selects the pod and its identity is unchanged', () => {
    const withBindings = (state: State): AuthorizationView => ({
      ...view('standard', state),
      bindingsSelecting: (selector) =>
        (state.bindings ?? []).filter((b) => b.spec.selector === selector),
    });
    // MIC recorded a from binding b (selector demo); MIC has not yet removed the record.
    const records = [assigned(demo, idA, 'Assigned')];
    const current = {
      identities: [idA],
      bindings: [binding('default', 'b', 'a', 'demo')],
      records,
    };
    expect(authorize(demo, none, withBindings(current))).toEqual({
      kind: 'identity',
      identity: idA,
    });
    const stale = (state: State): unknown => authorize(demo, none, withBindings(state));
    const refusedInFlight = { kind: 'deny', reason: 'no-identity', permanent: false };
    // The binding now selects another label (a rebind).
    expect(stale({ ...current, bindings: [binding('default', 'b', 'a', 'other')] })).toMatchObject(
      refusedInFlight,
    );
    // The binding now names another identity.
    expect(
      stale({
        ...current,
        identities: [idA, idB],
        bindings: [binding('default', 'b', 'b', 'demo')],
      }),
    ).toMatchObject(refusedInFlight);
    // The binding is gone (or has not reached the view yet).
    expect(stale({ ...current, bindings: [] })).toMatchObject(refusedInFlight);
    // The identity was deleted, or recreated under the same name with another client ID.
    expect(stale({ ...current, identities: [] })).toMatchObject(refusedInFlight);
    const recreated = identity('default', 'a', 'CCCCCCCC-0000-0000-0000-000000000003');
    expect(stale({ ...current, identities: [recreated] })).toMatchObject(refusedInFlight);
    // Case of the IDs does not matter (ARM compares them ignoring case).
    const lowered = identity('default', 'a', idA.spec.clientID!.toLowerCase());
    expect(stale({ ...current, identities: [lowered] })).toMatchObject({ kind: 'identity' });
    // A view without bindings cannot tell: the record serves, as the original's did.
    expect(authorize(demo, none, view('standard', { records })).kind).toBe('identity');
  });

  it('ignores Unassigned records', () => {
    expect(
      authorize(demo, none, view('standard', { records: [assigned(demo, idA, 'Unassigned')] }))
        .kind,
    ).toBe('deny');
  });

  it('matches client_id and msi_res_id case-insensitively, and refuses an identity the pod lacks', () => {
    const state = { records: [assigned(demo, idA, 'Assigned'), assigned(demo, idB, 'Assigned')] };
    const byClient = authorize(
      demo,
      { kind: 'clientId', clientId: 'bbbbbbbb-0000-0000-0000-000000000002' },
      view('standard', state),
    );
    expect(byClient).toEqual({ kind: 'identity', identity: idB });
    const byResource = authorize(
      demo,
      { kind: 'resourceId', resourceId: (idB.spec.resourceID ?? '').toUpperCase() },
      view('standard', state),
    );
    expect(byResource).toEqual({ kind: 'identity', identity: idB });
    expect(
      authorize(demo, { kind: 'clientId', clientId: 'other' }, view('standard', state)),
    ).toMatchObject({
      kind: 'deny',
      reason: 'identity-not-bound',
    });
  });

  it('chooses by identity namespace and name when several fit and none is named, whatever the order', () => {
    const records = [assigned(demo, idB, 'Assigned'), assigned(demo, idA, 'Assigned')];
    expect(authorize(demo, none, view('standard', { records }))).toEqual({
      kind: 'identity',
      identity: idA,
    });
    expect(authorize(demo, none, view('standard', { records: records.reverse() }))).toEqual({
      kind: 'identity',
      identity: idA,
    });
  });

  it('gives object_id requests every candidate in order, for the broker to check against the oid claim', () => {
    const records = [assigned(demo, idB, 'Assigned'), assigned(demo, idA, 'Assigned')];
    expect(
      authorize(demo, { kind: 'objectId', objectId: 'o' }, view('standard', { records })),
    ).toEqual({
      kind: 'object-id',
      objectId: 'o',
      candidates: [idA, idB],
    });
  });

  it('drops identities of other namespaces when namespaced, by flag or by annotation, without crashing', () => {
    const foreign = identity('other', 'f', 'f');
    const annotated = identity('other', 'g', 'g', {
      'aadpodidentity.k8s.io/Behavior': 'namespaced',
    });
    expect(
      authorize(demo, none, view('standard', { records: [assigned(demo, foreign, 'Assigned')] }))
        .kind,
    ).toBe('identity');
    expect(
      authorize(
        demo,
        none,
        view('standard', { records: [assigned(demo, foreign, 'Assigned')] }, true),
      ),
    ).toMatchObject({
      kind: 'deny',
      reason: 'no-identity',
    });
    expect(
      authorize(demo, none, view('standard', { records: [assigned(demo, annotated, 'Assigned')] })),
    ).toMatchObject({ kind: 'deny' });
  });

  it('never serves a record of another pod, even if a view returns it', () => {
    const other: AuthorizationPod = { ...demo, name: 'other' };
    const leaky: AuthorizationView = {
      ...view('standard', {}),
      assignedIdentities: () => [assigned(other, idA, 'Assigned')],
    };
    expect(authorize(demo, none, leaky).kind).toBe('deny');
  });

  it('refuses pods that are not Pending or Running', () => {
    for (const phase of ['Succeeded', 'Failed', 'Unknown', '']) {
      expect(
        authorize(
          { ...demo, phase },
          none,
          view('standard', { records: [assigned(demo, idA, 'Assigned')] }),
        ),
      ).toMatchObject({
        kind: 'deny',
        reason: 'pod-not-live',
      });
    }
  });
});

describe('authorize, standard mode: identities federated by annotation', () => {
  const fed = identity('default', 'fed', 'FFFFFFFF-0000-0000-0000-000000000003', {
    'aadpodidentity.k8s.io/federated': 'true',
  });
  const withBindings = (state: State, forceNamespaced = false): AuthorizationView => ({
    ...view('standard', state, forceNamespaced),
    bindingsSelecting: (selector) =>
      (state.bindings ?? []).filter((b) => b.spec.selector === selector),
  });

  it('serves a federated identity its binding names, with no record from MIC', () => {
    const state = { identities: [fed], bindings: [binding('default', 'fb', 'fed', 'demo')] };
    expect(authorize(demo, none, withBindings(state))).toEqual({ kind: 'identity', identity: fed });
    expect(
      authorize(
        demo,
        { kind: 'clientId', clientId: fed.spec.clientID!.toLowerCase() },
        withBindings(state),
      ),
    ).toEqual({ kind: 'identity', identity: fed });
    // Without the annotation it is an ordinary identity: MIC's record is awaited.
    const plain = { ...fed, metadata: { namespace: 'default', name: 'fed' } };
    expect(authorize(demo, none, withBindings({ ...state, identities: [plain] }))).toMatchObject({
      kind: 'deny',
      waitFor: 'created',
      permanent: false,
    });
  });

  it('chooses between a recorded and a federated identity by the selector, and takes federation over a stale record', () => {
    const state = {
      identities: [idA, fed],
      bindings: [binding('default', 'b', 'a', 'demo'), binding('default', 'fb', 'fed', 'demo')],
      records: [
        assigned(demo, idA, 'Assigned'),
        assigned(demo, { ...fed, metadata: { namespace: 'default', name: 'fed' } }, 'Assigned'),
      ],
    };
    expect(
      authorize(demo, { kind: 'clientId', clientId: idA.spec.clientID! }, withBindings(state)),
    ).toEqual({ kind: 'identity', identity: idA });
    expect(
      authorize(demo, { kind: 'clientId', clientId: fed.spec.clientID! }, withBindings(state)),
    ).toEqual({ kind: 'identity', identity: fed });
  });

  it('a refusal is final when the only binding is federated and names another identity', () => {
    const state = { identities: [fed], bindings: [binding('default', 'fb', 'fed', 'demo')] };
    expect(
      authorize(demo, { kind: 'clientId', clientId: idB.spec.clientID! }, withBindings(state)),
    ).toMatchObject({ kind: 'deny', reason: 'identity-not-bound', permanent: true });
  });

  it('follows MIC`s namespace rules: the identity lives in the binding`s namespace, --forceNamespaced keeps it there', () => {
    const otherFed = { ...fed, metadata: { ...fed.metadata, namespace: 'other' } };
    const crossNamespace = {
      identities: [otherFed],
      bindings: [binding('other', 'fb', 'fed', 'demo')],
    };
    expect(authorize(demo, none, withBindings(crossNamespace)).kind).toBe('identity');
    expect(authorize(demo, none, withBindings(crossNamespace, true))).toMatchObject({
      kind: 'deny',
      permanent: true,
    });
    // A binding naming an identity of another namespace names nothing.
    expect(
      authorize(
        demo,
        none,
        withBindings({
          identities: [otherFed],
          bindings: [binding('default', 'fb', 'fed', 'demo')],
        }),
      ),
    ).toMatchObject({ kind: 'deny' });
  });
});

describe('authorize, managed mode', () => {
  const state = {
    identities: [idA, idB, identity('other', 'a', 'x')],
    bindings: [
      binding('default', 'ba', 'a', 'demo'),
      binding('default', 'bb', 'b', 'else'),
      binding('other', 'bo', 'a', 'demo'),
    ],
  };

  it('serves identities in the pod namespace bound by its label, without waiting', () => {
    expect(authorize(demo, none, view('managed', state))).toEqual({
      kind: 'identity',
      identity: idA,
    });
    expect(
      authorize(
        demo,
        { kind: 'clientId', clientId: idB.spec.clientID ?? '' },
        view('managed', state),
      ),
    ).toEqual({
      kind: 'deny',
      reason: 'identity-not-bound',
      message: expect.any(String) as string,
      permanent: true,
    });
    expect(authorize({ ...demo, labels: {} }, none, view('managed', state))).toMatchObject({
      kind: 'deny',
      reason: 'no-identity',
    });
    expect(authorize({ ...demo, namespace: 'third' }, none, view('managed', state))).toMatchObject({
      kind: 'deny',
    });
  });

  it('does not follow a binding to an identity of another namespace', () => {
    const crossing = {
      identities: [identity('other', 'x', 'x')],
      bindings: [binding('default', 'b', 'x', 'demo')],
    };
    expect(authorize(demo, none, view('managed', crossing)).kind).toBe('deny');
  });
});

describe('authorize, exceptions', () => {
  const records = [assigned(demo, idA, 'Assigned')];
  const strict = (state: State): AuthorizationView => ({
    ...view('standard', state),
    exceptionMatch: 'all',
  });

  it('excepts a pod carrying every label of an exception in its namespace, under either rule', () => {
    const pod = { ...demo, labels: { ...demo.labels, app: 'mic', component: 'mic' } };
    const ex = exception('default', 'mic', { app: 'mic', component: 'mic' });
    for (const v of [
      view('standard', { records, exceptions: [ex] }),
      strict({ records, exceptions: [ex] }),
    ]) {
      expect(authorize(pod, none, v)).toEqual({ kind: 'exception', exception: ex });
    }
  });

  // The application-exception page of the Go documentation: an exception listing two labels, and a
  // pod that carries one of them.
  it('excepts a pod carrying any one of the labels by default, as the original; not under exceptionMatch "all"', () => {
    const pod = { ...demo, labels: { ...demo.labels, foo: 'bar' } };
    const ex = exception('default', 'test-exception', { foo: 'bar', app: 'custom' });
    expect(authorize(pod, none, view('standard', { records, exceptions: [ex] }))).toEqual({
      kind: 'exception',
      exception: ex,
    });
    expect(matchedExceptionLabels(pod, ex)).toEqual([['foo', 'bar']]);
    expect(authorize(pod, none, strict({ records, exceptions: [ex] }))).toEqual({
      kind: 'identity',
      identity: idA,
    });
    expect(matchedExceptionLabels(pod, ex, 'all')).toEqual([]);
  });

  it('compares values ignoring case under "any" (as the original), exactly under "all"', () => {
    const pod = { ...demo, labels: { ...demo.labels, app: 'mic' } };
    const ex = exception('default', 'cased', { app: 'MIC' });
    expect(authorize(pod, none, view('managed', { exceptions: [ex] })).kind).toBe('exception');
    expect(
      authorize(pod, none, { ...view('managed', { exceptions: [ex] }), exceptionMatch: 'all' })
        .kind,
    ).toBe('deny');
  });

  it('ignores exceptions with no labels, in other namespaces, or whose label keys the pod lacks', () => {
    const pod = { ...demo, labels: { ...demo.labels, app: 'mic' } };
    const exceptions = [
      exception('default', 'empty', {}),
      exception('kube-system', 'elsewhere', { app: 'mic' }),
      exception('default', 'other-key', { component: 'mic' }),
    ];
    expect(authorize(pod, none, view('managed', { exceptions })).kind).toBe('deny');
    expect(
      authorize(pod, none, { ...view('managed', { exceptions }), exceptionMatch: 'all' }).kind,
    ).toBe('deny');
  });
});

// ---- property: a pod never gets an identity its own records/bindings do not give it ----

const namespaces = ['ns1', 'ns2'];
const selectors = ['s1', 's2', 's3'];
const arbitraryWorld = fc.record({
  identities: fc.uniqueArray(
    fc.record({
      ns: fc.constantFrom(...namespaces),
      name: fc.constantFrom('i1', 'i2', 'i3'),
      client: fc.constantFrom('c1', 'c2', 'C1', 'c3'),
    }),
    { selector: (i) => `${i.ns}/${i.name}`, maxLength: 6 },
  ),
  bindings: fc.array(
    fc.record({
      ns: fc.constantFrom(...namespaces),
      identity: fc.constantFrom('i1', 'i2', 'i3'),
      selector: fc.constantFrom(...selectors),
    }),
    { maxLength: 6 },
  ),
  pods: fc.uniqueArray(
    fc.record({
      ns: fc.constantFrom(...namespaces),
      name: fc.constantFrom('p1', 'p2', 'p3'),
      label: fc.option(fc.constantFrom(...selectors)),
      phase: fc.constantFrom('Running', 'Pending', 'Succeeded'),
    }),
    { selector: (p) => `${p.ns}/${p.name}`, minLength: 1, maxLength: 5 },
  ),
  states: fc.array(
    fc.constantFrom<AssignedIdentityState>('Created', 'Assigned', 'Unassigned', ''),
    { minLength: 30, maxLength: 30 },
  ),
  request: fc.oneof(
    fc.constant<IdentitySelector>({ kind: 'none' }),
    fc
      .constantFrom('c1', 'c2', 'c3', 'C2')
      .map((clientId): IdentitySelector => ({ kind: 'clientId', clientId })),
  ),
  forceNamespaced: fc.boolean(),
  mode: fc.constantFrom<'standard' | 'managed'>('standard', 'managed'),
});

describe('authorize, property: never another pod’s identity', () => {
  it('matches a reference model for random pods, bindings, records and requests', () => {
    fc.assert(
      fc.property(arbitraryWorld, (world) => {
        const identities = world.identities.map((i) => identity(i.ns, i.name, i.client));
        const bindings = world.bindings.map((b, n) =>
          binding(b.ns, `b${n}`, b.identity, b.selector),
        );
        const pods: AuthorizationPod[] = world.pods.map((p) => ({
          namespace: p.ns,
          name: p.name,
          phase: p.phase,
          labels: labelsOf(p.label),
        }));
        // What MIC would record (cross-namespace pods included, as the original does), with random states.
        const records: AzureAssignedIdentity[] = [];
        let k = 0;
        for (const pod of pods) {
          for (const b of bindings) {
            if (pod.labels.aadpodidbinding !== b.spec.selector) continue;
            const id = identities.find(
              (i) =>
                i.metadata.namespace === b.metadata.namespace &&
                i.metadata.name === b.spec.azureIdentity,
            );
            if (id !== undefined)
              records.push(assigned(pod, id, world.states[k++ % 30] ?? 'Created'));
          }
        }
        const v = view(world.mode, { identities, bindings, records }, world.forceNamespaced);
        for (const pod of pods) {
          const decision = authorize(pod, world.request, v);
          const allowed = reference(
            world.mode,
            pod,
            world.request,
            { identities, bindings, records },
            world.forceNamespaced,
          );
          if (decision.kind === 'identity') {
            expect(allowed.map(key)).toContain(key(decision.identity));
            expect(key(decision.identity)).toBe(allowed.map(key).sort()[0]);
          } else {
            expect(decision.kind).toBe('deny');
            expect(allowed).toEqual([]);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

function key(i: AzureIdentity): string {
  return `${i.metadata.namespace ?? ''}/${i.metadata.name}`;
}

// The rules written out plainly, independently of authorize()'s structure.
function reference(
  mode: 'standard' | 'managed',
  pod: AuthorizationPod,
  request: IdentitySelector,
  state: Required<Pick<State, 'identities' | 'bindings' | 'records'>>,
  forceNamespaced: boolean,
): AzureIdentity[] {
  if (pod.phase !== 'Running' && pod.phase !== 'Pending') return [];
  const wanted = (i: AzureIdentity): boolean =>
    request.kind !== 'clientId' ||
    (i.spec.clientID ?? '').toLowerCase() === request.clientId.toLowerCase();
  if (mode === 'managed') {
    const names = state.bindings
      .filter(
        (b) =>
          b.metadata.namespace === pod.namespace && b.spec.selector === pod.labels.aadpodidbinding,
      )
      .map((b) => b.spec.azureIdentity);
    return state.identities.filter(
      (i) => i.metadata.namespace === pod.namespace && names.includes(i.metadata.name) && wanted(i),
    );
  }
  return state.records
    .filter((r) => r.spec.pod === pod.name && r.spec.podNamespace === pod.namespace)
    .filter((r) => r.status?.status === 'Assigned' || r.status?.status === '')
    .map((r) => r.spec.azureIdentityRef)
    .filter((i) => !forceNamespaced || i.metadata.namespace === pod.namespace)
    .filter(wanted);
}

function labelsOf(label: string | null): Record<string, string> {
  return label === null ? {} : { aadpodidbinding: label };
}
