import { ComputeManagementClient } from '@azure/arm-compute';
import { AUTHORITY_HOST_ENV, PodIdentityCredential, getToken } from '@pod-identity/client';
import { readInstanceMetadata } from './read-instance-metadata.ts';

/** Where IMDS answers on an Azure machine (and NMI, through its redirect, on a pod-identity node). */
const IMDS_ORIGIN = 'http://169.254.169.254';

/** What the demo needs to know; `parseDemoOptions` reads it from flags and the environment. */
export interface DemoOptions {
  /** Subscription whose VMs are listed. */
  subscriptionId: string;
  /** Resource group whose VMs are listed (the node resource group in the walkthrough). */
  resourceGroup: string;
  /** Client ID of the user-assigned identity to use. */
  clientId: string;
  /** Resource the token is for. Default `https://management.azure.com/`. */
  resource?: string;
  /** IMDS (or NMI) endpoint. Default `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else `http://169.254.169.254`. */
  imdsEndpoint?: string;
  /** ARM endpoint. Default `https://management.azure.com`. */
  armEndpoint?: string;
  /** PEM of a CA to trust for ARM (a private CA, e.g. the sandbox's); default the system's roots. */
  armCaPem?: string;
  /** Source address of metadata requests (the pod IP in the sandbox, where every pod shares one host). */
  localAddress?: string;
  /** Environment for the endpoint default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Total time for a token, including waiting for the identity to be assigned. Default 90 s. */
  tokenDeadlineMs?: number;
  /** Where log lines go. Default `console.log`. */
  log?: (line: string) => void;
  /** Cancels the round. */
  abortSignal?: AbortSignal;
}

/** What one round found. */
export interface DemoResult {
  /** Number of VMs in the resource group. */
  vmCount: number;
  /** Compute metadata of the machine the pod runs on (name, resourceId, …). */
  instanceCompute: Record<string, unknown>;
}

/**
 * One round of the walkthrough's demo program, logging the same lines the Go demo logged:
 * acquires a token for the user-assigned identity from IMDS (NMI on a pod-identity node), lists the
 * VMs of a resource group through ARM with a credential backed by that identity, and reads the
 * instance metadata. Throws on the first step that fails.
 */
export async function runDemoRound(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? console.log;
  const resource = options.resource ?? 'https://management.azure.com/';
  const fromEnv = (options.env ?? process.env)[AUTHORITY_HOST_ENV];
  const endpoint = new URL(
    options.imdsEndpoint ?? (fromEnv === undefined || fromEnv === '' ? IMDS_ORIGIN : fromEnv),
  );
  const common = {
    endpoint,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
    deadlineMs: options.tokenDeadlineMs ?? 90_000,
    onRetry: (event: { attempt: number; status?: number; reason: string; delayMs: number }) => {
      log(
        `token request attempt ${event.attempt} failed (${event.status ?? 'no answer'}: ${event.reason}), retrying in ${event.delayMs} ms`,
      );
    },
  };
  const msiEndpoint = new URL('/metadata/identity/oauth2/token', endpoint).href;

  const token = await getToken(resource, { clientId: options.clientId }, common);
  log(`successfully acquired a token using the MSI, msiEndpoint(${msiEndpoint})`);
  log(
    `successfully acquired a token, userAssignedID MSI, msiEndpoint(${msiEndpoint}) clientID(${options.clientId})`,
  );
  if (token.token === '') throw new Error('the token is empty');

  // The credential's requests are not tied to this round's signal: ARM calls carry it instead.
  const credential = new PodIdentityCredential({
    endpoint,
    deadlineMs: common.deadlineMs,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    identity: { clientId: options.clientId },
  });
  const compute = new ComputeManagementClient(credential, options.subscriptionId, {
    ...(options.armEndpoint === undefined ? {} : { endpoint: options.armEndpoint }),
    ...(options.armCaPem === undefined ? {} : { tlsOptions: { ca: options.armCaPem } }),
  });
  let vmCount = 0;
  const listOptions = options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
  for await (const vm of compute.virtualMachines.list(options.resourceGroup, listOptions)) {
    if (vm.id !== undefined) vmCount++;
  }
  log(`successfully doARMOperations vm count ${vmCount}`);

  const response = await readInstanceMetadata(endpoint, {
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
  });
  if (response.status !== 200) {
    throw new Error(
      `GET /metadata/instance answered ${response.status}: ${response.body.slice(0, 200)}`,
    );
  }
  const metadata = JSON.parse(response.body) as { compute?: Record<string, unknown> };
  const instanceCompute = metadata.compute ?? {};
  log(
    `successfully made GET on instance metadata, ${JSON.stringify({ name: instanceCompute.name, vmId: instanceCompute.vmId, resourceId: instanceCompute.resourceId })}`,
  );
  return { vmCount, instanceCompute };
}
