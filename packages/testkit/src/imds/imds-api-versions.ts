/**
 * The api-versions IMDS serves, oldest first, as its documentation lists them ("Azure Instance
 * Metadata Service", Versioning): a request naming another (or none) is refused.
 */
export const IMDS_API_VERSIONS: readonly string[] = [
  '2017-03-01',
  '2017-04-02',
  '2017-08-01',
  '2017-10-01',
  '2017-12-01',
  '2018-02-01',
  '2018-04-02',
  '2018-10-01',
  '2019-02-01',
  '2019-03-11',
  '2019-04-30',
  '2019-06-01',
  '2019-06-04',
  '2019-08-01',
  '2019-08-15',
  '2019-11-01',
  '2020-06-01',
  '2020-07-15',
  '2020-09-01',
  '2020-10-01',
  '2020-12-01',
  '2021-01-01',
  '2021-02-01',
  '2021-03-01',
  '2021-05-01',
  '2021-08-01',
  '2021-10-01',
  '2021-11-01',
  '2021-11-15',
  '2021-12-13',
  '2023-07-01',
  '2023-11-15',
  '2024-03-15',
  '2024-07-17',
  '2025-04-07',
];

/** Managed identity tokens exist from this api-version on (the identity category's first). */
export const IMDS_IDENTITY_SINCE = '2018-02-01';

/** Whether IMDS serves `apiVersion` (exactly one of the listed versions). */
export function isImdsApiVersion(apiVersion: string | null): apiVersion is string {
  return apiVersion !== null && IMDS_API_VERSIONS.includes(apiVersion);
}

/** The body IMDS answers (400) for a missing or unknown api-version: its three newest versions. */
export function unknownApiVersionBody(): { error: string; 'newest-versions': string[] } {
  return {
    error:
      'Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds',
    'newest-versions': IMDS_API_VERSIONS.slice(-3).reverse(),
  };
}

/** The api-version that introduced each compute field the emulator answers. */
const COMPUTE_FIELD_SINCE: Readonly<Record<string, string>> = {
  azEnvironment: '2018-10-01',
  location: '2017-04-02',
  name: '2017-04-02',
  offer: '2017-04-02',
  osProfile: '2020-07-15',
  osType: '2017-04-02',
  provider: '2018-10-01',
  resourceGroupName: '2017-08-01',
  resourceId: '2019-03-11',
  subscriptionId: '2017-08-01',
  tags: '2017-08-01',
  tagsList: '2019-06-04',
  vmId: '2017-04-02',
  vmScaleSetName: '2017-12-01',
  vmSize: '2017-04-02',
  zone: '2017-12-01',
};

const OS_PROFILE_FIELD_SINCE: Readonly<Record<string, string>> = {
  adminUsername: '2020-07-15',
  computerName: '2020-07-15',
  disablePasswordAuthentication: '2020-10-01',
};

const fieldsAt = (
  value: Readonly<Record<string, unknown>>,
  since: Readonly<Record<string, string>>,
  apiVersion: string,
): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(value).filter(([field]) => (since[field] ?? apiVersion) <= apiVersion),
  );

/**
 * The compute metadata as `apiVersion` answers it: fields introduced by a later version are left
 * out (a client pinned to an old version sees the old shape).
 */
export function computeMetadataAt(
  compute: Readonly<Record<string, unknown>>,
  apiVersion: string,
): Record<string, unknown> {
  const answer = fieldsAt(compute, COMPUTE_FIELD_SINCE, apiVersion);
  const osProfile = answer.osProfile;
  if (osProfile !== null && typeof osProfile === 'object')
    answer.osProfile = fieldsAt(
      osProfile as Record<string, unknown>,
      OS_PROFILE_FIELD_SINCE,
      apiVersion,
    );
  return answer;
}
