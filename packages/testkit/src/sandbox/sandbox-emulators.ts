import type { ArmEmulator, UserAssignedIdentityInfo } from '../arm/start-arm-emulator.js';
import { startArmEmulator } from '../arm/start-arm-emulator.js';
import type { FederatedApplication } from '../entra/federated-assertion.js';
import type { EntraEmulator } from '../entra/start-entra-emulator.js';
import { startEntraEmulator } from '../entra/start-entra-emulator.js';
import type { TokenIssuer } from '../entra/token-issuer.js';
import type { KubernetesEmulator } from '../kubernetes/kubernetes-emulator.js';
import { startKubernetesEmulator } from '../kubernetes/kubernetes-emulator.js';
import type { CertificateAuthority } from '../tls/certificate-authority.js';
import type { FederatedCredentialStore } from './federated-credential-store.js';
import type { SandboxOptions } from './start-sandbox.js';

/** The audience of the service-account tokens that Entra exchanges (azure-workload-identity's). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** What the sandbox's emulators share. */
export interface SandboxEmulatorContext {
  readonly certificateAuthority: CertificateAuthority;
  readonly tokenIssuer: TokenIssuer;
  readonly tenantId: string;
  /** The sandbox's identities by name (filled after start): Entra finds federated ones among them. */
  readonly identities: ReadonlyMap<string, UserAssignedIdentityInfo>;
  /** Federated credentials a test added directly, beside those written through ARM. */
  readonly federatedCredentials: FederatedCredentialStore;
  /** Receives each emulator as soon as it runs, so that it is stopped even if another fails. */
  readonly onStarted: (emulator: { stop(): Promise<void> }) => void;
}

function startSandboxKubernetes(
  options: SandboxOptions,
  context: SandboxEmulatorContext,
): Promise<KubernetesEmulator> {
  const { certificateAuthority } = context;
  const https = options.kubernetesHttps ?? options.federated;
  const server = https ? certificateAuthority.issueServerCertificate() : undefined;
  return startKubernetesEmulator({
    ...(options.federated ? { nodeTokenAudiences: [TOKEN_EXCHANGE_AUDIENCE] } : {}),
    ...(options.kubernetesToken === undefined ? {} : { token: options.kubernetesToken }),
    ...(server === undefined
      ? {}
      : {
          tls: {
            certificatePem: server.certificatePem,
            privateKeyPem: server.privateKeyPem,
            caPem: certificateAuthority.certificatePem,
          },
        }),
  }).then((emulator) => {
    context.onStarted({ stop: () => emulator.close() });
    return emulator;
  });
}

function startSandboxArm(
  options: SandboxOptions,
  context: SandboxEmulatorContext,
): Promise<ArmEmulator> {
  const { tokenIssuer } = context;
  return startArmEmulator({
    certificateAuthority: context.certificateAuthority,
    tenantId: context.tenantId,
    ...(options.armOperationDurationMs === undefined
      ? {}
      : { operationDurationMs: options.armOperationDurationMs }),
    ...(options.verifyArmTokens
      ? {
          verifyToken: (token: string) => {
            try {
              tokenIssuer.verify(token, { audience: 'https://management.azure.com' });
              return true;
            } catch {
              return false;
            }
          },
        }
      : {}),
  }).then((emulator) => {
    context.onStarted(emulator);
    return emulator;
  });
}

/**
 * Entra honours what ARM holds: a sandbox identity found by client id, with the federated
 * credentials written through ARM's API (e.g. by `pod-identity migrate`) and those a test added
 * directly.
 */
function findFederatedApplication(
  context: SandboxEmulatorContext,
  arm: () => ArmEmulator | undefined,
  tenant: string,
  clientId: string,
): FederatedApplication | undefined {
  const { tenantId } = context;
  if (tenant.toLowerCase() !== tenantId.toLowerCase()) return undefined;
  const identity = [...context.identities.values()].find(
    (candidate) => candidate.clientId.toLowerCase() === clientId.toLowerCase(),
  );
  if (identity === undefined) return undefined;
  return {
    tenantId,
    clientId: identity.clientId,
    objectId: identity.principalId,
    managedIdentityResourceId: identity.id,
    federatedCredentials: [
      ...(arm()?.listFederatedIdentityCredentials(identity.id) ?? []),
      ...context.federatedCredentials.list(identity.id),
    ],
  };
}

/** Starts the sandbox's Kubernetes API, ARM and Entra emulators side by side. */
export async function startSandboxEmulators(
  options: SandboxOptions,
  context: SandboxEmulatorContext,
): Promise<{ kubernetes: KubernetesEmulator; arm: ArmEmulator; entra: EntraEmulator }> {
  // Entra reads federated credentials from ARM at each request; ARM starts beside it.
  let armEmulator: ArmEmulator | undefined;
  const [kubernetes, arm, entra] = await Promise.all([
    startSandboxKubernetes(options, context),
    startSandboxArm(options, context).then((emulator) => (armEmulator = emulator)),
    startEntraEmulator({
      certificateAuthority: context.certificateAuthority,
      tokenIssuer: context.tokenIssuer,
      ...(options.trustedIssuerCaPems === undefined
        ? {}
        : { trustedIssuerCaPems: options.trustedIssuerCaPems }),
      federatedIdentities: {
        findApplication: (tenant, clientId) =>
          findFederatedApplication(context, () => armEmulator, tenant, clientId),
      },
    }).then((emulator) => {
      context.onStarted(emulator);
      return emulator;
    }),
  ]);
  return { kubernetes, arm, entra };
}
