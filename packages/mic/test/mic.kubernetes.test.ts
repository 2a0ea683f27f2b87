// MIC through its public entry against Kubernetes: the testkit emulator in `pnpm test`, the real
// kube-apiserver in `pnpm test:conformance`, where MIC runs as its service account bound only to
// deploy/rbac/ (ClusterRole pod-identity-mic, Role pod-identity-mic in kube-system). Azure is the
// sandbox's ARM emulator in both. Everything MIC must be allowed to do happens here: informers on
// pods, nodes, identities, bindings and records; record create/replace/finalizer patch/delete;
// events; the Lease; the ledger ConfigMaps. Every warning or error MIC logs is collected, and a
// refusal by the API server (403) fails the test.
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { CoordinationV1Api } from '@kubernetes/client-node';
import {
  OWNERSHIP_LEDGER_LABEL,
  OWNERSHIP_LEDGER_TARGET_ANNOTATION,
} from '@pod-identity/core/kubernetes';
import { createMic, type Logger, type Mic, type MicOptions } from '@pod-identity/mic';
import type { SandboxNode } from '@pod-identity/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  againstRealServer,
  CRD_GROUP,
  CRD_VERSION,
  eventually,
  isStatus,
  startKubeTarget,
  type KubeTarget,
} from '@pod-identity/test-support';

const MIC_NAMESPACE = 'kube-system';
// The only lease the shipped Role lets MIC read and renew.
const LEASE_NAME = 'aad-pod-identity-mic';
const FINALIZER = 'azureassignedidentity.finalizers.aadpodidentity.k8s.io';
const RECORDS_IN_DEFAULT = `/apis/${CRD_GROUP}/${CRD_VERSION}/namespaces/default/azureassignedidentities`;

const credential: TokenCredential = {
  getToken: (): Promise<AccessToken> =>
    Promise.resolve({ token: 'arm-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

interface Logged {
  level: string;
  message: string | undefined;
  fields: string;
}
const logged: Logged[] = [];
function collectingLogger(): Logger {
  const log =
    (level: string) =>
    (fields: Record<string, unknown>, message?: string): void => {
      logged.push({
        level,
        message,
        fields: JSON.stringify(fields, (_key, value: unknown) =>
          value instanceof Error ? `${value.name}: ${value.message}` : value,
        ),
      });
    };
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

let target: KubeTarget;
let node: SandboxNode;
let namespace: string;
const mics: Mic[] = [];

function startMic(instance: string, overrides: Partial<MicOptions> = {}): Mic {
  const mic = createMic({
    kubeConfig: target.component,
    credential,
    armEndpoint: target.sandbox.endpoints.arm,
    armClientOptions: target.sandbox.azureClientOptions,
    namespace: MIC_NAMESPACE,
    leaderElection: {
      namespace: MIC_NAMESPACE,
      name: LEASE_NAME,
      instance,
      leaseDurationMs: 4_000,
    },
    armPollIntervalMs: 5,
    updateUserMsiRetryIntervalMs: 50,
    logger: collectingLogger(),
    ...overrides,
  });
  mics.push(mic);
  mic.start();
  return mic;
}

async function stopMic(mic: Mic): Promise<void> {
  await mic.stop();
  mics.splice(mics.indexOf(mic), 1);
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await target.admin
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ namespace: MIC_NAMESPACE, name: LEASE_NAME });
  return lease.spec?.holderIdentity ?? undefined;
}

/** The ledger data MIC keeps for one scale set or VM, read as admin (MIC may not list by label elsewhere). */
async function ledgerOf(targetId: string): Promise<string> {
  const configMaps = await target.core.listNamespacedConfigMap({
    namespace: MIC_NAMESPACE,
    labelSelector: OWNERSHIP_LEDGER_LABEL,
  });
  const entry = configMaps.items.find(
    (c) => c.metadata?.annotations?.[OWNERSHIP_LEDGER_TARGET_ANNOTATION] === targetId.toLowerCase(),
  );
  return JSON.stringify(entry?.data ?? {}).toLowerCase();
}

function identitiesOnScaleSet(): string[] {
  return (target.sandbox.arm.getIdentityAssignment(node.identityTargetId)?.userAssigned ?? [])
    .map((identity) => identity.resourceId.toLowerCase())
    .sort();
}

/** An AzureIdentity of a sandbox user-assigned identity and a binding with `selector`. */
async function declare(name: string, selector: string): Promise<{ resourceId: string }> {
  const info = target.sandbox.createIdentity(`${name}-${target.suffix}`);
  await target.createCustom('azureidentities', {
    apiVersion: `${CRD_GROUP}/${CRD_VERSION}`,
    kind: 'AzureIdentity',
    metadata: { name, namespace },
    spec: { type: 0, resourceID: info.id, clientID: info.clientId },
  });
  await target.createCustom('azureidentitybindings', {
    apiVersion: `${CRD_GROUP}/${CRD_VERSION}`,
    kind: 'AzureIdentityBinding',
    metadata: { name: `${name}-binding`, namespace },
    spec: { azureIdentity: name, selector },
  });
  return { resourceId: info.id };
}

function statusOf(object: Record<string, unknown>): string | undefined {
  return (object.status as { status?: string } | undefined)?.status;
}

beforeAll(async () => {
  target = await startKubeTarget('mic', {
    // A unique scale set, hence unique node names: the real server is shared by every file.
    scaleSets: [{ name: `mic${randomName()}-vmss`, nodeCount: 1 }],
    identities: [],
  });
  node = target.sandbox.nodes[0]!;
  await target.node(node);
  namespace = await target.namespace('mic');
  // Start from no lease: an earlier file of the run may have left one with a live holder.
  try {
    await target.admin
      .makeApiClient(CoordinationV1Api)
      .deleteNamespacedLease({ namespace: MIC_NAMESPACE, name: LEASE_NAME });
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
});

function randomName(): string {
  return Math.random().toString(36).slice(2, 8);
}

afterAll(async () => {
  await Promise.all(mics.map((mic) => mic.stop()));
  await target.stop();
});

describe(`MIC on Kubernetes (${againstRealServer ? 'real API server, shipped RBAC' : 'emulator'})`, () => {
  it('assigns a bound pod its identity: record Created then Assigned, identity on the scale set; both go with the pod', async () => {
    const { resourceId } = await declare('app-id', `app-${target.suffix}`);
    const mic = startMic(`mic-a-${target.suffix}`);
    await mic.whenActive(AbortSignal.timeout(30_000));
    expect(await leaseHolder()).toBe(`mic-a-${target.suffix}`);

    const recordName = `app-${namespace}-app-id`;
    const records = await target.watch(RECORDS_IN_DEFAULT, {
      fieldSelector: `metadata.name=${recordName}`,
    });
    await target.pod(node, {
      namespace,
      name: 'app',
      labels: { aadpodidbinding: `app-${target.suffix}` },
    });

    const assigned = await records.next(
      (e) => statusOf(e.object) === 'Assigned',
      'the record to be Assigned',
    );
    // Written as Created before the ARM call, replaced to Assigned after it.
    expect(records.events[0]).toMatchObject({ type: 'ADDED' });
    expect(statusOf(records.events[0]!.object)).toBe('Created');
    const record = assigned.object as {
      metadata: {
        name: string;
        namespace: string;
        labels?: Record<string, string>;
        finalizers?: string[];
      };
      spec: Record<string, unknown>;
    };
    expect(record.metadata).toMatchObject({
      name: recordName,
      namespace: 'default',
      labels: { nodename: node.name },
      finalizers: [FINALIZER],
    });
    expect(record.spec).toMatchObject({
      pod: 'app',
      podNamespace: namespace,
      nodename: node.name,
      azureIdentityRef: {
        metadata: { name: 'app-id', namespace },
        spec: { resourceID: resourceId },
      },
      azureBindingRef: { metadata: { name: 'app-id-binding', namespace } },
    });
    expect(identitiesOnScaleSet()).toEqual([resourceId.toLowerCase()]);
    // The ledger ConfigMap in MIC's namespace (the Role's configmaps rule) records the identity as
    // MIC's, so that it may be removed later.
    expect(await ledgerOf(node.identityTargetId)).toContain(resourceId.toLowerCase());

    // The binding's event, created with the ClusterRole's events rule.
    await eventually(async () => {
      const events = await target.core.listNamespacedEvent({ namespace });
      return events.items.some(
        (e) =>
          e.reason === 'binding applied' &&
          e.message === `Binding app-id-binding applied on node ${node.name} for pod ${recordName}`,
      );
    }, 'the binding applied event');

    await target.deletePod(namespace, 'app');
    await records.next((e) => e.type === 'DELETED', 'the record to be deleted');
    expect(
      await target.getCustom('azureassignedidentities', 'default', recordName),
    ).toBeUndefined();
    await eventually(
      () => identitiesOnScaleSet().length === 0,
      'the identity removed from the scale set',
    );
    await eventually(
      async () => !(await ledgerOf(node.identityTargetId)).includes(resourceId.toLowerCase()),
      'the ledger to forget the identity',
    );
    records.stop();
    await stopMic(mic);
    expect(
      logged.filter((l) => /forbidden|\b403\b/i.test(`${l.message ?? ''} ${l.fields}`)),
    ).toEqual([]);
  });

  it('hands the lease over: a standby MIC takes over when the leader stops, and does the work', async () => {
    const { resourceId } = await declare('next-id', `next-${target.suffix}`);
    const first = startMic(`mic-1-${target.suffix}`);
    await first.whenActive(AbortSignal.timeout(30_000));
    const second = startMic(`mic-2-${target.suffix}`);
    // The standby has tried the lease at least once: it reads it (get) and finds it held.
    await eventually(
      async () => (await leaseHolder()) === `mic-1-${target.suffix}`,
      'the first MIC to hold the lease',
    );
    expect(second.isLeader()).toBe(false);
    expect(second.isActive()).toBe(false);

    await stopMic(first);
    await second.whenActive(AbortSignal.timeout(30_000));
    expect(await leaseHolder()).toBe(`mic-2-${target.suffix}`);

    const recordName = `next-${namespace}-next-id`;
    const records = await target.watch(RECORDS_IN_DEFAULT, {
      fieldSelector: `metadata.name=${recordName}`,
    });
    await target.pod(node, {
      namespace,
      name: 'next',
      labels: { aadpodidbinding: `next-${target.suffix}` },
    });
    await records.next((e) => statusOf(e.object) === 'Assigned', 'the new leader to assign');
    expect(identitiesOnScaleSet()).toEqual([resourceId.toLowerCase()]);
    await target.deletePod(namespace, 'next');
    await records.next((e) => e.type === 'DELETED', 'the record to be deleted');
    await eventually(() => identitiesOnScaleSet().length === 0, 'the identity removed');
    records.stop();
    await stopMic(second);
    expect(
      logged.filter((l) => /forbidden|\b403\b/i.test(`${l.message ?? ''} ${l.fields}`)),
    ).toEqual([]);
  });
});
