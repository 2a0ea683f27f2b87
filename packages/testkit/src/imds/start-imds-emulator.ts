import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ArmEmulator, MachineDescription } from '../arm/start-arm-emulator.js';
import type { AssignedUserIdentity } from '../arm/arm-identity.js';
import type { TokenIssuer } from '../entra/token-issuer.js';
import { getSharedTokenIssuer } from '../entra/token-issuer.js';
import { recordTraffic } from '../contract/record-traffic.js';
import {
  IMDS_IDENTITY_SINCE,
  computeMetadataAt,
  isImdsApiVersion,
  unknownApiVersionBody,
} from './imds-api-versions.js';
import { startLoopbackServer } from '../tls/start-loopback-server.js';

/** The retryable statuses IMDS documents (404/410 updating, 429 throttled, 5xx transient). */
export type ImdsRetryableStatus = 404 | 410 | 429 | 500 | 502 | 503 | 504;

/** Options of {@link ImdsFaults.failNext}. */
export interface ImdsFailure {
  readonly status: ImdsRetryableStatus;
  /** How many token requests fail; default 1. */
  readonly count?: number;
  /** Adds `Retry-After: <seconds>`. */
  readonly retryAfterSeconds?: number;
}

/** Fault injection of one IMDS emulator; applies to the token endpoint. */
export interface ImdsFaults {
  /** Answers the next token requests with a retryable error status. */
  failNext(failure: ImdsFailure): void;
  /** Delays every token response by `latencyMs` (0 removes it). */
  setLatency(latencyMs: number): void;
  clear(): void;
}

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

const SELECTORS = ['client_id', 'object_id', 'msi_res_id', 'mi_res_id'] as const;

interface Resolved {
  readonly clientId: string;
  readonly objectId: string;
  readonly resourceId: string;
}

class ImdsError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
  }
}

const ERROR_BODIES: Readonly<Record<ImdsRetryableStatus, [string, string]>> = {
  404: ['not_found', 'IMDS endpoint is updating'],
  410: ['service_unavailable', 'IMDS endpoint is updating'],
  429: ['too_many_requests', 'Too many requests, retry later'],
  500: ['server_error', 'An unexpected error occurred while fetching the access token'],
  502: ['server_error', 'Bad gateway'],
  503: ['service_unavailable', 'The managed identity service is temporarily unavailable'],
  504: ['server_error', 'Timed out fetching the access token'],
};

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
  const issuer = options.tokenIssuer ?? getSharedTokenIssuer();
  const lifetimeMs = options.tokenLifetimeMs ?? 86_400_000;
  const pending: {
    status: ImdsRetryableStatus;
    remaining: number;
    retryAfterSeconds: number | undefined;
  }[] = [];
  let latencyMs = 0;
  const log: ImdsRequestRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const faults: ImdsFaults = {
    failNext(failure) {
      const count = failure.count ?? 1;
      if (!(failure.status in ERROR_BODIES))
        throw new RangeError(`not a retryable IMDS status: ${String(failure.status)}`);
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`count must be a positive integer, got ${count}`);
      pending.push({
        status: failure.status,
        remaining: count,
        retryAfterSeconds: failure.retryAfterSeconds,
      });
    },
    setLatency(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latencyMs must be >= 0, got ${ms}`);
      latencyMs = ms;
    },
    clear() {
      pending.length = 0;
      latencyMs = 0;
    },
  };

  const resolveIdentity = (selector: ImdsRequestRecord['selector'], value: string): Resolved => {
    const assignment = options.arm.getIdentityAssignment(machine.identityResourceId);
    const user: readonly AssignedUserIdentity[] = assignment?.userAssigned ?? [];
    const notFound = new ImdsError(400, 'invalid_request', 'Identity not found');
    const fromUser = (identity: AssignedUserIdentity | undefined): Resolved => {
      if (!identity) throw notFound;
      return {
        clientId: identity.clientId,
        objectId: identity.principalId,
        resourceId: identity.resourceId,
      };
    };
    const lower = value.toLowerCase();
    switch (selector) {
      case 'client_id':
        return fromUser(user.find((identity) => identity.clientId.toLowerCase() === lower));
      case 'object_id':
        return fromUser(user.find((identity) => identity.principalId.toLowerCase() === lower));
      case 'msi_res_id':
      case 'mi_res_id':
        return fromUser(user.find((identity) => identity.resourceId.toLowerCase() === lower));
      case 'none': {
        const system = assignment?.systemAssigned;
        if (system)
          return {
            clientId: system.clientId,
            objectId: system.principalId,
            resourceId: machine.identityResourceId,
          };
        if (user.length === 1) return fromUser(user[0]);
        if (user.length > 1) {
          throw new ImdsError(
            400,
            'invalid_request',
            'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
          );
        }
        throw notFound;
      }
    }
  };

  const delay = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });

  const send = (
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): void => {
    const payload = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      server: 'IMDS/150.870.65.1854',
      ...headers,
    });
    response.end(payload);
  };

  const handleToken = async (
    url: URL,
    request: IncomingMessage,
  ): Promise<{
    status: number;
    body: unknown;
    headers?: Readonly<Record<string, string>>;
    selector: ImdsRequestRecord['selector'];
    clientId?: string;
  }> => {
    let selector: ImdsRequestRecord['selector'] = 'none';
    try {
      if (request.method !== 'GET')
        throw new ImdsError(405, 'method_not_allowed', 'Method not allowed');
      // The SSRF guard comes first: the SDK's availability probe (no header, no query) gets this 400 at once.
      if (request.headers.metadata !== 'true')
        throw new ImdsError(400, 'invalid_request', 'Required metadata header not specified');
      const query = url.searchParams;
      const apiVersion = query.get('api-version');
      if (!apiVersion)
        throw new ImdsError(
          400,
          'invalid_request',
          'Required query variable api-version is missing',
        );
      if (!isImdsApiVersion(apiVersion) || apiVersion < IMDS_IDENTITY_SINCE)
        throw new ImdsError(
          400,
          'invalid_request',
          `api-version ${apiVersion} does not serve managed identity tokens`,
        );
      const resource = query.get('resource');
      if (!resource)
        throw new ImdsError(400, 'invalid_request', 'Required query variable resource is missing');
      const given = SELECTORS.filter((name) => query.get(name));
      if (given.length > 1) {
        throw new ImdsError(
          400,
          'invalid_request',
          'Only one of client_id, object_id or msi_res_id may be specified',
        );
      }
      selector = given[0] ?? 'none';
      await delay(latencyMs);
      const failure = pending[0];
      if (failure) {
        failure.remaining -= 1;
        if (failure.remaining === 0) pending.shift();
        const [error, description] = ERROR_BODIES[failure.status];
        throw new ImdsError(
          failure.status,
          error,
          description,
          failure.retryAfterSeconds === undefined
            ? {}
            : { 'retry-after': String(failure.retryAfterSeconds) },
        );
      }
      const identity = resolveIdentity(
        selector,
        selector === 'none' ? '' : (query.get(selector) ?? ''),
      );
      const issued = issuer.issue({
        audience: resource,
        tenantId: options.arm.tenantId,
        clientId: identity.clientId,
        objectId: identity.objectId,
        managedIdentityResourceId: identity.resourceId,
        lifetimeMs,
      });
      return {
        status: 200,
        selector,
        clientId: identity.clientId,
        // IMDS answers every numeric field as a string.
        body: {
          access_token: issued.accessToken,
          // The documented answer carries an empty refresh token (IMDS never issues one).
          refresh_token: '',
          client_id: identity.clientId,
          expires_in: String(issued.expiresIn),
          expires_on: String(issued.expiresOn),
          ext_expires_in: String(issued.expiresIn),
          not_before: String(issued.notBefore),
          resource,
          token_type: 'Bearer',
        },
      };
    } catch (error) {
      if (!(error instanceof ImdsError)) throw error;
      return {
        status: error.status,
        selector,
        body: { error: error.error, error_description: error.description },
        headers: error.headers,
      };
    }
  };

  const instanceMetadata = (): { compute: Record<string, unknown>; network: unknown } => ({
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
            ipAddress: [
              {
                privateIpAddress: options.privateIpAddress ?? options.host ?? '127.0.0.1',
                publicIpAddress: '',
              },
            ],
            subnet: [{ address: '10.224.0.0', prefix: '16' }],
          },
          ipv6: { ipAddress: [] },
          macAddress: '000D3A000000',
        },
      ],
    },
  });

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    request.resume();
    const url = new URL(request.url ?? '/', 'http://imds');
    if (TOKEN_PATHS.has(url.pathname)) {
      const result = await handleToken(url, request);
      log.push({
        path: url.pathname,
        status: result.status,
        selector: result.selector,
        clientId: result.clientId,
      });
      send(response, result.status, result.body, result.headers);
      return;
    }
    const instancePath = /^\/metadata\/instance(?:\/(compute|network))?\/?$/.exec(url.pathname);
    if (instancePath) {
      if (request.headers.metadata !== 'true') {
        send(response, 400, { error: 'Bad request. Required metadata header not specified' });
        return;
      }
      const apiVersion = url.searchParams.get('api-version');
      if (!isImdsApiVersion(apiVersion)) {
        send(response, 400, unknownApiVersionBody());
        return;
      }
      const metadata = instanceMetadata();
      const compute = computeMetadataAt(metadata.compute, apiVersion);
      const part = instancePath[1];
      send(
        response,
        200,
        part === 'compute'
          ? compute
          : part === 'network'
            ? metadata.network
            : { compute, network: metadata.network },
      );
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
    faults,
    requestLog: () => [...log],
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.close();
    },
  };
}
