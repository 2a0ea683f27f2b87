// The Kubernetes emulator for bench/mic, in its own process: reads JSON commands (one a line) on
// stdin, writes one JSON answer a line on stdout.
import { createInterface } from 'node:readline';
import { podIdentityCrds } from '@pod-identity/core';
import { startKubernetesEmulator, type JsonObject } from '@pod-identity/testkit';

const kube = await startKubernetesEmulator();
for (const crd of podIdentityCrds()) kube.store.put(crd as unknown as JsonObject);
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
