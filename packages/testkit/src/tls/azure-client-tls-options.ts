import type { TlsSettings } from '@azure/core-rest-pipeline';
import type { CertificateAuthority } from './certificate-authority.js';

/** Client options that make an Azure SDK client trust the emulators' CA, and nothing else changed. */
export interface AzureClientTlsOptions {
  /** Read by `createPipelineFromOptions` (core-rest-pipeline), which adds its `tlsPolicy`. */
  readonly tlsOptions: TlsSettings;
}

/**
 * The options to spread into any Azure SDK client or credential so that it reaches the https
 * emulators (ARM, Entra) on loopback:
 *
 * ```ts
 * new ComputeManagementClient(credential, subscriptionId, { endpoint: arm.url, ...azureClientTlsOptions(ca) });
 * new ClientSecretCredential(tenantId, clientId, secret, { authorityHost: entra.url, ...azureClientTlsOptions(ca) });
 * ```
 *
 * Why TLS and not a custom `httpClient`: the bearer-token policy refuses non-https URLs and MSAL refuses
 * non-https authorities, so the emulators must speak https; the pipeline's own `tlsOptions` (core-rest-pipeline
 * `tlsPolicy`, honoured by its Node http client for each request's agent) is the SDK's supported way to trust a
 * private CA per client, so neither `NODE_EXTRA_CA_CERTS` nor `NODE_TLS_REJECT_UNAUTHORIZED` is touched and the
 * real transport runs. `ca` replaces the public roots for that client only, which is what a test wants.
 */
export function azureClientTlsOptions(
  certificateAuthority: CertificateAuthority | string,
): AzureClientTlsOptions {
  const ca =
    typeof certificateAuthority === 'string'
      ? certificateAuthority
      : certificateAuthority.certificatePem;
  if (!ca.includes('-----BEGIN CERTIFICATE-----'))
    throw new TypeError('azureClientTlsOptions: expected a PEM certificate');
  return { tlsOptions: { ca } };
}
