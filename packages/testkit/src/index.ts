// --- Kubernetes emulator ---
export {
  startKubernetesEmulator,
  type KubernetesEmulator,
  type KubernetesEmulatorOptions,
  type KubernetesEmulatorTls,
} from './kubernetes/kubernetes-emulator.js';
export type {
  KubernetesEmulatorStore,
  KubernetesObjectReference,
} from './kubernetes/emulator-store.js';
export type {
  KubernetesFaults,
  KubernetesFailureRule,
  KubernetesDelayRule,
  KubernetesRequestMatcher,
  KubernetesVerb,
  DropWatchesOptions,
} from './kubernetes/kubernetes-faults.js';
export type { JsonObject } from './kubernetes/json.js';
// --- end Kubernetes emulator ---
// --- Azure emulators and sandbox ---
export {
  createCertificateAuthority,
  getSharedCertificateAuthority,
  createSelfSignedCertificate,
  type CertificateAuthority,
  type IssuedCertificate,
  type IssueServerCertificateOptions,
  type CreateSelfSignedCertificateOptions,
} from './tls/certificate-authority.js';
export {
  azureClientTlsOptions,
  type AzureClientTlsOptions,
} from './tls/azure-client-tls-options.js';
export {
  startArmEmulator,
  type StartArmEmulatorOptions,
  type ArmEmulator,
  type ScaleSetSpec,
  type ScaleSetInfo,
  type ScaleSetInstanceInfo,
  type VirtualMachineSpec,
  type VirtualMachineInfo,
  type UserAssignedIdentitySpec,
  type UserAssignedIdentityInfo,
  type IdentityAssignment,
  type MachineDescription,
  type ArmRequestRecord,
  type ArmRequestFilter,
  type FederatedIdentityCredentialInfo,
} from './arm/start-arm-emulator.js';
export {
  ArmOperation,
  IdentityDenial,
  type ArmFaults,
  type ArmFailure,
  type ArmThrottle,
  type ArmOperationFailure,
  type ArmRequestMatcher,
} from './arm/arm-faults.js';
export {
  ArmIdentityType,
  type AssignedUserIdentity,
  type SystemIdentity,
} from './arm/arm-identity.js';
export {
  createTokenIssuer,
  getSharedTokenIssuer,
  decodeToken,
  verifyToken,
  TokenVerificationError,
  type TokenIssuer,
  type AccessTokenClaims,
  type IssueTokenInput,
  type IssuedToken,
  type VerifyTokenOptions,
  type DecodedToken,
} from './entra/token-issuer.js';
export {
  startEntraEmulator,
  type StartEntraEmulatorOptions,
  type EntraEmulator,
  type EntraRequestRecord,
} from './entra/start-entra-emulator.js';
export { type EntraFaults } from './entra/entra-faults.js';
export {
  type ServicePrincipalSpec,
  type ServicePrincipalInfo,
} from './entra/service-principal-directory.js';
export {
  startImdsEmulator,
  type StartImdsEmulatorOptions,
  type ImdsEmulator,
  type ImdsRequestRecord,
} from './imds/start-imds-emulator.js';
export { type ImdsFaults, type ImdsFailure, type ImdsRetryableStatus } from './imds/imds-faults.js';
export {
  startSandbox,
  type SandboxOptions,
  type Sandbox,
  type SandboxNode,
  type SandboxPodSpec,
  type SandboxScaleSetSpec,
  type SandboxVirtualMachineSpec,
  type SandboxServicePrincipal,
  type SandboxCredentialOptions,
  type AddressRange,
} from './sandbox/start-sandbox.js';
// --- end Azure emulators and sandbox ---
// --- Federated identity (service-account tokens, federated credentials) ---
export type { KubernetesEmulatorUser } from './kubernetes/kubernetes-emulator.js';
export {
  createServiceAccountTokenSigner,
  createServiceAccountSigningKey,
  type ServiceAccountTokenSigner,
  type ServiceAccountSigningKey,
  type ServiceAccountTokenClaims,
  type ServiceAccountTokenInput,
  type KubernetesTokenBinding,
} from './kubernetes/service-account-token-signer.js';
export type {
  FederatedCredential,
  FederatedApplication,
  FederatedIdentityDirectory,
} from './entra/federated-assertion.js';
export type { SandboxFederatedCredentialSpec } from './sandbox/start-sandbox.js';
export { MAX_FEDERATED_CREDENTIALS_PER_IDENTITY } from './sandbox/federated-credential-store.js';
// --- end federated identity ---
