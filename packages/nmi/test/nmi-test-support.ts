// Helpers shared by the NMI integration tests: calls from a "pod" (a socket bound to the pod's IP),
// CRD builders, and identity assignment through the ARM emulator.
import http from 'node:http';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenSource } from '@pod-identity/core/azure';
import type { createMemoryClusterState } from '@pod-identity/nmi';
import type { Sandbox } from '@pod-identity/testkit';
import { expect } from 'vitest';

/** An HTTP answer. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Options of {@link call}. */
export interface CallOptions {
  /** The caller's source address (the pod IP). */
  from?: string;
  headers?: Record<string, string>;
  method?: string;
  /** A raw request target, sent as is. */
  path: string;
}

/**
 * Sends one request to NMI from a given source address, like a pod whose traffic was redirected.
 * @param baseUrl - NMI's URL
 * @param options - source address, path, headers
 */
export function call(baseUrl: string, options: CallOptions): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
        agent: false,
        ...(options.from === undefined ? {} : { localAddress: options.from }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A token request with `Metadata: true` from a pod. */
export function tokenRequest(baseUrl: string, from: string, query: string): Promise<Answer> {
  return call(baseUrl, {
    from,
    path: `/metadata/identity/oauth2/token?api-version=2018-02-01&${query}`,
    headers: { Metadata: 'true' },
  });
}

/** The claims of a JWT. */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The `access_token` of an IMDS-shaped answer. */
export function accessTokenOf(answer: Answer): string {
  const parsed = JSON.parse(answer.body) as { access_token?: string };
  if (parsed.access_token === undefined) throw new Error(`no access_token in ${answer.body}`);
  return parsed.access_token;
}

const apiVersion = 'aadpodidentity.k8s.io/v1';

/** An AzureIdentity object for the emulator's store. */
export function azureIdentity(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
) {
  return {
    apiVersion,
    kind: 'AzureIdentity',
    metadata: { namespace, name, ...(annotations ? { annotations } : {}) },
    spec,
  };
}

/** An AzureIdentityBinding object. */
export function azureIdentityBinding(
  namespace: string,
  name: string,
  azureIdentity: string,
  selector: string,
) {
  return {
    apiVersion,
    kind: 'AzureIdentityBinding',
    metadata: { namespace, name },
    spec: { azureIdentity, selector },
  };
}

/** An AzurePodIdentityException object. */
export function azurePodIdentityException(
  namespace: string,
  name: string,
  podLabels: Record<string, string>,
) {
  return {
    apiVersion,
    kind: 'AzurePodIdentityException',
    metadata: { namespace, name },
    spec: { podLabels },
  };
}

/**
 * An AzureAssignedIdentity as MIC writes it, for a pod and an identity object. Its binding's selector
 * is the pod's `aadpodidbinding` label (`selector`, which these tests default to the pod's name), its
 * name `binding` (default `<identity>-binding`; one per selector, as NMI checks it), and with `uid` the
 * record carries the pod UID as this MIC writes it (the original MIC did not).
 */
export function azureAssignedIdentity(
  pod: { name: string; namespace: string; selector?: string; uid?: string; binding?: string },
  identity: ReturnType<typeof azureIdentity>,
  nodeName: string,
  state: 'Created' | 'Assigned' | 'Unassigned',
) {
  const binding = azureIdentityBinding(
    identity.metadata.namespace,
    pod.binding ?? `${identity.metadata.name}-binding`,
    identity.metadata.name,
    pod.selector ?? pod.name,
  );
  return {
    apiVersion,
    kind: 'AzureAssignedIdentity',
    metadata: {
      namespace: 'default',
      name: `${pod.name}-${pod.namespace}-${identity.metadata.name}`,
      labels: { nodename: nodeName },
      ...(pod.uid === undefined
        ? {}
        : { annotations: { 'aadpodidentity.k8s.io/pod-uid': pod.uid } }),
    },
    spec: {
      azureIdentityRef: identity,
      azureBindingRef: binding,
      pod: pod.name,
      podNamespace: pod.namespace,
      nodename: nodeName,
    },
    status: { status: state, availableReplicas: 1 },
  };
}

/**
 * Puts a record into the emulator's store with the binding and identity it was made from, as they are
 * when MIC writes it: NMI serves a record only while its binding still selects the pod and names that
 * identity, which still exists.
 * @param store - the emulator's store
 * @param record - from {@link azureAssignedIdentity}
 */
export function putAssigned(
  store: { put(object: Record<string, unknown>): unknown },
  record: ReturnType<typeof azureAssignedIdentity>,
): void {
  store.put(record.spec.azureIdentityRef);
  store.put(record.spec.azureBindingRef);
  store.put(record);
}

/**
 * Assigns user-assigned identities to a node's scale set through the ARM emulator, with the real
 * `@azure/arm-compute` client (what MIC or `az aks pod-identity add` would do).
 */
// Keeps the scale set's system-assigned identity (exception pods use it).
export async function assignToScaleSet(
  sandbox: Sandbox,
  scaleSetName: string,
  identityIds: readonly string[],
): Promise<void> {
  const credential = {
    getToken: () => Promise.resolve({ token: 'test', expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  const client = new ComputeManagementClient(credential, sandbox.subscriptionId, {
    endpoint: sandbox.endpoints.arm,
    ...sandbox.azureClientOptions,
  });
  await client.virtualMachineScaleSets.update(sandbox.nodeResourceGroup, scaleSetName, {
    identity: {
      type: 'SystemAssigned, UserAssigned',
      userAssignedIdentities: Object.fromEntries(identityIds.map((id) => [id, {}])),
    },
  });
}

/** A token source that answers a fresh token for whatever resource is asked and counts its calls. */
export interface CountingTokenSource extends TokenSource {
  /** How many times NMI asked it (a cache miss each). */
  readonly fetches: number;
}

/** A {@link CountingTokenSource}: each token is `token-<n>`, valid for an hour. */
export function countingTokenSource(): CountingTokenSource {
  let fetches = 0;
  return {
    key: 'fake',
    get fetches() {
      return fetches;
    },
    getTokens: (resource) => {
      fetches += 1;
      return Promise.resolve([
        {
          accessToken: `token-${String(fetches)}`,
          expiresOnTimestamp: Date.now() + 3_600_000,
          notBeforeTimestamp: Date.now(),
          resource,
        },
      ]);
    },
  };
}

/**
 * Puts a running pod in `default` into an in-memory cluster state, labelled `aadpodidbinding=<name>`
 * and with an Assigned record of the user-assigned identity `default/id` (client ID `c1`).
 */
export function seedBoundPod(
  state: ReturnType<typeof createMemoryClusterState>,
  pod: { name: string; podIPs: string[] },
): void {
  state.pods.upsert({
    namespace: 'default',
    name: pod.name,
    phase: 'Running',
    podIPs: pod.podIPs,
    labels: { aadpodidbinding: pod.name },
  });
  const identity = azureIdentity('default', 'id', {
    type: 0,
    clientID: 'c1',
    resourceID:
      '/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id',
  });
  const record = azureAssignedIdentity(
    { name: pod.name, namespace: 'default' },
    identity,
    'n',
    'Assigned',
  );
  state.set({
    identities: [identity] as never,
    bindings: [record.spec.azureBindingRef] as never,
    assignedIdentities: [record] as never,
  });
}

/**
 * The IP the sandbox gave a pod (the address its requests to NMI come from).
 * @param sandbox - the sandbox holding the pod
 * @param name - the pod's name
 * @param namespace - the pod's namespace
 */
export function podIpOf(sandbox: Sandbox, name: string, namespace = 'default'): string {
  const pod = sandbox.kubernetes.store.get({ apiVersion: 'v1', kind: 'Pod', namespace, name });
  const status = pod?.status as { podIP?: string } | undefined;
  if (status?.podIP === undefined) throw new Error(`pod ${namespace}/${name} has no IP`);
  return status.podIP;
}

/**
 * Waits for an informer to deliver: the condition is an event, checked on each turn of the loop
 * (at most 400 turns of 5 ms), then asserted.
 * @param predicate - the condition
 */
export async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !predicate(); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(predicate()).toBe(true);
}
