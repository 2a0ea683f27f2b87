import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ClientSecretCredential } from '@azure/identity';
import { CoreV1Api, KubeConfig, V1Namespace, V1ObjectMeta } from '@kubernetes/client-node';
import { IdentityNotAssignedError, getToken } from '@pod-identity/client';
import { runDemoRound } from '@pod-identity/example-demo';
import { createMic, type Mic } from '@pod-identity/mic';
import { createNmi, type Nmi } from '@pod-identity/nmi';
import { decodeToken, startSandbox, type Sandbox, type SandboxNode } from '@pod-identity/testkit';
import { pino } from 'pino';
import { runCliOnSandbox } from './sandbox-cli.ts';

/** Options of {@link runWalkthrough}. */
export interface WalkthroughOptions {
  /** Where the walkthrough prints, one line per call. */
  write: (line: string) => void;
  /**
   * How the demo pod runs: `process` (a child `node` process running `demoAppEntry`, bound to its pod
   * IP) or `in-process` (the demo app's round in this process, its sockets bound to the pod IP).
   * Default `process`.
   */
  podRunner?: 'process' | 'in-process';
  /** The demo app's entry for the `process` runner (a `.ts` file Node runs by type stripping, or built `.js`). */
  demoAppEntry?: string;
  /** Gives up on a step that waits (for MIC, for NMI) after this long. Default 30 s. */
  stepTimeoutMs?: number;
}

/** How the walkthrough went. */
export interface WalkthroughResult {
  /** Every step passed. */
  ok: boolean;
  /** Steps that passed. */
  passed: number;
  /** Number of steps. */
  total: number;
  /** Wall time. */
  durationMs: number;
  /** The step that failed and why, if one did. */
  failure?: { step: number; title: string; message: string };
}

const NAMESPACE = 'my-app';
const POD_IDENTITY = 'my-pod-identity';
const SECOND_POD_IDENTITY = 'my-second-pod-identity';
const SELECTOR = 'demo';
const ARM_RESOURCE = 'https://management.azure.com/';

interface World {
  sandbox: Sandbox;
  mic: Mic;
  nmis: Map<string, Nmi>;
  credential: ClientSecretCredential;
  identity: { id: string; clientId: string };
  second: { id: string; clientId: string };
  stranger: { id: string; clientId: string };
  demoNode: SandboxNode;
  multiNode: SandboxNode;
  caFile: string;
}

/**
 * Runs the administrator's walkthrough (the AKS pod-managed identity workflow) on the embedded sandbox:
 * a cluster with pod identity enabled (MIC and one NMI per node on the testkit's Kubernetes, ARM,
 * Entra and per-node IMDS emulators), an identity, `pod-identity add`, the demo pod acquiring a token
 * through NMI and listing VMs through ARM, two identities behind one selector, a request for an
 * identity the pod is not bound to refused on NMI's first answer with its reason, the migration to
 * workload identity federation, deletion and the identity leaving the scale set, clean-up. Prints each step as the walkthrough does; stops at the
 * first failed step. Never throws.
 */
export async function runWalkthrough(options: WalkthroughOptions): Promise<WalkthroughResult> {
  const write = options.write;
  const timeoutMs = options.stepTimeoutMs ?? 30_000;
  const started = performance.now();
  const world: Partial<World> = {};
  const cli = async (args: string[]): Promise<string> => {
    write(`  $ pod-identity ${args.join(' ')}`);
    if (world.sandbox === undefined || world.credential === undefined)
      throw new Error('the sandbox is not running');
    const { code, stdout, stderr } = await runCliOnSandbox(world.sandbox, world.credential, args);
    for (const line of stdout.trimEnd().split('\n')) if (line !== '') write(`    ${line}`);
    if (code !== 0)
      throw new Error(`pod-identity ${args[0] ?? ''} exited with ${code}: ${stderr.trim()}`);
    return stdout;
  };
  const need = <K extends keyof World>(key: K): World[K] => {
    const value = world[key];
    if (value === undefined) throw new Error(`${key} is not set up (an earlier step failed)`);
    return value;
  };

  const steps: { title: string; run: () => Promise<void>; explainOnFailure?: string[] }[] = [
    {
      title:
        'Create the cluster with pod identity enabled (az aks create --enable-pod-identity --network-plugin azure)',
      run: async () => {
        const sandbox = await startSandbox({
          nodeCount: 2,
          installCrds: false,
          verifyArmTokens: true,
          // Nodes may request their pods' tokens for Entra's exchange (step 9 migrates to it).
          federated: true,
        });
        world.sandbox = sandbox;
        const sp = sandbox.clusterServicePrincipal;
        world.credential = new ClientSecretCredential(
          sp.tenantId,
          sp.clientId,
          sp.clientSecret,
          sandbox.credentialOptions,
        );
        const dir = mkdtempSync(join(tmpdir(), 'pod-identity-demo-'));
        world.caFile = join(dir, 'ca.pem');
        writeFileSync(world.caFile, sandbox.caPem);
        write(
          `  sandbox: Kubernetes ${sandbox.endpoints.kubernetes}, ARM ${sandbox.endpoints.arm}, Entra ${sandbox.endpoints.entra}`,
        );
        for (const node of sandbox.nodes) {
          write(
            `  node ${node.name}: scale set ${node.scaleSetName ?? '-'} in ${sandbox.nodeResourceGroup}, pods ${node.podAddressRange.first}-${node.podAddressRange.last}`,
          );
        }
        await cli(['enable', '--mode', 'standard']);
        const mic = createMic({
          kubeConfig: sandbox.kubeConfig,
          credential: world.credential,
          armEndpoint: sandbox.endpoints.arm,
          armClientOptions: sandbox.azureClientOptions,
          namespace: 'kube-system',
          leaderElection: false,
          armPollIntervalMs: 50,
        });
        mic.start();
        world.mic = mic;
        await mic.whenActive(AbortSignal.timeout(timeoutMs));
        write('  MIC started (one replica, leader): watching pods, identities, bindings');
        world.nmis = new Map();
        for (const node of sandbox.nodes) {
          const imds = new URL(node.imdsUrl);
          // The node's own credentials, as the kubelet's kubeconfig gives them to NMI on AKS.
          const tokenRequestKubeConfig = new KubeConfig();
          tokenRequestKubeConfig.loadFromString(node.nodeKubeconfigYaml);
          const nmi = await createNmi({
            nodeName: node.name,
            kubeConfig: sandbox.kubeConfig,
            listenAddress: node.internalIp,
            port: 0,
            metadataIp: imds.hostname,
            metadataPort: Number(imds.port),
            // NMI holds a token request while MIC assigns the identity; poll that often.
            findIdentityRetryIntervalMs: 200,
            credentialOptions: sandbox.credentialOptions,
            federated: {
              tokenRequestKubeConfig,
              defaultTenantId: sandbox.tenantId,
              authorityHost: sandbox.endpoints.entra,
            },
            logger: pino({ level: 'silent' }),
          });
          world.nmis.set(node.name, nmi);
          write(
            `  NMI on ${node.name} at ${nmi.url} (the node's IMDS is ${node.imdsUrl}; federated mode with the node's credentials)`,
          );
        }
        const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
        const namespace = Object.assign(new V1Namespace(), {
          metadata: Object.assign(new V1ObjectMeta(), { name: NAMESPACE }),
        });
        await core.createNamespace({ body: namespace });
        write(`  $ kubectl create namespace ${NAMESPACE}`);
        write(`    namespace/${NAMESPACE} created`);
      },
    },
    {
      title: 'Create a user-assigned identity (az identity create)',
      run: () => {
        const sandbox = need('sandbox');
        const identity = sandbox.createIdentity('demo-identity');
        world.identity = identity;
        write(`  identity demo-identity in ${sandbox.resourceGroup}`);
        write(`    clientId:   ${identity.clientId}`);
        write(`    resourceId: ${identity.id}`);
        return Promise.resolve();
      },
    },
    {
      title: 'Grant the identity "Virtual Machine Contributor" on the node resource group',
      run: () => {
        const sandbox = need('sandbox');
        write(
          `  on Azure: az role assignment create --role "Virtual Machine Contributor" --assignee ${need('identity').clientId} --scope <id of ${sandbox.nodeResourceGroup}>`,
        );
        write(
          '  not modelled by the sandbox: its ARM accepts any token its Entra or IMDS signed for https://management.azure.com/ (and refuses any other)',
        );
        return Promise.resolve();
      },
    },
    {
      title: `Add the pod identity (az aks pod-identity add --namespace ${NAMESPACE} --name ${POD_IDENTITY} --binding-selector ${SELECTOR})`,
      run: async () => {
        await cli([
          'add',
          '--namespace',
          NAMESPACE,
          '--name',
          POD_IDENTITY,
          '--identity-resource-id',
          need('identity').id,
          '--binding-selector',
          SELECTOR,
        ]);
      },
    },
    {
      title: `Show the AzureIdentity and AzureIdentityBinding (kubectl get azureidentity,azureidentitybinding -n ${NAMESPACE})`,
      run: async () => {
        const table = await cli(['list', '--namespace', NAMESPACE]);
        if (!table.includes(POD_IDENTITY)) throw new Error(`${POD_IDENTITY} is not listed`);
      },
    },
    {
      title: `Run the demo pod (label aadpodidbinding: ${SELECTOR})`,
      explainOnFailure: ['demo'],
      run: async () => {
        const sandbox = need('sandbox');
        const node = sandbox.nodes[0];
        if (node === undefined) throw new Error('the sandbox has no node');
        world.demoNode = node;
        const pod = sandbox.createPod({
          name: 'demo',
          namespace: NAMESPACE,
          nodeName: node.name,
          labels: { aadpodidbinding: SELECTOR },
        });
        const podIp = (pod.status as { podIP: string }).podIP;
        write(
          `  pod ${NAMESPACE}/demo on ${node.name} with IP ${podIp}; its IMDS requests go to NMI at ${need('nmis').get(node.name)?.url ?? '?'}`,
        );
        await runDemoPod(world as World, options, node, podIp, write);
        await cli(['explain', 'demo', '--namespace', NAMESPACE]).then(() => undefined);
      },
    },
    {
      title: `Use two identities through one binding selector (a second pod identity with --binding-selector ${SELECTOR})`,
      explainOnFailure: ['multi'],
      run: async () => {
        const sandbox = need('sandbox');
        const second = sandbox.createIdentity('second-identity');
        world.second = second;
        write(`  identity second-identity: clientId ${second.clientId}`);
        await cli([
          'add',
          '--namespace',
          NAMESPACE,
          '--name',
          SECOND_POD_IDENTITY,
          '--identity-resource-id',
          second.id,
          '--binding-selector',
          SELECTOR,
        ]);
        const node = sandbox.nodes[1] ?? sandbox.nodes[0];
        if (node === undefined) throw new Error('the sandbox has no node');
        world.multiNode = node;
        const pod = sandbox.createPod({
          name: 'multi',
          namespace: NAMESPACE,
          nodeName: node.name,
          labels: { aadpodidbinding: SELECTOR },
        });
        const podIp = (pod.status as { podIP: string }).podIP;
        const nmi = need('nmis').get(node.name);
        if (nmi === undefined) throw new Error(`no NMI on ${node.name}`);
        write(`  pod ${NAMESPACE}/multi on ${node.name} with IP ${podIp}`);
        for (const [name, identity] of [
          [POD_IDENTITY, need('identity')],
          [SECOND_POD_IDENTITY, second],
        ] as const) {
          const token = await getToken(
            ARM_RESOURCE,
            { clientId: identity.clientId },
            { endpoint: nmi.url, localAddress: podIp, deadlineMs: timeoutMs },
          );
          const appId = decodeToken(token.token).claims.appid;
          if (appId !== identity.clientId)
            throw new Error(`the token for ${name} names application ${appId}`);
          write(
            `  multi | successfully acquired a token, userAssignedID MSI, clientID(${identity.clientId}) (pod identity ${name})`,
          );
        }
      },
    },
    {
      title: 'Ask for an identity the pod is not bound to: NMI refuses at once, with its reason',
      explainOnFailure: ['demo'],
      run: async () => {
        const sandbox = need('sandbox');
        const stranger = sandbox.createIdentity('unbound-identity');
        world.stranger = stranger;
        write(
          `  identity unbound-identity: clientId ${stranger.clientId} (no binding selects the demo pod for it)`,
        );
        const node = need('demoNode');
        const nmi = need('nmis').get(node.name);
        if (nmi === undefined) throw new Error(`no NMI on ${node.name}`);
        // Both bindings select the demo pod: once MIC has written both its records, nothing in flight
        // can give it another identity, and NMI's refusal is final.
        await waitUntil(
          () => nmi.state.view.assignedIdentities(NAMESPACE, 'demo').length >= 2,
          timeoutMs,
          'MIC to record both identities of the demo pod',
        );
        const error = await getToken(
          ARM_RESOURCE,
          { clientId: stranger.clientId },
          { endpoint: nmi.url, localAddress: podIpOf(sandbox, 'demo'), deadlineMs: timeoutMs },
        ).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!IdentityNotAssignedError.is(error) || error.retryable || error.attempts !== 1)
          throw new Error(
            `expected a final refusal on the first answer, got ${error instanceof Error ? `${error.name}: ${error.message}` : 'a token'}`,
          );
        write(
          `  demo | refused at once (${String(error.attempts)} request, status ${String(error.status)}): ${error.message}`,
        );
      },
    },
    {
      title:
        'Migrate the demo pod to workload identity federation (pod-identity migrate): the same pod served by NMI through Entra, no scale-set identity left',
      explainOnFailure: ['demo'],
      run: async () => {
        const sandbox = need('sandbox');
        // A service account federates to one identity: the two-identity pod stays on pod-managed
        // identity, so it and the second pod identity go first.
        sandbox.deletePod('multi', NAMESPACE);
        write(`  $ kubectl delete pod multi -n ${NAMESPACE}`);
        await cli(['delete', '--namespace', NAMESPACE, '--name', SECOND_POD_IDENTITY]);
        await cli(['migrate', 'plan', '--namespace', NAMESPACE]);
        await cli(['migrate', 'apply', '--namespace', NAMESPACE, '--remove-bindings']);
        const scaleSets = [...new Set(sandbox.nodes.map((n) => n.identityTargetId))];
        const ids = [need('identity').id, need('second').id];
        await waitUntil(
          () =>
            scaleSets.every(
              (target) => !userAssignedOn(sandbox, target).some((id) => ids.includes(id)),
            ),
          timeoutMs,
          'MIC to remove the identities from the scale sets',
        );
        write(`  scale set identities after migration: ${describeScaleSets(sandbox, scaleSets)}`);
        const before = federatedExchanges(sandbox);
        const node = need('demoNode');
        const podIp = podIpOf(sandbox, 'demo');
        write(`  the same pod ${NAMESPACE}/demo (IP ${podIp}), unchanged, asks NMI again`);
        await runDemoPod(world as World, options, node, podIp, write);
        const exchanges = federatedExchanges(sandbox) - before;
        if (exchanges === 0) throw new Error('the demo pod was not served by federation');
        write(
          `  served by federation: ${String(exchanges)} token exchange(s) at Entra for the pod's service account token, no ARM write`,
        );
      },
    },
    {
      title: 'Delete the pods and the pod identities; the identities leave the scale set',
      run: async () => {
        const sandbox = need('sandbox');
        const scaleSets = [...new Set(sandbox.nodes.map((n) => n.identityTargetId))];
        write(`  scale set identities before: ${describeScaleSets(sandbox, scaleSets)}`);
        for (const name of ['demo']) {
          sandbox.deletePod(name, NAMESPACE);
          write(`  $ kubectl delete pod ${name} -n ${NAMESPACE}`);
          write(`    pod "${name}" deleted`);
        }
        await cli(['delete', '--namespace', NAMESPACE, '--name', POD_IDENTITY]);
        const ids = [need('identity').id, need('second').id];
        await waitUntil(
          () =>
            scaleSets.every(
              (target) => !userAssignedOn(sandbox, target).some((id) => ids.includes(id)),
            ),
          timeoutMs,
          'MIC to remove the identities from the scale sets',
        );
        write(`  scale set identities after:  ${describeScaleSets(sandbox, scaleSets)}`);
      },
    },
    {
      title: 'Clean up (az aks update --disable-pod-identity; delete the identities)',
      run: async () => {
        await cli(['disable']);
        const sandbox = need('sandbox');
        for (const identity of [need('identity'), need('second'), need('stranger')]) {
          if (!sandbox.arm.deleteUserAssignedIdentity(identity.id))
            throw new Error(`identity ${identity.id} was already gone`);
          write(`  $ az identity delete --ids ${identity.id}`);
        }
        await stopWorld(world, write);
      },
    },
  ];

  let passed = 0;
  let failure: WalkthroughResult['failure'];
  for (const [index, step] of steps.entries()) {
    write('');
    write(`[${index + 1}/${steps.length}] ${step.title}`);
    try {
      await step.run();
      passed++;
    } catch (error) {
      // Say why a pod got no token, the question `explain` exists for.
      for (const pod of step.explainOnFailure ?? []) {
        await cli(['explain', pod, '--namespace', NAMESPACE]).catch(() => undefined);
      }
      failure = {
        step: index + 1,
        title: step.title,
        message: error instanceof Error ? error.message : String(error),
      };
      write(`  FAILED: ${failure.message}`);
      break;
    }
  }
  if (failure !== undefined) await stopWorld(world, write).catch(() => undefined);
  const durationMs = performance.now() - started;
  const result: WalkthroughResult = {
    ok: failure === undefined,
    passed,
    total: steps.length,
    durationMs,
    ...(failure === undefined ? {} : { failure }),
  };
  write('');
  write(
    result.ok
      ? `walkthrough succeeded: ${passed}/${steps.length} steps passed in ${(durationMs / 1000).toFixed(1)} s`
      : `walkthrough FAILED at step ${failure?.step ?? '?'}: ${passed}/${steps.length} steps passed in ${(durationMs / 1000).toFixed(1)} s`,
  );
  return result;
}

/** A pod's IP as the sandbox's Kubernetes records it (empty when it has none). */
function podIpOf(sandbox: Sandbox, name: string): string {
  const pod = sandbox.kubernetes.store.get({
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: NAMESPACE,
    name,
  });
  return (pod?.status as { podIP?: string } | undefined)?.podIP ?? '';
}

/** The demo pod: the demo program with its requests leaving from the pod IP towards its node's NMI. */
async function runDemoPod(
  world: World,
  options: WalkthroughOptions,
  node: SandboxNode,
  podIp: string,
  write: (line: string) => void,
): Promise<void> {
  const nmi = world.nmis.get(node.name);
  if (nmi === undefined) throw new Error(`no NMI on ${node.name}`);
  const { sandbox, identity } = world;
  const timeoutMs = options.stepTimeoutMs ?? 30_000;
  if ((options.podRunner ?? 'process') === 'in-process') {
    await runDemoRound({
      subscriptionId: sandbox.subscriptionId,
      resourceGroup: sandbox.nodeResourceGroup,
      clientId: identity.clientId,
      imdsEndpoint: nmi.url,
      armEndpoint: sandbox.endpoints.arm,
      armCaPem: sandbox.caPem,
      localAddress: podIp,
      tokenDeadlineMs: timeoutMs,
      log: (line) => {
        write(`  demo | ${line}`);
      },
    });
    return;
  }
  const entry = options.demoAppEntry;
  if (entry === undefined) throw new Error('demoAppEntry is required for the process pod runner');
  const child = spawn(
    process.execPath,
    [
      entry,
      '--once',
      '--subscription-id',
      sandbox.subscriptionId,
      '--resource-group',
      sandbox.nodeResourceGroup,
      '--client-id',
      identity.clientId,
      '--imds-endpoint',
      nmi.url,
      '--arm-endpoint',
      sandbox.endpoints.arm,
      '--arm-ca-file',
      world.caFile,
      '--local-address',
      podIp,
    ],
    {
      env: { ...process.env, MY_POD_NAME: 'demo', MY_POD_NAMESPACE: NAMESPACE, MY_POD_IP: podIp },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const lines = (stream: NodeJS.ReadableStream) =>
    (async () => {
      for await (const line of createInterface({ input: stream })) write(`  demo | ${line}`);
    })();
  const [code] = await Promise.all([
    new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    }),
    lines(child.stdout),
    lines(child.stderr),
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`the demo pod exited with ${code ?? 'a signal'}`);
}

/** Token requests Entra answered for a federated client assertion. */
function federatedExchanges(sandbox: Sandbox): number {
  return sandbox.entra.requestLog().filter((r) => r.kind === 'federated' && r.status === 200)
    .length;
}

function userAssignedOn(sandbox: Sandbox, target: string): string[] {
  return (sandbox.arm.getIdentityAssignment(target)?.userAssigned ?? []).map((u) => u.resourceId);
}

function describeScaleSets(sandbox: Sandbox, targets: readonly string[]): string {
  return targets
    .map((target) => {
      const names = userAssignedOn(sandbox, target).map((id) => id.split('/').pop() ?? id);
      return `${target.split('/').pop() ?? target}: [${names.join(', ')}]`;
    })
    .join('; ');
}

/** Polls a condition of emulator state until true; the emulators expose no change events for it. */
async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopWorld(world: Partial<World>, write: (line: string) => void): Promise<void> {
  const nmis = world.nmis;
  world.nmis = undefined;
  if (nmis !== undefined) {
    await Promise.all([...nmis.values()].map((nmi) => nmi.close()));
    write(`  NMI stopped on ${nmis.size} nodes`);
  }
  const mic = world.mic;
  world.mic = undefined;
  if (mic !== undefined) {
    await mic.stop();
    write('  MIC stopped');
  }
  const sandbox = world.sandbox;
  world.sandbox = undefined;
  if (sandbox !== undefined) {
    await sandbox.stop();
    write('  sandbox stopped');
  }
  if (world.caFile !== undefined)
    rmSync(join(world.caFile, '..'), { recursive: true, force: true });
}
