// The states of the sandbox the guides' command blocks start from (`<!-- doc-run scenario=… -->`).
// Each prepares a fresh CliSandbox as the guide's prose describes it and returns the variables its
// commands use (`$IDENTITY_ID`, which the guide obtains with az).
import { setScaleSetIdentity } from '@pod-identity/cli';
import { NODE_GROUP, SCALE_SET, SUBSCRIPTION, type CliSandbox } from './cli-sandbox.js';

const GROUP = 'aadpodidentity.k8s.io/v1';
/** The scale set of the node pool an upgrade brings (`az aks nodepool upgrade`, a new pool). */
const NEW_SCALE_SET = 'aks-nodepool2-87654321-vmss';

type Variables = Record<string, string>;
type Scenario = (sandbox: CliSandbox) => Promise<Variables>;

function identityIn(sandbox: CliSandbox): Variables {
  const identity = sandbox.createIdentity('my-identity', 'myResourceGroup');
  return { IDENTITY_ID: identity.id, IDENTITY_CLIENT_ID: identity.clientId };
}

function firstNode(sandbox: CliSandbox): string {
  const node = sandbox.kube.store.list({ apiVersion: 'v1', kind: 'Node' })[0];
  return (node?.metadata as { name: string }).name;
}

function putPod(
  sandbox: CliSandbox,
  options: { name?: string; labels?: Record<string, string>; node?: string } = {},
): void {
  sandbox.kube.store.put({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name ?? 'demo',
      namespace: 'my-app',
      labels: options.labels ?? { aadpodidbinding: 'demo' },
    },
    spec: {
      nodeName: options.node ?? firstNode(sandbox),
      containers: [{ name: 'app', image: 'demo' }],
    },
    status: { phase: 'Running', podIP: '10.244.1.7' },
  });
}

/** MIC's record for the demo pod, in the state given. */
function putRecord(sandbox: CliSandbox, state: string, node = firstNode(sandbox)): void {
  const stored = (kind: string, name: string): unknown =>
    sandbox.kube.store.get({ apiVersion: GROUP, kind, namespace: 'my-app', name });
  sandbox.kube.store.put({
    apiVersion: GROUP,
    kind: 'AzureAssignedIdentity',
    metadata: { name: 'demo-my-app-my-pod-identity', namespace: 'my-app' },
    spec: {
      azureIdentityRef: stored('AzureIdentity', 'my-pod-identity'),
      azureBindingRef: stored('AzureIdentityBinding', 'my-pod-identity-binding'),
      pod: 'demo',
      podNamespace: 'my-app',
      nodename: node,
    },
    status: { status: state, availableReplicas: 1 },
  });
}

async function withPodIdentity(sandbox: CliSandbox, mode = 'standard'): Promise<Variables> {
  await sandbox.must('enable', '--mode', mode);
  const variables = identityIn(sandbox);
  await sandbox.addPodIdentity(
    'my-app',
    'my-pod-identity',
    variables.IDENTITY_ID ?? '',
    '--binding-selector',
    'demo',
  );
  return variables;
}

async function onScaleSet(sandbox: CliSandbox, scaleSet: string, id: string): Promise<void> {
  await setScaleSetIdentity(
    { subscriptionId: SUBSCRIPTION, resourceGroup: NODE_GROUP, name: scaleSet },
    id,
    true,
    sandbox.azure,
  );
}

/** The scenarios by name. */
export const DOC_SCENARIOS: Readonly<Record<string, Scenario>> = {
  /** A cluster where pod-identity was never enabled; an identity exists in Azure. */
  'fresh-cluster': (sandbox) => Promise.resolve(identityIn(sandbox)),
  /** `pod-identity enable` done (standard mode); an identity exists in Azure. */
  enabled: async (sandbox) => {
    await sandbox.must('enable');
    return identityIn(sandbox);
  },
  /** The add-on's managed mode recorded; an identity exists in Azure. */
  'enabled-managed': async (sandbox) => {
    await sandbox.must('enable', '--mode', 'managed');
    return identityIn(sandbox);
  },
  /**
   * Right after the add-on was disabled and the chart installed in managed mode: the demo pod runs,
   * its identity is still on the node scale set (the add-on put it there), no pod identity exists.
   */
  'add-on-removed': async (sandbox) => {
    await sandbox.must('enable', '--mode', 'managed');
    const variables = identityIn(sandbox);
    await onScaleSet(sandbox, SCALE_SET, variables.IDENTITY_ID ?? '');
    putPod(sandbox);
    return variables;
  },
  /** A pod identity my-app/my-pod-identity (selector demo), no pod yet. */
  'pod-identity': (sandbox) => withPodIdentity(sandbox),
  /** The demo pod started a moment ago: MIC has recorded its identity but not yet assigned it. */
  'just-started': async (sandbox) => {
    const variables = await withPodIdentity(sandbox);
    putPod(sandbox);
    putRecord(sandbox, 'Created');
    return variables;
  },
  /** The demo pod served: its identity assigned and on the node's scale set. */
  served: async (sandbox) => {
    const variables = await withPodIdentity(sandbox);
    putPod(sandbox);
    putRecord(sandbox, 'Assigned');
    await onScaleSet(sandbox, SCALE_SET, variables.IDENTITY_ID ?? '');
    return variables;
  },
  /** The demo pod labelled with a selector no binding has. */
  'wrong-label': async (sandbox) => {
    const variables = await withPodIdentity(sandbox);
    putPod(sandbox, { labels: { aadpodidbinding: 'demo-app' } });
    return variables;
  },
  /**
   * After a node-pool upgrade: the pod runs on a node of the new pool's scale set, MIC's record says
   * Assigned, but the identity is on the old scale set only.
   */
  'node-pool-upgraded': async (sandbox) => {
    const variables = await withPodIdentity(sandbox);
    const scaleSet = sandbox.arm.addScaleSet({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: NODE_GROUP,
      name: NEW_SCALE_SET,
      instanceCount: 1,
    });
    const instance = scaleSet.instances[0];
    if (instance === undefined) throw new Error('the new scale set has no instance');
    sandbox.kube.store.put({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: instance.computerName, labels: { 'kubernetes.io/os': 'linux' } },
      spec: { providerID: `azure://${instance.id}` },
    });
    await onScaleSet(sandbox, SCALE_SET, variables.IDENTITY_ID ?? '');
    putPod(sandbox, { node: instance.computerName });
    putRecord(sandbox, 'Assigned', instance.computerName);
    return variables;
  },
  /** A probe pod in my-app that an exception lets reach IMDS directly. */
  excepted: async (sandbox) => {
    const variables = await withPodIdentity(sandbox);
    await sandbox.must(
      'exception',
      'add',
      '-n',
      'my-app',
      '--name',
      'allow-probe',
      '--pod-labels',
      'app=probe',
    );
    putPod(sandbox, { name: 'probe', labels: { app: 'probe', aadpodidbinding: 'demo' } });
    return variables;
  },
};
