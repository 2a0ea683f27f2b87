// The emulators of bench/peers, in their own process (pinned beside the load generator, away from the
// servers under test): the Kubernetes API server, ARM, Entra and one node's IMDS. Every
// implementation measured talks to these same emulators. Protocol: one JSON line on stdout once
// started (addresses, kubeconfig, CA, identities), then JSON commands on stdin, one answer a line.
import { createInterface } from 'node:readline';
import { podIdentityCrds } from '@pod-identity/core';
import {
  ArmOperation,
  getSharedCertificateAuthority,
  startArmEmulator,
  startEntraEmulator,
  startImdsEmulator,
  startKubernetesEmulator,
  type JsonObject,
} from '@pod-identity/testkit';

/** What the bench asks the emulators to do. */
export type EmulatorCommand =
  | { op: 'put'; objects: JsonObject[] }
  | { op: 'delete'; kind: string; namespace?: string; names: string[] }
  | { op: 'arm-writes' }
  | { op: 'arm-clear' }
  | { op: 'stop' };

/** The first line the emulator process writes. */
export interface EmulatorsReady {
  kubeconfigYaml: string;
  kubeUrl: string;
  armUrl: string;
  entraUrl: string;
  imdsUrl: string;
  caPem: string;
  tenantId: string;
  subscriptionId: string;
  nodeResourceGroup: string;
  clusterPrincipal: { clientId: string; clientSecret: string };
  /** Nodes: name and the scale set instance (provider id) they run on. */
  nodes: { name: string; providerId: string; scaleSet: string }[];
  /** User-assigned identities: name, resource id, client id. */
  identities: { name: string; resourceId: string; clientId: string }[];
}

const SUBSCRIPTION = '00000000-0000-0000-0000-0000000bea5e';
const NODE_RESOURCE_GROUP = 'MC_bench_bench_westeurope';
const SCALE_SETS = Number(process.env.PEERS_SCALE_SETS ?? '10');
const NODES_PER_SET = Number(process.env.PEERS_NODES_PER_SET ?? '2');
const IDENTITIES = Number(process.env.PEERS_IDENTITIES ?? '10');
const IMDS_HOST = process.env.PEERS_IMDS_HOST ?? '127.0.0.1';
const IMDS_PORT = Number(process.env.PEERS_IMDS_PORT ?? '0');

const ca = getSharedCertificateAuthority();
const kube = await startKubernetesEmulator();
for (const crd of podIdentityCrds()) kube.store.put(crd as unknown as JsonObject);
kube.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
const entra = await startEntraEmulator({ certificateAuthority: ca });
const arm = await startArmEmulator({ certificateAuthority: ca, operationDurationMs: 0 });
const clientSecret = 'bench-cluster-secret';
const principal = entra.registerServicePrincipal({ tenantId: arm.tenantId, clientSecret });

const identities = Array.from({ length: IDENTITIES }, (_, i) => {
  const info = arm.createUserAssignedIdentity({
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'identities',
    name: `id-${String(i)}`,
    location: 'westeurope',
  });
  return { name: `id-${String(i)}`, resourceId: info.id, clientId: info.clientId };
});
const nodes: EmulatorsReady['nodes'] = [];
let firstInstance: string | undefined;
for (let s = 0; s < SCALE_SETS; s += 1) {
  const scaleSet = arm.addScaleSet({
    subscriptionId: SUBSCRIPTION,
    resourceGroup: NODE_RESOURCE_GROUP,
    name: `vmss-${String(s)}`,
    location: 'westeurope',
    instanceCount: NODES_PER_SET,
    // The node's IMDS serves identity 0: NMI's token requests for it are answered.
    ...(s === 0 && identities[0] !== undefined
      ? { userAssignedIdentities: [identities[0].resourceId] }
      : {}),
  });
  for (const instance of scaleSet.instances) {
    firstInstance ??= instance.id;
    const name = instance.computerName;
    // AKS writes the node resource group in lower case into provider ids.
    const providerId = `azure://${instance.id.replace(NODE_RESOURCE_GROUP, NODE_RESOURCE_GROUP.toLowerCase())}`;
    nodes.push({ name, providerId, scaleSet: scaleSet.name });
    kube.store.put({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
      spec: { providerID: providerId },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
}
if (firstInstance === undefined) throw new Error('no scale set instance');
const imds = await startImdsEmulator({
  arm,
  resourceId: firstInstance,
  host: IMDS_HOST,
  port: IMDS_PORT,
});

const ready: EmulatorsReady = {
  kubeconfigYaml: kube.kubeconfigYaml,
  kubeUrl: kube.url,
  armUrl: arm.url,
  entraUrl: entra.url,
  imdsUrl: imds.url,
  caPem: ca.certificatePem,
  tenantId: arm.tenantId,
  subscriptionId: SUBSCRIPTION,
  nodeResourceGroup: NODE_RESOURCE_GROUP,
  clusterPrincipal: { clientId: principal.clientId, clientSecret },
  nodes,
  identities,
};
process.stdout.write(`${JSON.stringify(ready)}\n`);

const answer = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as EmulatorCommand;
  switch (command.op) {
    case 'put':
      for (const object of command.objects) kube.store.put(object);
      answer({ ok: true });
      break;
    case 'delete':
      for (const name of command.names) {
        kube.store.delete(
          {
            apiVersion: command.kind === 'Pod' ? 'v1' : 'aadpodidentity.k8s.io/v1',
            kind: command.kind,
            name,
            ...(command.namespace === undefined ? {} : { namespace: command.namespace }),
          },
          { gracePeriodSeconds: 0 },
        );
      }
      answer({ ok: true });
      break;
    case 'arm-writes':
      answer({
        ok: true,
        patches: arm.countRequests({ operation: ArmOperation.ScaleSetUpdate }),
        gets: arm.countRequests({ operation: ArmOperation.ScaleSetGet }),
        all: arm.requestLog().length,
      });
      break;
    case 'arm-clear':
      arm.clearRequestLog();
      answer({ ok: true });
      break;
    case 'stop':
      await Promise.all([kube.close(), arm.stop(), entra.stop(), imds.stop()]);
      answer({ ok: true });
      process.exit(0);
  }
}
