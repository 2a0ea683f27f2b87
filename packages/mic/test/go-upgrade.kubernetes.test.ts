// The upgrade from the Go original, end to end: a cluster as the Go MIC v1.8.17 leaves it when it
// is stopped (test-support/fixtures/go-mic-v1.8.17-upgrade.json: records with and without status,
// one still Created, one whose pod is gone, a binding with pre-1.6 field names, the identities the
// Go MIC put on the scale set and one put there by hand), NMI serving its pods, then this MIC
// started on it. Runs against the testkit emulator in `pnpm test`, and in `pnpm test:conformance`
// against the real kube-apiserver with MIC and NMI each bound only to the shipped RBAC.
import http from 'node:http';
import { ComputeManagementClient } from '@azure/arm-compute';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createMic, type Logger, type Mic, type MicOptions } from '@pod-identity/mic';
import { createNmi, type Nmi } from '@pod-identity/nmi';
import {
  decodeToken,
  type SandboxNode,
  type UserAssignedIdentityInfo,
} from '@pod-identity/testkit';
import {
  againstRealServer,
  eventually,
  startKubeTarget,
  type CreatedPod,
  type KubeTarget,
} from '@pod-identity/test-support';
import {
  fillPlaceholders,
  readGoClusterFixture,
  type GoClusterFixture,
} from '@pod-identity/test-support/go-cluster-fixture';
import {
  goBinding,
  goManagedIdentity,
  goMicRecord,
} from '@pod-identity/test-support/go-original-objects';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credential } from './mic-harness.js';

const MIC_NAMESPACE = 'kube-system';
const RECORDS = 'azureassignedidentities';
const LEDGER_LABEL = 'aadpodidentity.k8s.io/mic-ownership-ledger';
const plurals: Record<string, string> = {
  AzureIdentity: 'azureidentities',
  AzureIdentityBinding: 'azureidentitybindings',
  AzureAssignedIdentity: RECORDS,
  AzurePodIdentityException: 'azurepodidentityexceptions',
};

const problems: string[] = [];
const quiet = (): undefined => undefined;
const logger: Logger = {
  debug: quiet,
  info: quiet,
  warn: (fields, message) => {
    problems.push(`${message ?? ''} ${JSON.stringify(fields)}`);
  },
  error: (fields, message) => {
    problems.push(`${message ?? ''} ${JSON.stringify(fields)}`);
  },
  child: () => logger,
};
// NMI's own warnings (the pre-1.6 binding it cannot read) are not this test's subject.
const nmiLogger: Logger = {
  debug: quiet,
  info: quiet,
  warn: quiet,
  error: quiet,
  child: () => nmiLogger,
};

let target: KubeTarget;
let node: SandboxNode;
let namespace: string;
let fixture: GoClusterFixture;
let mic: Mic | undefined;
let nmi: Nmi | undefined;
const identities = new Map<string, UserAssignedIdentityInfo>();
const pods = new Map<string, CreatedPod>();

function identity(name: string): UserAssignedIdentityInfo {
  const found = identities.get(name);
  if (found === undefined) throw new Error(`no identity ${name}`);
  return found;
}

/** Lower-cased resource IDs of the user-assigned identities on the node's scale set. */
function onScaleSet(): string[] {
  return (target.sandbox.arm.getIdentityAssignment(node.identityTargetId)?.userAssigned ?? [])
    .map((assigned) => assigned.resourceId.toLowerCase())
    .sort();
}

function ids(...names: string[]): string[] {
  return names.map((name) => identity(name).id.toLowerCase()).sort();
}

/** What the Go MIC and the administrator did on ARM, with the real compute client. */
async function assignToScaleSet(resourceIds: readonly string[]): Promise<void> {
  const client = new ComputeManagementClient(credential, target.sandbox.subscriptionId, {
    endpoint: target.sandbox.endpoints.arm,
    ...target.sandbox.azureClientOptions,
  });
  await client.virtualMachineScaleSets.update(
    target.sandbox.nodeResourceGroup,
    node.scaleSetName ?? '',
    {
      identity: {
        type: 'UserAssigned',
        userAssignedIdentities: Object.fromEntries(resourceIds.map((id) => [id, {}])),
      },
    },
  );
}

/** Writes the fixture's objects as admin: identities, bindings and exceptions, then the records. */
async function writeFixture(): Promise<void> {
  const resourceVersions = new Map<string, string>();
  const values = (key: string): string | undefined => {
    if (key === 'ns') return namespace;
    if (key === 'node') return node.name;
    const [kind, name] = key.split(':') as [string, string];
    if (kind === 'id') return identity(name).id;
    if (kind === 'clientId') return identity(name).clientId;
    if (kind === 'rv') return resourceVersions.get(name);
    return undefined;
  };
  const ordered = [
    ...fixture.objects.filter((o) => o.kind !== 'AzureAssignedIdentity'),
    ...fixture.objects.filter((o) => o.kind === 'AzureAssignedIdentity'),
  ];
  for (const object of ordered) {
    const filled = fillPlaceholders(object, values);
    const plural = plurals[filled.kind] ?? '';
    await target.createCustom(plural, filled);
    const stored = await target.getCustom(plural, filled.metadata.namespace, filled.metadata.name);
    const rv = (stored?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (rv !== undefined) resourceVersions.set(`${filled.kind}/${filled.metadata.name}`, rv);
  }
}

function startMic(overrides: Partial<MicOptions> = {}): Mic {
  mic = createMic({
    kubeConfig: target.component,
    credential,
    armEndpoint: target.sandbox.endpoints.arm,
    armClientOptions: target.sandbox.azureClientOptions,
    namespace: MIC_NAMESPACE,
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

function nmiKubeConfig(): KubeConfig {
  if (!againstRealServer) return target.sandbox.kubeConfig;
  const config = new KubeConfig();
  config.loadFromFile(process.env.POD_IDENTITY_NMI_KUBECONFIG ?? '');
  return config;
}

/** A token request from a pod's address, as its traffic arrives at NMI: the status and the token's client ID. */
function tokenFrom(
  pod: CreatedPod,
  clientId?: string,
): Promise<{ status: number; appid?: string; body: string }> {
  const url = new URL(nmi?.url ?? '');
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F${clientId === undefined ? '' : `&client_id=${clientId}`}`,
        headers: { Metadata: 'true' },
        localAddress: pod.podIp,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status !== 200) {
            resolve({ status, body });
            return;
          }
          const token = (JSON.parse(body) as { access_token: string }).access_token;
          resolve({ status, body, appid: decodeToken(token).claims.appid });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

async function recordState(name: string): Promise<string | undefined> {
  const record = await target.getCustom(RECORDS, 'default', name);
  if (record === undefined) return undefined;
  return (record.status as { status?: string } | undefined)?.status ?? '';
}

/** The identities the ownership ledger records for the node's scale set (lower-cased IDs). */
async function ledgerOfScaleSet(): Promise<string[]> {
  const core = target.admin.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedConfigMap({
    namespace: MIC_NAMESPACE,
    labelSelector: LEDGER_LABEL,
  });
  const mine = list.items.find(
    (configMap) =>
      configMap.metadata?.annotations?.['aadpodidentity.k8s.io/target'] ===
      node.identityTargetId.toLowerCase(),
  );
  const entries = JSON.parse(mine?.data?.['identities.json'] ?? '[]') as { resourceId: string }[];
  return entries.map((entry) => entry.resourceId.toLowerCase()).sort();
}

beforeAll(async () => {
  fixture = readGoClusterFixture('go-mic-v1.8.17-upgrade.json');
  target = await startKubeTarget('mic', {
    scaleSets: [{ name: `up${Math.random().toString(36).slice(2, 8)}-vmss`, nodeCount: 1 }],
    identities: [],
  });
  node = target.sandbox.nodes[0]!;
  await target.node(node);
  namespace = await target.namespace('goup');
  for (const name of fixture.identities) {
    identities.set(name, target.sandbox.createIdentity(`${name}-${target.suffix}`));
  }
  await assignToScaleSet(ids(...fixture.assignedByGoMic, ...fixture.assignedByHand));
  for (const pod of fixture.runningPods) {
    pods.set(pod.name, await target.pod(node, { namespace, ...pod }));
  }
  await writeFixture();
  nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: nmiKubeConfig(),
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    retryAttemptsForCreated: 2,
    retryAttemptsForAssigned: 4,
    findIdentityRetryIntervalMs: 500,
    podLookupTimeoutMs: 2_000,
    logger: nmiLogger,
  });
});

afterAll(async () => {
  await mic?.stop();
  await nmi?.close();
  await target.stop();
});

describe(`upgrade from the Go MIC v1.8.17 (${againstRealServer ? 'real API server, shipped RBAC' : 'emulator'})`, () => {
  it('serves the pods throughout, finishes what the Go MIC left, removes what no pod uses, keeps what an administrator assigned', async () => {
    const web = pods.get('web-0')!;
    const legacy = pods.get('legacy-0')!;
    const pending = pods.get('pending-0')!;
    // Before MIC: NMI serves the records the Go MIC wrote, with and without status.
    await eventually(
      async () => (await tokenFrom(web)).status === 200,
      'NMI to serve web-0 from the Go record',
    );
    expect(await tokenFrom(legacy)).toMatchObject({
      status: 200,
      appid: identity('legacy').clientId,
    });
    // The exception of the Go documentation exempts a pod carrying one of its two labels: it reaches
    // the node's IMDS directly, for an identity on the scale set that no binding gives it.
    expect(await tokenFrom(pods.get('proxy-0')!, identity('hand').clientId)).toMatchObject({
      status: 200,
      appid: identity('hand').clientId,
    });

    const upgraded = startMic();
    // Throughout: every answer to the served pods is their own identity.
    const answers: { pod: string; status: number; appid?: string }[] = [];
    const converged = async (): Promise<boolean> =>
      (await recordState(`batch-0-${namespace}-batch`)) === undefined &&
      (await recordState(`pending-0-${namespace}-pending`)) === 'Assigned' &&
      JSON.stringify(onScaleSet()) === JSON.stringify(ids('web', 'legacy', 'pending', 'hand'));
    await eventually(async () => {
      for (const [name, pod] of [
        ['web', web],
        ['legacy', legacy],
      ] as const) {
        const answer = await tokenFrom(pod);
        answers.push({ pod: name, status: answer.status, appid: answer.appid });
      }
      return converged();
    }, 'the cluster to converge');
    await upgraded.settled();
    expect(answers.length).toBeGreaterThan(0);
    expect(
      answers.filter(
        (answer) =>
          answer.status !== 200 ||
          answer.appid !== identity(answer.pod === 'web' ? 'web' : 'legacy').clientId,
      ),
    ).toEqual([]);
    // The pod whose record the Go MIC left Created is served now.
    expect(await tokenFrom(pending)).toMatchObject({
      status: 200,
      appid: identity('pending').clientId,
    });
    // The records of running pods stay; the ledger holds what the Go MIC and this MIC assigned, never
    // what the administrator did.
    expect(await recordState(`web-0-${namespace}-web`)).toBeDefined();
    expect(await recordState(`legacy-0-${namespace}-legacy`)).toBeDefined();
    expect(await ledgerOfScaleSet()).toEqual(ids('web', 'legacy', 'pending'));

    // Once its last pod goes, an identity the Go MIC assigned is removed like one this MIC assigned.
    await target.deletePod(namespace, 'web-0');
    await eventually(
      async () =>
        (await recordState(`web-0-${namespace}-web`)) === undefined &&
        JSON.stringify(onScaleSet()) === JSON.stringify(ids('legacy', 'pending', 'hand')),
      'web to be removed with its pod',
    );
    expect(await tokenFrom(legacy)).toMatchObject({ status: 200 });
    expect(await ledgerOfScaleSet()).toEqual(ids('legacy', 'pending'));
    // The binding with pre-1.6 names is reported by name, not planned with.
    const events = await target.core.listNamespacedEvent({ namespace });
    expect(
      events.items.filter(
        (event) =>
          event.type === 'Warning' &&
          event.reason === 'invalid binding' &&
          event.involvedObject.name === 'oldapp-binding',
      ),
    ).not.toEqual([]);
    // A lane may meet a 409 (a record rewritten from a cache one write behind) and retry it; any
    // other failure is a problem.
    expect(
      problems.filter(
        (p) =>
          /planning pass failed|lane failed|TypeError/.test(p) && !p.includes('"statusCode":409'),
      ),
    ).toEqual([]);
  });

  it('with --adopt-go-mic-assignments=false leaves an identity the Go MIC assigned on the scale set once its record is released', async () => {
    await mic?.stop();
    const offNamespace = await target.namespace('goup-off');
    const kept = target.sandbox.createIdentity(`kept-${target.suffix}`);
    await assignToScaleSet([kept.id]);
    const identityObject = goManagedIdentity('kept', offNamespace, {
      resourceId: kept.id,
      clientId: kept.clientId,
    });
    const bindingObject = goBinding('kept-binding', offNamespace, 'kept', 'kept');
    await target.createCustom(plurals.AzureIdentity ?? '', identityObject);
    await target.createCustom(plurals.AzureIdentityBinding ?? '', bindingObject);
    const record = goMicRecord(identityObject, bindingObject, {
      name: 'gone',
      namespace: offNamespace,
      nodeName: node.name,
    });
    await target.createCustom(RECORDS, record);
    startMic({ adoptGoMicAssignments: false });
    await eventually(
      async () => (await recordState(record.metadata.name)) === undefined,
      'the record of the gone pod to be released',
    );
    await mic?.settled();
    expect(onScaleSet()).toContain(kept.id.toLowerCase());
    expect(await ledgerOfScaleSet()).not.toContain(kept.id.toLowerCase());
  });
});
