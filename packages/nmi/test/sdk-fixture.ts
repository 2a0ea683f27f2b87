// The cluster the real-SDK tests point an SDK at: one node whose scale set holds two user-assigned
// identities, a pod `sdk` bound (binding `app-id-binding`, selector `sdk`) to `app-id` only, its
// record Assigned, and NMI serving that node. `other-id` exists and is on the node, but no binding
// gives it to the pod: asking for it is a refusal nothing in flight can change.
import { createNmi, type Nmi, type NmiOptions } from '@pod-identity/nmi';
import { startSandbox, type Sandbox } from '@pod-identity/testkit';
import { pino } from 'pino';
import {
  assignToScaleSet,
  azureAssignedIdentity,
  putAssigned,
  azureIdentity,
  azureIdentityBinding,
} from './nmi-test-support.js';

/** The running fixture. */
export interface SdkFixture {
  readonly sandbox: Sandbox;
  readonly nmi: Nmi;
  /** The pod's IP: the SDK's connections must leave from it. */
  readonly podIp: string;
  /** The bound identity. */
  readonly app: { readonly clientId: string; readonly id: string };
  /** An identity on the node that is not bound to the pod. */
  readonly other: { readonly clientId: string; readonly id: string };
  /** How many token requests NMI answered with `status` (from its own metrics). */
  answered(status: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts the sandbox and NMI for the real-SDK tests.
 * @param nmiOptions - NMI options over the defaults (e.g. `refusalStyle`)
 */
export async function startSdkFixture(nmiOptions: Partial<NmiOptions> = {}): Promise<SdkFixture> {
  const sandbox = await startSandbox({ nodeCount: 1, identities: ['app-id', 'other-id'] });
  const node = sandbox.nodes[0]!;
  await assignToScaleSet(
    sandbox,
    node.scaleSetName!,
    [...sandbox.identities.values()].map((i) => i.id),
  );
  const app = sandbox.identities.get('app-id')!;
  const other = sandbox.identities.get('other-id')!;
  const pod = sandbox.createPod({
    name: 'sdk',
    nodeName: node.name,
    labels: { aadpodidbinding: 'sdk' },
  }) as { status: { podIP: string } };
  const appIdentity = azureIdentity('default', 'app-id', {
    type: 0,
    resourceID: app.id,
    clientID: app.clientId,
  });
  sandbox.kubernetes.store.put(
    azureIdentity('default', 'other-id', {
      type: 0,
      resourceID: other.id,
      clientID: other.clientId,
    }),
  );
  sandbox.kubernetes.store.put(appIdentity);
  sandbox.kubernetes.store.put(azureIdentityBinding('default', 'app-id-binding', 'app-id', 'sdk'));
  putAssigned(
    sandbox.kubernetes.store,
    azureAssignedIdentity(
      { name: 'sdk', namespace: 'default' },
      appIdentity,
      node.name,
      'Assigned',
    ),
  );
  const nmi = await createNmi({
    nodeName: node.name,
    kubeConfig: sandbox.kubeConfig,
    listenAddress: node.internalIp,
    port: 0,
    metadataIp: node.imds.host,
    metadataPort: node.imds.port,
    logger: pino({ level: 'silent' }),
    ...nmiOptions,
  });
  // createNmi resolves once every informer has its first list, so the record and binding are in.
  return {
    sandbox,
    nmi,
    podIp: pod.status.podIP,
    app,
    other,
    async answered(status) {
      const metric = nmi.registry.getSingleMetric('aadpodidentity_nmi_operations_duration_seconds');
      if (metric === undefined) return 0;
      const { values } = await metric.get();
      return values
        .filter(
          (v) =>
            (v as { metricName?: string }).metricName ===
              'aadpodidentity_nmi_operations_duration_seconds_count' &&
            v.labels.status_code === String(status) &&
            v.labels.operation_type === '/metadata/identity/oauth2/token',
        )
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await nmi.close();
      await sandbox.stop();
    },
  };
}
