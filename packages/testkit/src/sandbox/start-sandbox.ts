import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { podIdentityCrds } from '@pod-identity/core';
import type { ArmEmulator, UserAssignedIdentityInfo } from '../arm/start-arm-emulator.js';
import type { EntraEmulator } from '../entra/start-entra-emulator.js';
import type { FederatedCredential } from '../entra/federated-assertion.js';
import { createFederatedCredentialStore } from './federated-credential-store.js';
import { startSandboxEmulators, TOKEN_EXCHANGE_AUDIENCE } from './sandbox-emulators.js';
import { addSandboxMachines, startSandboxNode } from './sandbox-nodes.js';
import { createSandboxPods } from './sandbox-pods.js';
import { getSharedTokenIssuer } from '../entra/token-issuer.js';
import type { TokenIssuer } from '../entra/token-issuer.js';
import type { ImdsEmulator } from '../imds/start-imds-emulator.js';
import type { JsonObject } from '../kubernetes/json.js';
import type { KubernetesEmulator } from '../kubernetes/kubernetes-emulator.js';
import type { AzureClientTlsOptions } from '../tls/azure-client-tls-options.js';
import { azureClientTlsOptions } from '../tls/azure-client-tls-options.js';
import type { CertificateAuthority } from '../tls/certificate-authority.js';
import { getSharedCertificateAuthority } from '../tls/certificate-authority.js';

/** A node pool backed by one scale set. */
export interface SandboxScaleSetSpec {
  /** Scale set name; default `aks-nodepool<k>-12345678-vmss` (k from 1). */
  readonly name?: string;
  /** Number of instances, each a Kubernetes node. */
  readonly nodeCount: number;
  /** Give the scale set a system-assigned identity (default false). */
  readonly systemAssignedIdentity?: boolean;
}

/** A standalone VM that is a Kubernetes node (the Go original's `vmType: standard`). */
export interface SandboxVirtualMachineSpec {
  /** VM name, also the node name. */
  readonly name: string;
  readonly systemAssignedIdentity?: boolean;
}

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /** Nodes spread over {@link SandboxOptions.scaleSetCount} scale sets; default 2. Ignored when `scaleSets` is given. */
  readonly nodeCount?: number;
  /** Default 1. Ignored when `scaleSets` is given. */
  readonly scaleSetCount?: number;
  /** Explicit node pools (overrides `nodeCount` / `scaleSetCount`). */
  readonly scaleSets?: readonly SandboxScaleSetSpec[];
  /** Standalone VM nodes, in addition to the scale sets. */
  readonly virtualMachines?: readonly SandboxVirtualMachineSpec[];
  /** Names of user-assigned identities to create in ARM, in {@link Sandbox.resourceGroup}. */
  readonly identities?: readonly string[];
  /** Default a random GUID. */
  readonly subscriptionId?: string;
  /** Default a random GUID. */
  readonly tenantId?: string;
  /** The cluster's resource group, where identities live; default `rg-pod-identity`. */
  readonly resourceGroup?: string;
  /** Default `westus2`. */
  readonly location?: string;
  /** Cluster name, part of the node resource group name; default `sandbox`. */
  readonly clusterName?: string;
  /** Install the CRDs of `@pod-identity/core` (default true). */
  readonly installCrds?: boolean;
  /** Bearer token the Kubernetes emulator requires (default: none required). */
  readonly kubernetesToken?: string;
  /**
   * Serve the Kubernetes API over https with the sandbox's CA, which the kubeconfig then trusts, as a
   * real API server is reached (default false: plain http with `insecure-skip-tls-verify`; true in
   * federated mode, whose issuer, the API server's URL, ARM accepts only as https).
   */
  readonly kubernetesHttps?: boolean;
  /**
   * Make ARM accept only tokens signed by the sandbox's Entra/IMDS for `https://management.azure.com`
   * (default false: any bearer token passes, so tests may use a stub credential).
   */
  readonly verifyArmTokens?: boolean;
  /** Passed to the ARM emulator: how long a PATCH stays `InProgress` (default 0). */
  readonly armOperationDurationMs?: number;
  /**
   * Federated mode: nodes may request service-account tokens for `api://AzureADTokenExchange` (the
   * ClusterRole docs/federated.md grants `system:nodes`), so a node's NMI can exchange a pod's token
   * at Entra. Node credentials, the issuer's discovery documents and federated credentials exist in
   * every sandbox; default false.
   */
  readonly federated?: boolean;
  /**
   * CA certificates (PEM) Entra trusts when it reads an https issuer's discovery document, beside the
   * sandbox's own CA: for federated credentials that trust another cluster's issuer (a real API server).
   */
  readonly trustedIssuerCaPems?: readonly string[];
}

/** An inclusive range of IPv4 addresses. */
export interface AddressRange {
  readonly first: string;
  readonly last: string;
}

/** One emulated Kubernetes node and the Azure machine behind it. */
export interface SandboxNode {
  /** The Kubernetes node name (the machine's computer name, as on AKS). */
  readonly name: string;
  /** `spec.providerID`: `azure:///subscriptions/…/resourceGroups/<node rg, lower case>/providers/Microsoft.Compute/…`. */
  readonly providerId: string;
  /** ARM id of the scale set instance or VM. */
  readonly resourceId: string;
  readonly kind: 'vmss' | 'vm';
  /** The scale set's name; `undefined` for a VM node. */
  readonly scaleSetName: string | undefined;
  /** ARM id of the resource whose identities this node gets: its scale set, or the VM. */
  readonly identityTargetId: string;
  /** The node's `InternalIP` (a loopback address, 127.1.<n>.1): where a per-node NMI can listen. */
  readonly internalIp: string;
  /** This machine's IMDS emulator. */
  readonly imds: ImdsEmulator;
  /** `http://<address>:<port>` of its IMDS (no path): an NMI's upstream, or `AZURE_POD_IDENTITY_AUTHORITY_HOST`. */
  readonly imdsUrl: string;
  /** `spec.podCIDR` (127.3.<n>.0/24). */
  readonly podCidr: string;
  /** The addresses {@link Sandbox.createPod} hands to this node's pods. */
  readonly podAddressRange: AddressRange;
  /**
   * A kubeconfig (YAML) with this node's own credentials (user `system:node:<name>`, group
   * `system:nodes`), as the kubelet's kubeconfig on the host gives them.
   */
  readonly nodeKubeconfigYaml: string;
}

/** A pod to create with {@link Sandbox.createPod}. */
export interface SandboxPodSpec {
  readonly name: string;
  /** Default `default`. */
  readonly namespace?: string;
  /** The node it runs on. */
  readonly nodeName: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Default: the next free address of the node's range. */
  readonly podIp?: string;
  /** Default `Running`. */
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Default `[]`. */
  readonly ownerReferences?: readonly JsonObject[];
  /** `spec.serviceAccountName`; default `default`. */
  readonly serviceAccountName?: string;
}

/** The cluster's service principal, registered in Entra, for MIC's cloud config. */
export interface SandboxServicePrincipal {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The options an `@azure/identity` credential needs to reach the Entra emulator. */
export interface SandboxCredentialOptions extends AzureClientTlsOptions {
  readonly authorityHost: string;
  /** The emulator is its own authority; instance discovery would ask login.microsoftonline.com. */
  readonly disableInstanceDiscovery: true;
}

/** A running emulated cluster. */
export interface Sandbox {
  /** client-node KubeConfig for the Kubernetes emulator. */
  readonly kubeConfig: KubeConfig;
  /** The same as YAML, for subprocesses. */
  readonly kubeconfigYaml: string;
  readonly kubernetes: KubernetesEmulator;
  readonly arm: ArmEmulator;
  readonly entra: EntraEmulator;
  readonly endpoints: { readonly kubernetes: string; readonly arm: string; readonly entra: string };
  /** The CA of the https emulators and its PEM. */
  readonly certificateAuthority: CertificateAuthority;
  readonly caPem: string;
  /** Spread into any Azure SDK client: `{ endpoint: sandbox.endpoints.arm, ...sandbox.azureClientOptions }`. */
  readonly azureClientOptions: AzureClientTlsOptions;
  /** Spread into `ClientSecretCredential` / `ClientCertificateCredential` options. */
  readonly credentialOptions: SandboxCredentialOptions;
  /** Signs every token of the sandbox (Entra and IMDS): `verifyToken(token, sandbox.tokenIssuer)`. */
  readonly tokenIssuer: TokenIssuer;
  readonly subscriptionId: string;
  readonly tenantId: string;
  /** The cluster resource group (identities). */
  readonly resourceGroup: string;
  /** `MC_<rg>_<cluster>_<location>`: the scale sets and VMs. */
  readonly nodeResourceGroup: string;
  readonly location: string;
  readonly clusterServicePrincipal: SandboxServicePrincipal;
  /** An `azure.json` for MIC (the keys AKS writes to a node's azure.json), with the cluster service principal. */
  readonly azureJson: Readonly<Record<string, string | boolean>>;
  readonly nodes: readonly SandboxNode[];
  /** Identities created at start and by {@link Sandbox.createIdentity}, by name. */
  readonly identities: ReadonlyMap<string, UserAssignedIdentityInfo>;
  /** Creates a user-assigned identity in ARM (in the cluster resource group). */
  createIdentity(name: string): UserAssignedIdentityInfo;
  /** A node by name; throws when there is none. */
  node(name: string): SandboxNode;
  /**
   * Creates (or replaces) a pod bound to a node, with `status.podIP` from the node's loopback range and
   * the given phase. Without `podIp` it takes a fresh address (a replaced pod keeps its own); an explicit
   * `podIp` may be one that only finished pods still show, never one a live pod holds (RangeError).
   */
  createPod(spec: SandboxPodSpec): JsonObject;
  /**
   * Sets a pod's `status.phase` (and its Ready condition). A `Succeeded` or `Failed` pod keeps its
   * `status.podIP`, but the address is free for a new pod, as in Kubernetes.
   */
  setPodPhase(
    name: string,
    phase: NonNullable<SandboxPodSpec['phase']>,
    namespace?: string,
  ): JsonObject;
  /**
   * Deletes a pod the way a cluster does (its address becomes free again): a graceful delete, which
   * marks a scheduled pod terminating (a MODIFIED event with `deletionTimestamp`), then at once the
   * kubelet's grace-0 delete that removes it (DELETED). A pod with finalizers stays until they go.
   * `false` when there was no such pod.
   */
  deletePod(name: string, namespace?: string): boolean;
  /** The cluster's service-account issuer (its OIDC issuer URL): the Kubernetes emulator's URL. */
  readonly oidcIssuerUrl: string;
  /**
   * Adds a federated identity credential to a user-assigned identity of the sandbox (by name), which
   * Entra then honours; issuer default {@link Sandbox.oidcIssuerUrl}, audiences default
   * `["api://AzureADTokenExchange"]`.
   */
  addFederatedCredential(
    identityName: string,
    credential: SandboxFederatedCredentialSpec,
  ): FederatedCredential;
  /** Removes one; `false` when there was none of that name. */
  removeFederatedCredential(identityName: string, credentialName: string): boolean;
  /** The federated credentials of an identity, by its name. */
  federatedCredentials(identityName: string): readonly FederatedCredential[];
  /** Stops every emulator; leaves no handles. */
  stop(): Promise<void>;
}

/** A federated credential to add with {@link Sandbox.addFederatedCredential}. */
export interface SandboxFederatedCredentialSpec {
  readonly name: string;
  /** e.g. `system:serviceaccount:default:workload` */
  readonly subject: string;
  readonly issuer?: string;
  readonly audiences?: readonly string[];
}

function splitNodes(nodeCount: number, scaleSetCount: number): number[] {
  const base = Math.floor(nodeCount / scaleSetCount);
  const extra = nodeCount % scaleSetCount;
  return Array.from({ length: scaleSetCount }, (_, index) => base + (index < extra ? 1 : 0));
}

/** The node pools to create, checked against the sandbox's address plan (254 nodes). */
function scaleSetsOf(options: SandboxOptions): readonly SandboxScaleSetSpec[] {
  const scaleSets =
    options.scaleSets ??
    splitNodes(options.nodeCount ?? 2, options.scaleSetCount ?? 1).map((nodeCount) => ({
      nodeCount,
    }));
  for (const spec of scaleSets) {
    if (!Number.isInteger(spec.nodeCount) || spec.nodeCount < 0)
      throw new RangeError(`nodeCount must be >= 0, got ${spec.nodeCount}`);
  }
  const totalNodes =
    scaleSets.reduce((sum, spec) => sum + spec.nodeCount, 0) +
    (options.virtualMachines?.length ?? 0);
  if (totalNodes > 254)
    throw new RangeError(`at most 254 nodes fit the sandbox's address plan, got ${totalNodes}`);
  return scaleSets;
}

/**
 * Starts an emulated AKS cluster on loopback, in one call: the Kubernetes API emulator (with the
 * pod-identity CRDs), ARM, Entra, and one IMDS per node; scale sets (and optional VMs) whose
 * instances are Nodes with `spec.providerID`, `spec.podCIDR` and `status.addresses`; user-assigned
 * identities; a cluster service principal. Every server gets a free port; `stop()` closes them all.
 *
 * Addresses: node n (from 1) has InternalIP 127.1.n.1, IMDS on 127.2.n.1, pods in 127.3.n.0/24
 * (all of 127.0.0.0/8 is loopback on Linux, so a process can bind its pod IP).
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const subscriptionId = options.subscriptionId ?? randomUUID();
  const tenantId = options.tenantId ?? randomUUID();
  const resourceGroup = options.resourceGroup ?? 'rg-pod-identity';
  const location = options.location ?? 'westus2';
  const clusterName = options.clusterName ?? 'sandbox';
  const placement = {
    subscriptionId,
    nodeResourceGroup: `MC_${resourceGroup}_${clusterName}_${location}`,
    location,
  };
  const scaleSetSpecs = scaleSetsOf(options);
  const certificateAuthority = getSharedCertificateAuthority();
  const tokenIssuer = getSharedTokenIssuer();
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    const results = await Promise.allSettled(started.reverse().map((item) => item.stop()));
    started.length = 0;
    const failure = results.find(
      (result): result is PromiseRejectedResult => result.status === 'rejected',
    );
    if (failure) throw failure.reason;
  };
  const onStarted = (emulator: { stop(): Promise<void> }): void => {
    started.push(emulator);
  };

  const federatedCredentials = createFederatedCredentialStore();
  const identities = new Map<string, UserAssignedIdentityInfo>();
  try {
    const { kubernetes, arm, entra } = await startSandboxEmulators(options, {
      certificateAuthority,
      tokenIssuer,
      tenantId,
      identities,
      federatedCredentials,
      onStarted,
    });
    if (options.installCrds ?? true) {
      for (const crd of podIdentityCrds()) kubernetes.store.put(crd as unknown as JsonObject);
    }
    const createIdentity = (name: string): UserAssignedIdentityInfo => {
      const identity = arm.createUserAssignedIdentity({
        subscriptionId,
        resourceGroup,
        name,
        location,
      });
      identities.set(name, identity);
      return identity;
    };
    for (const name of options.identities ?? []) createIdentity(name);

    const clientSecret = `sandbox~${randomUUID()}`;
    const principal = entra.registerServicePrincipal({ tenantId, clientSecret });
    const clusterServicePrincipal: SandboxServicePrincipal = {
      tenantId,
      clientId: principal.clientId,
      clientSecret,
    };

    const machines = addSandboxMachines(
      arm,
      placement,
      scaleSetSpecs,
      options.virtualMachines ?? [],
    );
    const nodes = await Promise.all(
      machines.map((machine, index) =>
        startSandboxNode(
          { kubernetes, arm, tokenIssuer },
          placement,
          machine,
          index + 1,
          onStarted,
        ),
      ),
    );
    const nodesByName = new Map(nodes.map((node) => [node.name, node]));
    const nodeOf = (name: string): SandboxNode => {
      const node = nodesByName.get(name);
      if (!node)
        throw new RangeError(
          `no sandbox node named ${name}; nodes: ${[...nodesByName.keys()].join(', ')}`,
        );
      return node;
    };
    const identityId = (identityName: string): string | undefined =>
      identities.get(identityName)?.id;

    return {
      kubeConfig: kubernetes.kubeConfig,
      kubeconfigYaml: kubernetes.kubeconfigYaml,
      kubernetes,
      arm,
      entra,
      endpoints: { kubernetes: kubernetes.url, arm: arm.url, entra: entra.url },
      certificateAuthority,
      caPem: certificateAuthority.certificatePem,
      azureClientOptions: azureClientTlsOptions(certificateAuthority),
      credentialOptions: {
        authorityHost: entra.url,
        disableInstanceDiscovery: true,
        ...azureClientTlsOptions(certificateAuthority),
      },
      tokenIssuer,
      subscriptionId,
      tenantId,
      resourceGroup,
      nodeResourceGroup: placement.nodeResourceGroup,
      location,
      clusterServicePrincipal,
      azureJson: {
        cloud: 'AzurePublicCloud',
        tenantId,
        aadClientId: clusterServicePrincipal.clientId,
        aadClientSecret: clusterServicePrincipal.clientSecret,
        subscriptionId,
        resourceGroup: placement.nodeResourceGroup,
        location,
        vmType: scaleSetSpecs.length > 0 ? 'vmss' : 'standard',
        useManagedIdentityExtension: false,
        userAssignedIdentityID: '',
      },
      nodes,
      identities,
      createIdentity,
      node: nodeOf,
      ...createSandboxPods(kubernetes, nodeOf),
      oidcIssuerUrl: kubernetes.serviceAccountTokens.issuer,
      addFederatedCredential(identityName, credential) {
        const id = identityId(identityName);
        if (id === undefined) throw new RangeError(`no sandbox identity named ${identityName}`);
        return federatedCredentials.add(id, {
          name: credential.name,
          subject: credential.subject,
          issuer: credential.issuer ?? kubernetes.serviceAccountTokens.issuer,
          audiences: [...(credential.audiences ?? [TOKEN_EXCHANGE_AUDIENCE])],
        });
      },
      removeFederatedCredential(identityName, credentialName) {
        const id = identityId(identityName);
        return id === undefined ? false : federatedCredentials.remove(id, credentialName);
      },
      federatedCredentials(identityName) {
        const id = identityId(identityName);
        return id === undefined ? [] : federatedCredentials.list(id);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}
