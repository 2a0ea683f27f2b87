/**
 * IMDS versioning, from Microsoft's "Azure Instance Metadata Service" (azure-compute-docs
 * `articles/virtual-machines/instance-metadata-service.md`, ms.date 2023-04-11: "Versioning",
 * "Supported API versions", "Endpoint categories" and the compute table's "Version introduced"),
 * written here by hand. Kept apart from the emulator's own list on purpose: the contract is stated
 * once from the documentation, not read back from the implementation it checks.
 */

/** The supported api-versions, oldest first. */
export const DOCUMENTED_IMDS_API_VERSIONS: readonly string[] = [
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

/** The first api-version of the `/metadata/identity` category. */
export const IDENTITY_CATEGORY_SINCE = '2018-02-01';

/** Every documented top-level compute field and the api-version that introduced it. */
export const COMPUTE_FIELD_SINCE: Readonly<Record<string, string>> = {
  additionalCapabilities: '2021-11-01',
  azEnvironment: '2018-10-01',
  customData: '2019-02-01',
  evictionPolicy: '2020-12-01',
  extendedLocation: '2021-03-01',
  host: '2021-11-15',
  hostGroup: '2021-11-15',
  isHostCompatibilityLayerVm: '2020-06-01',
  licenseType: '2020-09-01',
  location: '2017-04-02',
  name: '2017-04-02',
  offer: '2017-04-02',
  osProfile: '2020-07-15',
  osType: '2017-04-02',
  physicalZone: '2023-11-15',
  placementGroupId: '2017-08-01',
  plan: '2018-04-02',
  platformFaultDomain: '2017-04-02',
  platformSubFaultDomain: '2021-10-01',
  platformUpdateDomain: '2017-04-02',
  priority: '2020-12-01',
  provider: '2018-10-01',
  publicKeys: '2018-04-02',
  publisher: '2017-04-02',
  resourceGroupName: '2017-08-01',
  resourceId: '2019-03-11',
  securityProfile: '2020-06-01',
  sku: '2017-04-02',
  storageProfile: '2019-06-01',
  subscriptionId: '2017-08-01',
  tags: '2017-08-01',
  tagsList: '2019-06-04',
  userData: '2021-01-01',
  version: '2017-04-02',
  virtualMachineScaleSet: '2021-03-01',
  vmId: '2017-04-02',
  vmScaleSetName: '2017-12-01',
  vmSize: '2017-04-02',
  zone: '2017-12-01',
};

/** `osProfile`'s fields and the api-version that introduced each. */
export const OS_PROFILE_FIELD_SINCE: Readonly<Record<string, string>> = {
  adminUsername: '2020-07-15',
  computerName: '2020-07-15',
  disablePasswordAuthentication: '2020-10-01',
};

/**
 * The token endpoint's `error` values (`IdentityErrorResponse` in azure-rest-api-specs
 * `specification/imds/data-plane/…/stable/2018-02-01/imds.json` and `…/2023-07-01/imds.json`).
 */
export const IDENTITY_ERRORS: readonly string[] = [
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'service_unavailable',
  'bad_request',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'too_many_requests',
];
