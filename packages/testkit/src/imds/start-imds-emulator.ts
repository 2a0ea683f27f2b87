import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ArmEmulator, MachineDescription } from '../arm/start-arm-emulator.js';
import type { TokenIssuer } from '../entra/token-issuer.js';
import { getSharedTokenIssuer } from '../entra/token-issuer.js';
import { recordTraffic } from '../contract/record-traffic.js';
import { sendJson } from '../http/send-json.js';
import { publicFaults } from '../http/token-endpoint-faults.js';
import { startLoopbackServer } from '../tls/start-loopback-server.js';
import { createImdsFaults, type ImdsFaults } from './imds-faults.js';
import { createImdsTokenEndpoint } from './imds-token-endpoint.js';
import { answerInstanceMetadata } from './instance-metadata.js';

/** Options of {@link startImdsEmulator}. */
export interface StartImdsEmulatorOptions {
  /** The ARM emulator that holds the machine and its identities: tokens follow its live state. */
  readonly arm: ArmEmulator;
  /** Resource id of the VM or scale set instance this IMDS belongs to. */
  readonly resourceId: string;
  /** Signs tokens; default the per-process shared issuer. */
  readonly tokenIssuer?: TokenIssuer;
  /** Loopback address; default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** The node's private IP reported by `/metadata/instance/network`; default the listening host. */
  readonly privateIpAddress?: string;
  /** Token lifetime; default 24 h, as IMDS issues. */
  readonly tokenLifetimeMs?: number;
}

/** One token request the IMDS emulator answered. */
export interface ImdsRequestRecord {
  readonly path: string;
  readonly status: number;
  /** Which selector the caller used, and the identity served (client id) on success. */
  readonly selector: 'client_id' | 'object_id' | 'msi_res_id' | 'mi_res_id' | 'none';
  readonly clientId: string | undefined;
}

/** A running IMDS emulator for one machine. */
export interface ImdsEmulator {
  /** `http://host:port`: what `AZURE_POD_IDENTITY_AUTHORITY_HOST` (or an NMI's IMDS endpoint setting) takes. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly machine: MachineDescription;
  readonly faults: ImdsFaults;
  /** Token requests served so far, oldest first. */
  requestLog(): readonly ImdsRequestRecord[];
  stop(): Promise<void>;
}

const TOKEN_PATHS = new Set([
  '/metadata/identity/oauth2/token',
  '/metadata/identity/oauth2/token/',
]);

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJson(response, status, body, { server: 'IMDS/150.870.65.1854', ...headers });
}

/**
 * Starts an emulator of the Azure Instance Metadata Service of one VM or scale set instance, over
 * plain http like the real 169.254.169.254, on a loopback address:
 *
 * - `GET /metadata/identity/oauth2/token[/]` with the documented contract: `Metadata: true` required,
 *   `api-version` and `resource` required, one of `client_id` / `object_id` / `msi_res_id` (`mi_res_id`)
 *   optional; string-valued JSON; 400 `invalid_request` "Identity not found" when the identity is not
 *   assigned to this machine in the ARM emulator's current state; without a selector, the
 *   system-assigned identity, else the only user-assigned one.
 * - `GET /metadata/instance[/compute|/network]`: compute and network metadata in the shape of the
 *   requested api-version (a compute field appears from the version that introduced it).
 *
 * Both refuse an api-version IMDS does not document (tokens need 2018-02-01 or later).
 *
 * Tokens are RS256 JWTs from {@link TokenIssuer} naming the identity (`appid`, `oid`, `xms_mirid`).
 */
export async function startImdsEmulator(options: StartImdsEmulatorOptions): Promise<ImdsEmulator> {
  const machine = options.arm.describeMachine(options.resourceId);
  if (!machine)
    throw new RangeError(`no VM or scale set instance ${options.resourceId} in the ARM emulator`);
  const faults = createImdsFaults();
  const log: ImdsRequestRecord[] = [];
  const tokenEndpoint = createImdsTokenEndpoint({
    arm: options.arm,
    machine,
    issuer: options.tokenIssuer ?? getSharedTokenIssuer(),
    lifetimeMs: options.tokenLifetimeMs ?? 86_400_000,
    faults,
  });
  const privateIpAddress = options.privateIpAddress ?? options.host ?? '127.0.0.1';

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    request.resume();
    const url = new URL(request.url ?? '/', 'http://imds');
    if (TOKEN_PATHS.has(url.pathname)) {
      const answer = await tokenEndpoint(url, request);
      const { status, selector, clientId } = answer;
      log.push({ path: url.pathname, status, selector, clientId });
      send(response, status, answer.body, answer.headers);
      return;
    }
    const instancePath = /^\/metadata\/instance(?:\/(compute|network))?\/?$/.exec(url.pathname);
    if (instancePath) {
      const part = instancePath[1] as 'compute' | 'network' | undefined;
      const answer = answerInstanceMetadata(request, url, part, machine, privateIpAddress);
      send(response, answer.status, answer.body);
      return;
    }
    send(response, 404, { error: 'Not found' });
  };

  const server = await startLoopbackServer({
    handler: recordTraffic('imds', handler),
    ...(options.host ? { host: options.host } : {}),
    ...(options.port === undefined ? {} : { port: options.port }),
  });

  return {
    url: server.url,
    host: server.host,
    port: server.port,
    machine,
    faults: publicFaults(faults),
    requestLog: () => [...log],
    async stop() {
      faults.cancelTimers();
      await server.close();
    },
  };
}
