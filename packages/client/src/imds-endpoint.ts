/** Where IMDS answers on every Azure VM; NMI intercepts it for pods. */
export const IMDS_DEFAULT_HOST = 'http://169.254.169.254';
/** Path of the managed-identity token endpoint. */
export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';
/** Path of the instance metadata endpoint. */
export const IMDS_INSTANCE_PATH = '/metadata/instance';
/** The token API version the Azure SDKs send (and every NMI version accepts). */
export const IMDS_TOKEN_API_VERSION = '2018-02-01';
/** The environment variable @azure/identity and MSAL read to reach pod identity instead of IMDS. */
export const AUTHORITY_HOST_ENV = 'AZURE_POD_IDENTITY_AUTHORITY_HOST';

/**
 * Chooses the metadata endpoint: the explicit option, else `AZURE_POD_IDENTITY_AUTHORITY_HOST`
 * (as @azure/identity does: its scheme and host replace IMDS's), else IMDS's link-local address.
 *
 * @param endpoint - an explicit endpoint (scheme, host, optional port)
 * @param env - the environment to read, by default `process.env`
 * @throws TypeError when the chosen value is not an http(s) URL
 */
export function resolveImdsEndpoint(
  endpoint?: string | URL,
  env: Readonly<Record<string, string | undefined>> = process.env,
): URL {
  const fromEnv = env[AUTHORITY_HOST_ENV];
  const source =
    endpoint !== undefined
      ? 'endpoint option'
      : fromEnv !== undefined && fromEnv !== ''
        ? AUTHORITY_HOST_ENV
        : 'default';
  const raw = endpoint ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : IMDS_DEFAULT_HOST);
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new TypeError(`${source} is not a URL: ${String(raw)}`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${source} must be an http or https URL, got ${url.protocol}`);
  }
  return new URL(url.origin);
}
