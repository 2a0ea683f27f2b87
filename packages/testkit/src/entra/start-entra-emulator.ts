import type { CertificateAuthority } from '../tls/certificate-authority.js';
import { getSharedCertificateAuthority } from '../tls/certificate-authority.js';
import { recordTraffic } from '../contract/record-traffic.js';
import { publicFaults } from '../http/token-endpoint-faults.js';
import { startLoopbackServer } from '../tls/start-loopback-server.js';
import { createEntraFaults, type EntraFaults } from './entra-faults.js';
import { createEntraRouter } from './entra-router.js';
import { createEntraTokenEndpoint } from './entra-token-endpoint.js';
import { createIssuerKeyResolver, type FederatedIdentityDirectory } from './federated-assertion.js';
import {
  createServicePrincipalDirectory,
  type ServicePrincipalInfo,
  type ServicePrincipalSpec,
} from './service-principal-directory.js';
import type { TokenIssuer } from './token-issuer.js';
import { getSharedTokenIssuer } from './token-issuer.js';

/** Options of {@link startEntraEmulator}. */
export interface StartEntraEmulatorOptions {
  /** CA that issues the https certificate; default the per-process shared one. */
  readonly certificateAuthority?: CertificateAuthority;
  /** Signs tokens; default the per-process shared issuer. */
  readonly tokenIssuer?: TokenIssuer;
  /** Loopback address; default `127.0.0.1`. */
  readonly host?: string;
  /** Access-token lifetime; default 1 h (Entra's `expires_in` 3599). */
  readonly tokenLifetimeMs?: number;
  /**
   * Applications and user-assigned identities that sign in with federated credentials (client
   * assertions from an OIDC issuer such as a cluster's service-account issuer), read at each request.
   */
  readonly federatedIdentities?: FederatedIdentityDirectory;
  /**
   * CA certificates (PEM) trusted when fetching an https issuer's discovery document and JWKS, beside
   * `certificateAuthority`'s. Issuers are fetched from loopback addresses only.
   */
  readonly trustedIssuerCaPems?: readonly string[];
}

/** One token request the Entra emulator answered. */
export interface EntraRequestRecord {
  readonly path: string;
  readonly status: number;
  readonly tenantId: string;
  readonly clientId: string | undefined;
  /**
   * `secret` or `assertion` (a certificate's) for token requests, `federated` for a client assertion
   * checked against federated credentials, `metadata` for discovery documents.
   */
  readonly kind: 'secret' | 'assertion' | 'federated' | 'metadata' | 'other';
  readonly endpointVersion: 'v1' | 'v2.0' | undefined;
}

/** A running Entra ID emulator. */
export interface EntraEmulator {
  /** `https://127.0.0.1:<port>`: the `authorityHost` of `@azure/identity` credentials. */
  readonly url: string;
  readonly certificateAuthority: CertificateAuthority;
  readonly tokenIssuer: TokenIssuer;
  readonly faults: EntraFaults;
  /** Registers (or replaces) a service principal. */
  registerServicePrincipal(spec: ServicePrincipalSpec): ServicePrincipalInfo;
  /** Removes a service principal; later token requests fail with AADSTS700016. */
  removeServicePrincipal(tenantId: string, clientId: string): boolean;
  requestLog(): readonly EntraRequestRecord[];
  stop(): Promise<void>;
}

/**
 * Starts an https emulator of the Microsoft Entra ID token service for service principals, as
 * `@azure/identity` (MSAL) and the Go original's adal call it:
 *
 * - `POST /{tenant}/oauth2/v2.0/token` (form `scope`, e.g. `https://management.azure.com/.default`) and
 *   `POST /{tenant}/oauth2/token` (v1, form `resource`), grant `client_credentials`, authenticated with
 *   `client_secret` or a `client_assertion` JWT whose RS256/PS256 signature is verified against the
 *   registered certificate found by its `x5t` / `x5t#S256` thumbprint, with `aud`, `iss`, `sub`, `exp` checked.
 * - The discovery documents MSAL reads first: `/{tenant}/v2.0/.well-known/openid-configuration`,
 *   `/common/discovery/instance`, and the JWKS.
 *
 * Credentials reach it with `{ authorityHost: entra.url, disableInstanceDiscovery: true, ...azureClientTlsOptions(ca) }`.
 * Errors carry the AADSTS codes Entra uses.
 */
export async function startEntraEmulator(
  options: StartEntraEmulatorOptions = {},
): Promise<EntraEmulator> {
  const certificateAuthority = options.certificateAuthority ?? getSharedCertificateAuthority();
  const tokenIssuer = options.tokenIssuer ?? getSharedTokenIssuer();
  const principals = createServicePrincipalDirectory();
  const faults = createEntraFaults();
  const log: EntraRequestRecord[] = [];
  let baseUrl = '';
  const tokenEndpoint = createEntraTokenEndpoint({
    principals,
    faults,
    tokenIssuer,
    lifetimeMs: options.tokenLifetimeMs ?? 3_599_000,
    issuerKeys: createIssuerKeyResolver({
      trustedCaPems: [certificateAuthority.certificatePem, ...(options.trustedIssuerCaPems ?? [])],
    }),
    findFederated: (tenantId, clientId) =>
      options.federatedIdentities?.findApplication(tenantId, clientId),
    baseUrl: () => baseUrl,
  });
  const handler = createEntraRouter({
    tokenEndpoint,
    tokenIssuer,
    knownTenant: (tenant) => principals.hasTenant(tenant),
    log,
    baseUrl: () => baseUrl,
  });

  const server = await startLoopbackServer({
    handler: recordTraffic('entra', handler),
    certificate: certificateAuthority.issueServerCertificate(),
    ...(options.host ? { host: options.host } : {}),
  });
  baseUrl = server.url;

  return {
    url: server.url,
    certificateAuthority,
    tokenIssuer,
    faults: publicFaults(faults),
    registerServicePrincipal: (spec) => principals.register(spec),
    removeServicePrincipal: (tenantId, clientId) => principals.remove(tenantId, clientId),
    requestLog: () => [...log],
    async stop() {
      faults.cancelTimers();
      await server.close();
    },
  };
}
