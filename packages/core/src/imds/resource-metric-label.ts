/**
 * The audiences Azure documents for managed identities, as they appear in the `resource` label of
 * NMI's request metric. The value of `resource` is chosen by the calling pod: every distinct value
 * would add a series that is never dropped, so any other resource is counted as
 * {@link OTHER_RESOURCE_LABEL}.
 */
export const WELL_KNOWN_RESOURCES: readonly string[] = [
  'https://management.azure.com/',
  'https://management.core.windows.net/',
  'https://management.usgovcloudapi.net/',
  'https://management.chinacloudapi.cn/',
  'https://vault.azure.net',
  'https://vault.usgovcloudapi.net',
  'https://vault.azure.cn',
  'https://managedhsm.azure.net',
  'https://storage.azure.com/',
  'https://database.windows.net/',
  'https://ossrdbms-aad.database.windows.net',
  'https://graph.microsoft.com/',
  'https://graph.windows.net/',
  'https://servicebus.azure.net/',
  'https://eventhubs.azure.net/',
  'https://eventgrid.azure.net',
  'https://cognitiveservices.azure.com/',
  'https://monitor.azure.com/',
  'https://api.loganalytics.io',
  'https://api.applicationinsights.io',
  'https://datalake.azure.net/',
  'https://batch.core.windows.net/',
  'https://redis.azure.com',
  'https://azconfig.io',
  'https://digitaltwins.azure.net',
  'https://dev.azuresynapse.net',
  'https://search.azure.com',
];

/** The `resource` label of every request for a resource not in {@link WELL_KNOWN_RESOURCES}. */
export const OTHER_RESOURCE_LABEL = 'other';

// Lower-case, without trailing slashes: how a client may spell a well-known audience.
const spellingKey = (resource: string): string => resource.toLowerCase().replace(/\/+$/, '');
const BY_SPELLING: ReadonlyMap<string, string> = new Map(
  WELL_KNOWN_RESOURCES.map((resource) => [spellingKey(resource), resource]),
);

/**
 * The metric label value for a requested resource: the documented spelling of a well-known audience
 * (matched ignoring case and trailing slashes, so `https://VAULT.azure.net/` counts as
 * `https://vault.azure.net`), otherwise `other`. A fixed set of printable values whatever the caller
 * sends: no CR, LF or NUL from `%0d%0a%00` ever reaches the exposition text, and the label never
 * has more than {@link WELL_KNOWN_RESOURCES}` + 1` values.
 *
 * @param resource - the request's `resource` parameter, decoded
 * @returns the label value
 */
export function resourceMetricLabel(resource: string): string {
  // No audience in the list is longer than this; longer input needs no lower-casing to say "other".
  if (resource.length > 64) return OTHER_RESOURCE_LABEL;
  return BY_SPELLING.get(spellingKey(resource)) ?? OTHER_RESOURCE_LABEL;
}
