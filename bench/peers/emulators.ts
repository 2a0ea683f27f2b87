// Starts bench/peers' emulator process (emulators-process.ts) pinned to core 1 and talks to it.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { JsonObject } from '@pod-identity/testkit';
import type { EmulatorCommand, EmulatorsReady } from './emulators-process.ts';
import { sourceHooksPath } from '@pod-identity/test-support/source-hooks-path';

/** The running emulators. */
export interface Emulators {
  readonly ready: EmulatorsReady;
  /** A kubeconfig file for the emulated API server. */
  readonly kubeconfigPath: string;
  /** A PEM file with the CA of the ARM and Entra emulators. */
  readonly caPath: string;
  put(objects: JsonObject[]): Promise<void>;
  deletePods(namespace: string, names: string[]): Promise<void>;
  armWrites(): Promise<{ patches: number; gets: number; all: number }>;
  clearArmLog(): Promise<void>;
  /** Puts the pod NMI serves (IP 127.0.0.1 on `node`) with an identity, binding and Assigned record. */
  putCallerPod(
    node: string,
    identity: { name: string; resourceId: string; clientId: string },
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the emulators.
 * @param dir - a temporary directory for the kubeconfig and CA files
 * @param env - extra environment (e.g. where IMDS listens)
 */
export async function startEmulators(
  dir: string,
  env: Record<string, string> = {},
): Promise<Emulators> {
  const child = spawn(
    'taskset',
    [
      '-c',
      '1',
      process.execPath,
      '--conditions=source',
      '--experimental-transform-types',
      '--no-warnings',
      '--import',
      sourceHooksPath,
      join(import.meta.dirname, 'emulators-process.ts'),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const line = await lines.next();
    if (line.done === true) throw new Error('the emulator process ended');
    return JSON.parse(line.value) as unknown;
  };
  let queue: Promise<unknown> = Promise.resolve();
  const send = (command: EmulatorCommand): Promise<unknown> => {
    const answer = queue.then(() => {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return next();
    });
    queue = answer.catch(() => undefined);
    return answer;
  };
  const ready = (await next()) as EmulatorsReady;
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  writeFileSync(kubeconfigPath, ready.kubeconfigYaml);
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, ready.caPem);
  const put = async (objects: JsonObject[]): Promise<void> => {
    await send({ op: 'put', objects });
  };
  return {
    ready,
    kubeconfigPath,
    caPath,
    put,
    deletePods: async (namespace, names) => {
      await send({ op: 'delete', kind: 'Pod', namespace, names });
    },
    armWrites: async () =>
      (await send({ op: 'arm-writes' })) as { patches: number; gets: number; all: number },
    clearArmLog: async () => {
      await send({ op: 'arm-clear' });
    },
    putCallerPod: async (node, identity) => {
      const pod = 'caller';
      await put([
        identityObject(identity),
        bindingObject(identity.name, 'caller'),
        podObject(pod, node, 'caller', '127.0.0.1'),
        {
          apiVersion: 'aadpodidentity.k8s.io/v1',
          kind: 'AzureAssignedIdentity',
          metadata: {
            name: `${pod}-default-${identity.name}`,
            namespace: 'default',
            labels: { nodename: node },
          },
          spec: {
            azureIdentityRef: identityObject(identity),
            azureBindingRef: bindingObject(identity.name, 'caller'),
            pod,
            podNamespace: 'default',
            nodename: node,
          },
          status: { status: 'Assigned', availableReplicas: 1 },
        },
      ]);
    },
    stop: async () => {
      if (child.exitCode === null) {
        await send({ op: 'stop' }).catch(() => undefined);
      }
      child.kill('SIGKILL');
    },
  };
}

/** An AzureIdentity (type 0) for a user-assigned identity, in `default`. */
export function identityObject(identity: {
  name: string;
  resourceId: string;
  clientId: string;
}): JsonObject {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { name: identity.name, namespace: 'default' },
    spec: { type: 0, resourceID: identity.resourceId, clientID: identity.clientId },
  };
}

/** An AzureIdentityBinding of `identity` to pods labelled `aadpodidbinding: <selector>`. */
export function bindingObject(identity: string, selector: string): JsonObject {
  return {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { name: `${identity}-${selector}`, namespace: 'default' },
    spec: { azureIdentity: identity, selector },
  };
}

/** A running pod in `default` on `node`, bound by `selector`. */
export function podObject(name: string, node: string, selector: string, ip: string): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { aadpodidbinding: selector } },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}
