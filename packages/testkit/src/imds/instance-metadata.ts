import type { IncomingMessage } from 'node:http';
import type { MachineDescription } from '../arm/start-arm-emulator.js';
import { computeMetadataAt, isImdsApiVersion, unknownApiVersionBody } from './imds-api-versions.js';

/** The machine's compute and network metadata, in the newest shape. */
function instanceMetadata(
  machine: MachineDescription,
  privateIpAddress: string,
): { compute: Record<string, unknown>; network: unknown } {
  return {
    compute: {
      azEnvironment: 'AzurePublicCloud',
      location: machine.location,
      name: machine.name,
      offer: 'aks',
      osType: 'Linux',
      osProfile: {
        adminUsername: 'azureuser',
        computerName: machine.computerName,
        disablePasswordAuthentication: 'true',
      },
      provider: 'Microsoft.Compute',
      resourceGroupName: machine.resourceGroup,
      resourceId: machine.id,
      subscriptionId: machine.subscriptionId,
      tags: '',
      tagsList: [],
      vmId: machine.vmId,
      vmScaleSetName: machine.vmScaleSetName,
      vmSize: 'Standard_D2s_v3',
      zone: '',
    },
    network: {
      interface: [
        {
          ipv4: {
            ipAddress: [{ privateIpAddress, publicIpAddress: '' }],
            subnet: [{ address: '10.224.0.0', prefix: '16' }],
          },
          ipv6: { ipAddress: [] },
          macAddress: '000D3A000000',
        },
      ],
    },
  };
}

/**
 * The answer to `GET /metadata/instance[/compute|/network]` (`part` the path's last segment, if
 * any): 400 without `Metadata: true` or with an api-version IMDS does not document, else the
 * metadata in the shape of the requested api-version.
 */
export function answerInstanceMetadata(
  request: IncomingMessage,
  url: URL,
  part: 'compute' | 'network' | undefined,
  machine: MachineDescription,
  privateIpAddress: string,
): { status: number; body: unknown } {
  if (request.headers.metadata !== 'true')
    return { status: 400, body: { error: 'Bad request. Required metadata header not specified' } };
  const apiVersion = url.searchParams.get('api-version');
  if (!isImdsApiVersion(apiVersion)) return { status: 400, body: unknownApiVersionBody() };
  const metadata = instanceMetadata(machine, privateIpAddress);
  const compute = computeMetadataAt(metadata.compute, apiVersion);
  const body =
    part === 'compute'
      ? compute
      : part === 'network'
        ? metadata.network
        : { compute, network: metadata.network };
  return { status: 200, body };
}
