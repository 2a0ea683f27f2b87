import { describe, expect, it } from 'vitest';
import { ASSIGNED_IDENTITY_POD_UID_ANNOTATION } from '../crd/constants.js';
import type { AzureAssignedIdentity } from '../crd/types.js';
import { planAssignments } from './plan-assignments.js';
import { planGoMicAdoption } from './plan-go-mic-adoption.js';
import {
  binding,
  identity,
  pod,
  recordFor,
  uamiId,
  vmProviderId,
  vmssProviderId,
} from './planner-fixtures.test-support.js';

const nodeProviderIds = new Map([
  ['node-0', vmssProviderId('pool', 0)],
  ['node-1', vmssProviderId('pool', 1)],
  ['vm-node', vmProviderId('vm-node')],
]);

/** Records as the Go MIC leaves them: one per (pod, identity), no pod UID annotation. */
function goRecords(
  pods: { name: string; node: string; identity: string; state?: 'Created' | 'Assigned' | '' }[],
): AzureAssignedIdentity[] {
  const ids = [...new Set(pods.map((p) => p.identity))];
  const plan = planAssignments({
    pods: pods.map((p) => pod(p.name, p.node, p.identity)),
    identities: ids.map((id) => identity(id)),
    bindings: ids.map((id) => binding(`${id}-binding`, id, id)),
    assignedIdentities: [],
  });
  return plan.desired.map((d) => {
    const spec = pods.find((p) => p.name === d.podName)!;
    return recordFor(d, spec.state ?? 'Assigned');
  });
}

describe('planGoMicAdoption', () => {
  it('adopts, per scale set or VM, each identity an Assigned (or legacy empty) record of the Go MIC proves', () => {
    const records = goRecords([
      { name: 'a', node: 'node-0', identity: 'shared' },
      { name: 'b', node: 'node-1', identity: 'shared' },
      { name: 'c', node: 'node-0', identity: 'legacy', state: '' },
      { name: 'd', node: 'vm-node', identity: 'on-vm' },
    ]);
    const adoption = planGoMicAdoption({
      records,
      nodeProviderIds,
      owned: new Map(),
      immutable: [],
    });
    expect(
      adoption.map((a) => [a.target.kind, a.target.name, a.identities.map((i) => i.resourceId)]),
    ).toEqual([
      ['vmss', 'pool', [uamiId('shared'), uamiId('legacy')]],
      ['vm', 'vm-node', [uamiId('on-vm')]],
    ]);
    expect(adoption[0]!.records).toEqual([
      'default/a-default-shared',
      'default/b-default-shared',
      'default/c-default-legacy',
    ]);
  });

  it('never adopts what no Go record proves: Created records, records this MIC wrote (pod UID), service principals, immutable or already owned identities, unplaceable nodes, unreadable records', () => {
    const [created, ours, sp, immutable, owned, lost] = goRecords([
      { name: 'created', node: 'node-0', identity: 'created', state: 'Created' },
      { name: 'ours', node: 'node-0', identity: 'ours' },
      { name: 'sp', node: 'node-0', identity: 'sp' },
      { name: 'immutable', node: 'node-0', identity: 'immutable' },
      { name: 'owned', node: 'node-0', identity: 'owned' },
      { name: 'lost', node: 'gone-node', identity: 'lost' },
    ]);
    ours!.metadata.annotations = { [ASSIGNED_IDENTITY_POD_UID_ANNOTATION]: 'uid-1' };
    sp!.spec.azureIdentityRef.spec = {
      type: 1,
      clientID: 'c',
      clientPassword: { name: 's', namespace: 'default' },
    };
    const unreadable = {
      ...owned!,
      metadata: { ...owned!.metadata, name: 'unreadable' },
      spec: { pod: 'x', nodename: 'node-0' },
    } as unknown as AzureAssignedIdentity;
    const poolKey =
      '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/nodes/providers/microsoft.compute/virtualmachinescalesets/pool';
    const adoption = planGoMicAdoption({
      records: [created!, ours!, sp!, immutable!, owned!, lost!, unreadable],
      nodeProviderIds,
      owned: new Map([
        [
          poolKey,
          new Map([[uamiId('owned').toLowerCase(), { resourceId: uamiId('owned'), clientId: '' }]]),
        ],
      ]),
      immutable: ['CLIENT-IMMUTABLE'],
    });
    expect(adoption).toEqual([]);
  });
});
