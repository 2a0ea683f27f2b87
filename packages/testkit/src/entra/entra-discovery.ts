/** The OpenID configuration Entra publishes for a tenant, v1 or v2.0, with endpoints under `baseUrl`. */
export function openIdConfiguration(
  baseUrl: string,
  tenant: string,
  version: 'v1' | 'v2.0',
): Record<string, unknown> {
  const v = version === 'v2.0' ? '/v2.0' : '';
  return {
    token_endpoint: `${baseUrl}/${tenant}/oauth2${v}/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${baseUrl}/${tenant}/discovery${v}/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: version === 'v2.0' ? `${baseUrl}/${tenant}/v2.0` : `https://sts.windows.net/${tenant}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
    authorization_endpoint: `${baseUrl}/${tenant}/oauth2${v}/authorize`,
    device_authorization_endpoint: `${baseUrl}/${tenant}/oauth2${v}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${baseUrl}/${tenant}/oauth2${v}/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
    kerberos_endpoint: `${baseUrl}/${tenant}/kerberos`,
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

/** MSAL's instance discovery answer: the tenant's discovery endpoint and this host as the only alias. */
export function instanceDiscovery(baseUrl: string, url: URL): Record<string, unknown> {
  const host = url.host;
  const endpoint = url.searchParams.get('authorization_endpoint') ?? '';
  const endpointTenant = /^https?:\/\/[^/]+\/([^/]+)\//.exec(endpoint)?.[1] ?? 'common';
  return {
    tenant_discovery_endpoint: `${baseUrl}/${endpointTenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}
