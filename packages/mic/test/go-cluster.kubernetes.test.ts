// MIC on a cluster as the Go original (AAD Pod Identity) left it: objects of its releases and
// documentation written through the API server (which prunes what the CRDs do not declare), then
// MIC started over them. Runs against the testkit emulator in `pnpm test` and against the real
// kube-apiserver, with MIC bound only to the shipped RBAC, in `pnpm test:conformance`.
import { createMic, type Logger, type Mic, type MicOptions } from '@pod-identity/mic';
import type { SandboxNode } from '@pod-identity/testkit';
import {
  againstRealServer,
  eventually,
  startKubeTarget,
  type KubeTarget,
} from '@pod-identity/test-support';
import {
  goBinding,
  goDocsCertificateIdentity,
  goManagedIdentity,
  goMic15Record,
  goRecordWithoutState,
  type GoObject,
} from '@pod-identity/test-support/go-original-objects';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credential } from './mic-harness.js';

const MIC_NAMESPACE = 'kube-system';
const RECORDS = 'azureassignedidentities';

const warnings: string[] = [];
const quiet = (): undefined => undefined;
const logger: Logger = {
  debug: quiet,
  info: quiet,
  warn: (fields, message) => {
    warnings.push(`${message ?? ''} ${JSON.stringify(fields)}`);
  },
  error: (fields, message) => {
    warnings.push(`${message ?? ''} ${JSON.stringify(fields)}`);
  },
  child: () => logger,
};

let target: KubeTarget;
let node: SandboxNode;
let mic: Mic | undefined;

function startMic(overrides: Partial<MicOptions> = {}): Mic {
  mic = createMic({
    kubeConfig: target.component,
    credential,
    armEndpoint: target.sandbox.endpoints.arm,
    armClientOptions: target.sandbox.azureClientOptions,
    namespace: MIC_NAMESPACE,
    // One MIC at a time in this file; the lease is mic.kubernetes.test.ts's subject.
    leaderElection: false,
    armPollIntervalMs: 5,
    updateUserMsiRetryIntervalMs: 50,
    clientQps: Number.POSITIVE_INFINITY,
    logger,
    ...overrides,
  });
  mic.start();
  return mic;
}

function identitiesOnScaleSet(): string[] {
  return (target.sandbox.arm.getIdentityAssignment(node.identityTargetId)?.userAssigned ?? [])
    .map((identity) => identity.resourceId.toLowerCase())
    .sort();
}

const plurals: Record<string, string> = {
  AzureIdentity: 'azureidentities',
  AzureIdentityBinding: 'azureidentitybindings',
  AzureAssignedIdentity: RECORDS,
  AzurePodIdentityException: 'azurepodidentityexceptions',
};

/** Writes a Go-shaped object as admin and returns what the API server stored. */
async function write(object: GoObject): Promise<Record<string, unknown>> {
  const plural = plurals[object.kind] ?? '';
  await target.createCustom(plural, object);
  const stored = await target.getCustom(plural, object.metadata.namespace, object.metadata.name);
  if (stored === undefined) throw new Error(`${object.kind} ${object.metadata.name} not stored`);
  return stored;
}

function stateOf(record: Record<string, unknown> | undefined): string | undefined {
  return (record?.status as { status?: string } | undefined)?.status;
}

async function warningEvents(namespace: string, reason: string): Promise<string[]> {
  const events = await target.core.listNamespacedEvent({ namespace });
  return events.items
    .filter((e) => e.type === 'Warning' && e.reason === reason)
    .map(
      (e) => `${e.involvedObject.kind ?? ''} ${e.involvedObject.name ?? ''}: ${e.message ?? ''}`,
    );
}

beforeAll(async () => {
  target = await startKubeTarget('mic', {
    scaleSets: [{ name: `go${Math.random().toString(36).slice(2, 8)}-vmss`, nodeCount: 1 }],
    identities: [],
  });
  node = target.sandbox.nodes[0]!;
  await target.node(node);
});

afterEach(async () => {
  await mic?.stop();
  mic = undefined;
});

afterAll(async () => {
  await target.stop();
});

describe(`MIC over objects the Go original left (${againstRealServer ? 'real API server' : 'emulator'})`, () => {
  it('keeps working past a record of Go MIC 1.5.x (no spec.azureIdentityRef once pruned): it is reported by name, a new pod is assigned', async () => {
    const namespace = await target.namespace('go15');
    const uami = target.sandbox.createIdentity(`go15-${target.suffix}`);
    const selector = `go15-${target.suffix}`;
    await write(
      goManagedIdentity('id', namespace, { resourceId: uami.id, clientId: uami.clientId }),
    );
    await write(goBinding('id-binding', namespace, 'id', selector));
    const legacy = goMic15Record(
      { name: 'id', namespace, resourceId: uami.id, clientId: uami.clientId },
      { name: 'id-binding', namespace, selector },
      { name: 'old', namespace, nodeName: node.name },
    );
    const stored = await write(legacy);
    // The API server kept only what today's schema declares.
    expect(Object.keys(stored.spec as object).sort()).toEqual(['nodename', 'pod']);
    expect(stored.status).toBeUndefined();

    startMic();
    await target.pod(node, { namespace, name: 'new', labels: { aadpodidbinding: selector } });
    await eventually(
      async () =>
        stateOf(await target.getCustom(RECORDS, 'default', `new-${namespace}-id`)) === 'Assigned',
      'the new pod’s record to be Assigned',
    );
    expect(identitiesOnScaleSet()).toContain(uami.id.toLowerCase());
    await eventually(
      async () =>
        (await warningEvents('default', 'invalid assigned identity')).some(
          (e) =>
            e.startsWith(`AzureAssignedIdentity ${legacy.metadata.name}:`) &&
            e.includes('spec.podNamespace'),
        ),
      'a Warning event naming the old record',
    );
    // Nothing it cannot read is deleted.
    expect(await target.getCustom(RECORDS, 'default', legacy.metadata.name)).toBeDefined();
    expect(warnings.filter((w) => /planning pass failed|TypeError/.test(w))).toEqual([]);
  });

  it('makes no record for the certificate identity of the Go documentation (clientPassword {Name, Namespace}) and warns "invalid identity"', async () => {
    const namespace = await target.namespace('godoc');
    const selector = `godoc-${target.suffix}`;
    const stored = await write(
      goDocsCertificateIdentity('cert-id', namespace, {
        clientId: '00000000-0000-0000-0000-0000000000c2',
        tenantId: target.sandbox.tenantId,
        secretName: 'cert',
      }),
    );
    // Pruned to an empty Secret reference.
    expect((stored.spec as { clientPassword?: unknown }).clientPassword).toEqual({});
    await write(goBinding('cert-binding', namespace, 'cert-id', selector));
    startMic();
    await target.pod(node, { namespace, name: 'app', labels: { aadpodidbinding: selector } });
    await eventually(
      async () =>
        (await warningEvents(namespace, 'invalid identity')).some(
          (e) => e.startsWith('AzureIdentity cert-id:') && e.includes('spec.clientPassword.name'),
        ),
      'the invalid identity Warning',
    );
    await mic?.settled();
    expect(await target.getCustom(RECORDS, 'default', `app-${namespace}-cert-id`)).toBeUndefined();
    const normal = await target.core.listNamespacedEvent({ namespace });
    expect(normal.items.filter((e) => e.reason === 'binding applied')).toEqual([]);
  });

  it('releases a record without status.status (the legacy empty state) once its pod is gone: deleted, finalizer and all', async () => {
    const namespace = await target.namespace('gostate');
    const uami = target.sandbox.createIdentity(`gostate-${target.suffix}`);
    const identity = await write(
      goManagedIdentity('id', namespace, { resourceId: uami.id, clientId: uami.clientId }),
    );
    const binding = await write(
      goBinding('id-binding', namespace, 'id', `gostate-${target.suffix}`),
    );
    const record = goRecordWithoutState(identity as GoObject, binding as GoObject, {
      name: 'gone',
      namespace,
      nodeName: node.name,
    });
    const stored = await write(record);
    expect(stored.status).toBeUndefined();
    startMic();
    await eventually(
      async () => (await target.getCustom(RECORDS, 'default', record.metadata.name)) === undefined,
      'the record to be released',
    );
    // Other files leave records (of other nodes, or terminating) on the shared real server, which
    // this MIC also sees; this record's release is the lane of this file's scale set.
    const ownLane = `"lane":"${node.identityTargetId.toLowerCase()}"`;
    expect(
      warnings.filter(
        (w) =>
          w.includes(record.metadata.name) || (w.includes('lane failed') && w.includes(ownLane)),
      ),
    ).toEqual([]);
  });
});
