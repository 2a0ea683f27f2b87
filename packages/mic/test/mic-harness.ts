// Shared setup of the MIC integration tests: a testkit sandbox (Kubernetes + ARM emulators through
// the real client-node and arm-compute clients) and helpers to write identities, bindings and pods.
import { ComputeManagementClient, type VirtualMachineScaleSetIdentity } from '@azure/arm-compute';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { createMic, type Logger, type Mic, type MicOptions } from '@pod-identity/mic';
import { startSandbox, type Sandbox, type SandboxOptions } from '@pod-identity/testkit';

export const credential: TokenCredential = {
  getToken: (): Promise<AccessToken> =>
    Promise.resolve({ token: 'arm-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export const MIC_NAMESPACE = 'kube-system';

export interface Harness {
  sandbox: Sandbox;
  mics: Mic[];
  startMic(overrides?: Partial<MicOptions>): Mic;
  identity(
    name: string,
    options?: {
      namespace?: string;
      type?: number;
      clientID?: string;
      resourceID?: string;
      namespaced?: boolean;
      /** Annotated `aadpodidentity.k8s.io/federated: "true"`. */
      federated?: boolean;
    },
  ): { resourceId: string; clientId: string };
  binding(name: string, identityName: string, selector: string, namespace?: string): void;
  pod(name: string, nodeName: string, selector: string, namespace?: string): void;
  records(): AssignedRecord[];
  record(name: string, namespace?: string): AssignedRecord | undefined;
  events(reason?: string): {
    reason: string;
    type: string;
    message: string;
    involvedObject: { kind: string; name: string };
  }[];
  idsOn(targetId: string): string[];
  /** Sets a scale set's identity through ARM, as an administrator would by hand (outside MIC). */
  setScaleSetIdentity(
    scaleSetName: string,
    identity: VirtualMachineScaleSetIdentity,
  ): Promise<void>;
  stop(): Promise<void>;
}

export interface AssignedRecord {
  metadata: {
    name: string;
    namespace: string;
    finalizers?: string[];
    labels?: Record<string, string>;
  };
  spec: { pod: string; podNamespace: string; nodename: string };
  status?: { status?: string };
}

/**
 * Polls until `check` returns true (the emulators push changes over watches; there is no single event
 * to await for "the controller converged").
 */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Sets a scale set's identity through ARM (arm-compute against the sandbox's emulator), as an
 * administrator by hand or another controller (the Go MIC) would, outside the MIC under test.
 */
export async function setScaleSetIdentity(
  sandbox: Sandbox,
  scaleSetName: string,
  identity: VirtualMachineScaleSetIdentity,
): Promise<void> {
  const compute = new ComputeManagementClient(credential, sandbox.subscriptionId, {
    endpoint: sandbox.endpoints.arm,
    ...sandbox.azureClientOptions,
    retryOptions: { maxRetries: 0 },
  });
  await compute.virtualMachineScaleSets.update(
    sandbox.nodeResourceGroup,
    scaleSetName,
    { identity },
    { updateIntervalInMs: 5 },
  );
}

export async function startHarness(options: SandboxOptions = {}): Promise<Harness> {
  // The sandbox installs the CRDs exactly as shipped (schemas with their root `metadata` entry).
  const sandbox = await startSandbox({ nodeCount: 2, ...options });
  const store = sandbox.kubernetes.store;
  const mics: Mic[] = [];
  for (const name of ['team-a', 'team-b', MIC_NAMESPACE]) {
    if (store.get({ apiVersion: 'v1', kind: 'Namespace', name }) === undefined) {
      store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }
  const debug = process.env.MIC_TEST_DEBUG === '1';
  const log = (level: string) => (fields: Record<string, unknown>, message?: string) => {
    if (debug)
      console.log(
        level,
        message,
        JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v)),
      );
  };
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  const identities = new Map<string, { resourceId: string; clientId: string }>();
  return {
    sandbox,
    mics,
    startMic(overrides = {}) {
      const mic = createMic({
        kubeConfig: sandbox.kubeConfig,
        credential,
        armEndpoint: sandbox.endpoints.arm,
        armClientOptions: sandbox.azureClientOptions,
        namespace: MIC_NAMESPACE,
        leaderElection: false,
        armPollIntervalMs: 5,
        updateUserMsiRetryIntervalMs: 5,
        coalesceWindowMs: 5,
        // The scenarios write hundreds of records; the --clientQps default (5/s) has its own test.
        clientQps: Number.POSITIVE_INFINITY,
        logger,
        ...overrides,
      });
      mics.push(mic);
      mic.start();
      return mic;
    },
    identity(name, o = {}) {
      const namespace = o.namespace ?? 'default';
      let info = identities.get(`${namespace}/${name}`);
      if (info === undefined) {
        const created = (o.type ?? 0) === 0 ? sandbox.createIdentity(name) : undefined;
        info = {
          resourceId: o.resourceID ?? created?.id ?? '',
          clientId: o.clientID ?? created?.clientId ?? '00000000-0000-0000-0000-0000000000aa',
        };
        identities.set(`${namespace}/${name}`, info);
      }
      store.put({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentity',
        metadata: {
          name,
          namespace,
          annotations: {
            ...(o.namespaced === true ? { 'aadpodidentity.k8s.io/Behavior': 'namespaced' } : {}),
            ...(o.federated === true ? { 'aadpodidentity.k8s.io/federated': 'true' } : {}),
          },
        },
        spec: {
          type: o.type ?? 0,
          resourceID: o.resourceID ?? info.resourceId,
          clientID: o.clientID ?? info.clientId,
          ...((o.type ?? 0) === 0
            ? {}
            : { tenantID: sandbox.tenantId, clientPassword: { name: 'sp', namespace } }),
        },
      });
      return info;
    },
    binding(name, identityName, selector, namespace = 'default') {
      store.put({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureIdentityBinding',
        metadata: { name, namespace },
        spec: { azureIdentity: identityName, selector },
      });
    },
    pod(name, nodeName, selector, namespace = 'default') {
      sandbox.createPod({ name, namespace, nodeName, labels: { aadpodidbinding: selector } });
    },
    records: () =>
      store.list({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureAssignedIdentity',
      }) as unknown as AssignedRecord[],
    record: (name, namespace = 'default') =>
      store.get({
        apiVersion: 'aadpodidentity.k8s.io/v1',
        kind: 'AzureAssignedIdentity',
        namespace,
        name,
      }) as AssignedRecord | undefined,
    events: (reason) =>
      (
        store.list({ apiVersion: 'v1', kind: 'Event' }) as unknown as ReturnType<Harness['events']>
      ).filter((e) => reason === undefined || e.reason === reason),
    idsOn: (targetId) =>
      (sandbox.arm.getIdentityAssignment(targetId)?.userAssigned ?? [])
        .map((u) => u.resourceId.toLowerCase())
        .sort(),
    setScaleSetIdentity: (scaleSetName, identity) =>
      setScaleSetIdentity(sandbox, scaleSetName, identity),
    async stop() {
      await Promise.all(mics.map((mic) => mic.stop()));
      await sandbox.stop();
    },
  };
}
