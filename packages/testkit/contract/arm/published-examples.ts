import type { ArmEmulator } from '../../src/index.js';

/** Sends a PUT with a JSON body to the emulator (for state its API cannot create directly). */
export type ArmPut = (path: string, apiVersion: string, body: unknown) => Promise<void>;

/**
 * Published `x-ms-examples` of the operations the emulator serves, transcribed (not copied whole:
 * only the request and the response fields that matter, in this file's own shape) from
 * Azure/azure-rest-api-specs. Each names its source file and api-version.
 */
export interface PublishedExample {
  /** `<file> (<api-version>)` in Azure/azure-rest-api-specs. */
  readonly source: string;
  readonly operationId: string;
  readonly method: 'GET' | 'PUT' | 'PATCH' | 'DELETE';
  /** The request path built from the example's parameters. */
  readonly path: string;
  readonly apiVersion: string;
  readonly requestBody?: unknown;
  /** Creates what the example presumes exists (through the emulator's API, or a PUT over HTTP). */
  readonly setup: (arm: ArmEmulator, put: ArmPut) => void | Promise<void>;
  /** The example's status and body (bodies only where the example has one). */
  readonly status: number;
  readonly body?: unknown;
  /**
   * Fields whose values the service generates (ids, GUIDs, times): only their type must match.
   * Paths in `a.b[].c` form.
   */
  readonly generated: readonly string[];
  /**
   * Example fields the emulator does not model, each with why (documented in docs/testkit.md):
   * their absence from the emulator's answer is expected. Paths as for `generated`.
   */
  readonly notModelled?: Readonly<Record<string, string>>;
}

const MSI_FILE =
  'specification/msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/stable';
const COMPUTE_EXAMPLES =
  'specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2023-07-01/examples';
const COMPUTE_FILE = `${COMPUTE_EXAMPLES}/virtualMachineScaleSetExamples`;
const VM_FILE = `${COMPUTE_EXAMPLES}/virtualMachineExamples`;
const SUBSCRIPTION = 'c267c0e7-0a73-4789-9e17-d26aeb0904e5';
const IDENTITY_PATH = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rgName/providers/Microsoft.ManagedIdentity/userAssignedIdentities/resourceName`;
const FIC_PATH = `${IDENTITY_PATH}/federatedIdentityCredentials/ficResourceName`;
const FIC_PROPERTIES = {
  issuer: 'https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID',
  subject: 'system:serviceaccount:ns:svcaccount',
  audiences: ['api://AzureADTokenExchange'],
};
const FIC_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials';

const identity = (arm: ArmEmulator): void => {
  arm.createUserAssignedIdentity({
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'rgName',
    name: 'resourceName',
  });
};

/** Creates the example's identity and, over HTTP, its credential `ficResourceName`. */
const identityWithCredential = async (arm: ArmEmulator, put: ArmPut): Promise<void> => {
  identity(arm);
  await put(FIC_PATH, '2024-11-30', { properties: FIC_PROPERTIES });
};

const IDENTITY_RESPONSE = {
  name: 'resourceName',
  type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
  id: IDENTITY_PATH,
  location: 'eastus',
  properties: {
    clientId: '4024ab25-56a8-4370-aea6-6389221caf29',
    isolationScope: 'None',
    principalId: '25cc773c-7f05-40fc-a104-32d2300754ad',
    tenantId: 'b6c948ef-f6b5-4384-8354-da3a15eca969',
  },
  tags: { key1: 'value1', key2: 'value2' },
};

const FIC_RESPONSE = {
  id: FIC_PATH,
  name: 'ficResourceName',
  properties: FIC_PROPERTIES,
  type: FIC_TYPE,
};

/** The examples replayed by arm-examples.contract.test.ts, in order of the operations. */
export const PUBLISHED_EXAMPLES: readonly PublishedExample[] = [
  {
    source: `${MSI_FILE}/2024-11-30/examples/IdentityCreate.json (2024-11-30), response 201`,
    operationId: 'UserAssignedIdentities_CreateOrUpdate',
    method: 'PUT',
    path: IDENTITY_PATH,
    apiVersion: '2024-11-30',
    requestBody: { location: 'eastus', tags: { key1: 'value1', key2: 'value2' } },
    setup: () => undefined,
    status: 201,
    body: IDENTITY_RESPONSE,
    generated: ['id', 'properties.clientId', 'properties.principalId', 'properties.tenantId'],
  },
  {
    source: `${MSI_FILE}/2024-11-30/examples/IdentityCreate.json (2024-11-30), response 200`,
    operationId: 'UserAssignedIdentities_CreateOrUpdate',
    method: 'PUT',
    path: IDENTITY_PATH,
    apiVersion: '2024-11-30',
    requestBody: { location: 'eastus', tags: { key1: 'value1', key2: 'value2' } },
    setup: (arm) => {
      arm.createUserAssignedIdentity({
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rgName',
        name: 'resourceName',
        location: 'eastus',
      });
    },
    status: 200,
    body: IDENTITY_RESPONSE,
    generated: ['id', 'properties.clientId', 'properties.principalId', 'properties.tenantId'],
  },
  {
    source: `${MSI_FILE}/2023-01-31/examples/IdentityGet.json (2023-01-31)`,
    operationId: 'UserAssignedIdentities_Get',
    method: 'GET',
    path: IDENTITY_PATH,
    apiVersion: '2023-01-31',
    setup: async (_, put) => {
      await put(IDENTITY_PATH, '2023-01-31', {
        location: 'eastus',
        tags: { key1: 'value1', key2: 'value2' },
      });
    },
    status: 200,
    // No isolationScope: it came with 2024-11-30.
    body: {
      ...IDENTITY_RESPONSE,
      name: 'identityName',
      properties: {
        clientId: '4024ab25-56a8-4370-aea6-6389221caf29',
        principalId: '25cc773c-7f05-40fc-a104-32d2300754ad',
        tenantId: 'b6c948ef-f6b5-4384-8354-da3a15eca969',
      },
    },
    // The example's id and name say "identityName", its path "resourceName": the service forms both
    // from the path.
    generated: [
      'id',
      'name',
      'properties.clientId',
      'properties.principalId',
      'properties.tenantId',
    ],
  },
  {
    source: `${MSI_FILE}/2024-11-30/examples/IdentityDelete.json (2024-11-30), response 200`,
    operationId: 'UserAssignedIdentities_Delete',
    method: 'DELETE',
    path: IDENTITY_PATH,
    apiVersion: '2024-11-30',
    setup: identity,
    status: 200,
    generated: [],
  },
  {
    source: `${MSI_FILE}/2024-11-30/examples/IdentityDelete.json (2024-11-30), response 204`,
    operationId: 'UserAssignedIdentities_Delete',
    method: 'DELETE',
    path: IDENTITY_PATH,
    apiVersion: '2024-11-30',
    setup: () => undefined,
    status: 204,
    generated: [],
  },
  {
    source: `${MSI_FILE}/2023-01-31/examples/FederatedIdentityCredentialCreate.json (2023-01-31), response 201`,
    operationId: 'FederatedIdentityCredentials_CreateOrUpdate',
    method: 'PUT',
    path: FIC_PATH,
    apiVersion: '2023-01-31',
    requestBody: { properties: FIC_PROPERTIES },
    setup: identity,
    status: 201,
    body: FIC_RESPONSE,
    // The example's id names another identity ("identityName") than its request path
    // ("resourceName"); the id is the service's to form.
    generated: ['id'],
  },
  {
    source: `${MSI_FILE}/2023-01-31/examples/FederatedIdentityCredentialGet.json (2023-01-31)`,
    operationId: 'FederatedIdentityCredentials_Get',
    method: 'GET',
    path: FIC_PATH,
    apiVersion: '2023-01-31',
    setup: identityWithCredential,
    status: 200,
    body: FIC_RESPONSE,
    generated: ['id'],
  },
  {
    source: `${MSI_FILE}/2024-11-30/examples/FederatedIdentityCredentialList.json (2024-11-30), $top=20`,
    operationId: 'FederatedIdentityCredentials_List',
    method: 'GET',
    path: `${IDENTITY_PATH}/federatedIdentityCredentials?$top=20`,
    apiVersion: '2024-11-30',
    setup: identityWithCredential,
    status: 200,
    body: {
      nextLink: `https://serviceRoot${IDENTITY_PATH}/federatedIdentityCredentials?api-version=2024-11-30&$skipToken=X'12345'`,
      value: [FIC_RESPONSE],
    },
    generated: ['value[].id'],
    notModelled: {
      // The example shows a second page; with one credential and $top=20 there is none.
      nextLink: 'a next page exists only when more credentials than $top remain',
    },
  },
  {
    source: `${MSI_FILE}/2024-11-30/examples/FederatedIdentityCredentialDelete.json (2024-11-30), response 200`,
    operationId: 'FederatedIdentityCredentials_Delete',
    method: 'DELETE',
    path: FIC_PATH,
    apiVersion: '2024-11-30',
    setup: identityWithCredential,
    status: 200,
    generated: [],
  },
  {
    source: `${MSI_FILE}/2024-11-30/examples/FederatedIdentityCredentialDelete.json (2024-11-30), response 204`,
    operationId: 'FederatedIdentityCredentials_Delete',
    method: 'DELETE',
    path: FIC_PATH,
    apiVersion: '2024-11-30',
    setup: identity,
    status: 204,
    generated: [],
  },
  {
    source: `${COMPUTE_FILE}/VirtualMachineScaleSet_Get_WithUserData.json (2023-07-01)`,
    operationId: 'VirtualMachineScaleSets_Get',
    method: 'GET',
    path: `/subscriptions/${SUBSCRIPTION}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVirtualMachineScaleSet`,
    apiVersion: '2023-07-01',
    setup: (arm) => {
      arm.addScaleSet({
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'myResourceGroup',
        name: 'myVirtualMachineScaleSet',
        location: 'westus',
        instanceCount: 4,
      });
    },
    status: 200,
    body: {
      name: 'myVirtualMachineScaleSet',
      id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVirtualMachineScaleSet`,
      type: 'Microsoft.Compute/virtualMachineScaleSets',
      location: 'westus',
      tags: { myTag1: 'tagValue1' },
      sku: { name: 'Standard_D2s_v3', tier: 'Standard', capacity: 4 },
      properties: {
        singlePlacementGroup: false,
        upgradePolicy: {
          mode: 'Automatic',
          automaticOSUpgradePolicy: { enableAutomaticOSUpgrade: false },
        },
        virtualMachineProfile: {
          storageProfile: {},
          applicationProfile: {},
          userData: 'RXhhbXBsZSBVc2VyRGF0YQ==',
          osProfile: {
            computerNamePrefix: 'myVirtualMachineScaleSet',
            adminUsername: 'admin',
            linuxConfiguration: { disablePasswordAuthentication: false },
          },
          networkProfile: {},
        },
        provisioningState: 'succeeded',
        overprovision: false,
        doNotRunExtensionsOnOverprovisionedVMs: false,
        platformFaultDomainCount: 1,
        hostGroup: {},
      },
    },
    // Values that describe this example's scale set rather than any scale set.
    generated: ['properties.singlePlacementGroup', 'properties.upgradePolicy.mode'],
    notModelled: {
      'tags.myTag1': "the emulator's scale sets carry no tags",
      'properties.upgradePolicy.automaticOSUpgradePolicy': 'no OS upgrades are emulated',
      'properties.virtualMachineProfile.storageProfile': 'no disks or images are emulated',
      'properties.virtualMachineProfile.applicationProfile': 'no gallery applications are emulated',
      'properties.virtualMachineProfile.userData':
        'answered only with $expand=userData; not emulated',
      'properties.virtualMachineProfile.osProfile.adminUsername': 'no OS accounts are emulated',
      'properties.virtualMachineProfile.osProfile.linuxConfiguration':
        'no OS settings are emulated',
      'properties.virtualMachineProfile.networkProfile': 'no network interfaces are emulated',
      'properties.doNotRunExtensionsOnOverprovisionedVMs': 'no extensions are emulated',
      'properties.platformFaultDomainCount': 'no placement is emulated',
      'properties.hostGroup': 'no dedicated hosts are emulated',
    },
  },
  {
    // Compute publishes generated examples for this operation: the minimum one is replayed; the
    // maximum one names identities by placeholder keys ("key3951") where an ARM id belongs, so the
    // update that adds user-assigned identities is checked by the recorded traffic instead.
    source: `${COMPUTE_FILE}/VirtualMachineScaleSet_Update_MinimumSet_Gen.json (2023-07-01)`,
    operationId: 'VirtualMachineScaleSets_Update',
    method: 'PATCH',
    path: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rgcompute/providers/Microsoft.Compute/virtualMachineScaleSets/aaaaaaaaaaaaaa`,
    apiVersion: '2023-07-01',
    requestBody: {},
    setup: (arm) => {
      arm.addScaleSet({
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rgcompute',
        name: 'aaaaaaaaaaaaaa',
        location: 'westus',
      });
    },
    status: 200,
    body: { location: 'westus' },
    generated: [],
  },
  {
    source: `${VM_FILE}/VirtualMachine_Get.json (2023-07-01), $expand=userData`,
    operationId: 'VirtualMachines_Get',
    method: 'GET',
    path: `/subscriptions/${SUBSCRIPTION}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM?$expand=userData`,
    apiVersion: '2023-07-01',
    setup: (arm) => {
      arm.addVirtualMachine({
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'myResourceGroup',
        name: 'myVM',
        location: 'West US',
      });
    },
    status: 200,
    body: {
      name: 'myVM',
      id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM`,
      type: 'Microsoft.Compute/virtualMachines',
      location: 'West US',
      tags: { myTag1: 'tagValue1' },
      properties: {
        vmId: '0f47b100-583c-48e3-a4c0-aefc2c9bbcc1',
        availabilitySet: { id: 'my-AvailabilitySet' },
        proximityPlacementGroup: { id: 'my-ppg01' },
        hardwareProfile: { vmSize: 'Standard_DS3_v2' },
        storageProfile: {},
        applicationProfile: {},
        userData: 'RXhhbXBsZSBVc2VyRGF0YQ==',
        osProfile: {
          computerName: 'myVM',
          adminUsername: 'admin',
          windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: false },
          secrets: [],
        },
        networkProfile: {},
        diagnosticsProfile: {},
        extensionsTimeBudget: 'PT50M',
        provisioningState: 'Succeeded',
        timeCreated: '2021-06-27T01:02:38.3138469+00:00',
      },
      resources: [],
    },
    // vmId is the service's; the size describes this example's VM rather than any VM.
    generated: ['properties.vmId', 'properties.hardwareProfile.vmSize'],
    notModelled: {
      tags: "the emulator's VMs carry no tags",
      'properties.availabilitySet': 'no availability sets are emulated',
      'properties.proximityPlacementGroup': 'no placement is emulated',
      'properties.storageProfile': 'no disks or images are emulated',
      'properties.applicationProfile': 'no gallery applications are emulated',
      'properties.userData': 'no user data is emulated',
      'properties.osProfile.adminUsername': 'no OS accounts are emulated',
      'properties.osProfile.windowsConfiguration': 'no OS settings are emulated',
      'properties.osProfile.secrets': 'no OS secrets are emulated',
      'properties.networkProfile': 'no network interfaces are emulated',
      'properties.diagnosticsProfile': 'no boot diagnostics are emulated',
      'properties.extensionsTimeBudget': 'no extensions are emulated',
      'properties.timeCreated': 'no creation time is kept',
      resources: 'no extensions are emulated',
    },
  },
];
