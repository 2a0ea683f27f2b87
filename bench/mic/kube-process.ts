// The Kubernetes emulator for bench/mic, in its own process: reads JSON commands (one a line) on
// stdin, writes one JSON answer a line on stdout.
import { createInterface } from 'node:readline';
import { podIdentityCrds } from '@pod-identity/core';
import { startKubernetesEmulator, type JsonObject } from '@pod-identity/testkit';

const kube = await startKubernetesEmulator();
// Without the root `metadata` schema entry: the emulator prunes into it when named (kube does not).
for (const crd of podIdentityCrds()) {
  const copy = structuredClone(crd) as unknown as {
    spec: {
      versions: { schema?: { openAPIV3Schema?: { properties?: Record<string, unknown> } } }[];
    };
  };
  for (const version of copy.spec.versions)
    delete version.schema?.openAPIV3Schema?.properties?.metadata;
  kube.store.put(copy);
}
for (const name of ['kube-system'])
  kube.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
process.stdout.write(`${JSON.stringify({ kubeconfig: kube.kubeconfigYaml })}\n`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line) as { op: 'put'; objects: JsonObject[] } | { op: 'stop' };
  if (command.op === 'stop') {
    await kube.close();
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
    break;
  }
  const started = performance.now();
  for (const object of command.objects) kube.store.put(object);
  process.stdout.write(`${JSON.stringify({ ok: true, ms: performance.now() - started })}\n`);
}
process.exit(0);
