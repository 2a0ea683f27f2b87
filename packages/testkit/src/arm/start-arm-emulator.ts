import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CertificateAuthority } from '../tls/certificate-authority.js';
import { getSharedCertificateAuthority } from '../tls/certificate-authority.js';
import { recordTraffic } from '../contract/record-traffic.js';
import { startLoopbackServer } from '../tls/start-loopback-server.js';
import { ArmFaultState } from './arm-faults.js';
import type { ArmFaults } from './arm-faults.js';
import { ArmHttpError } from './arm-identity.js';
import { errorResult, readArmJson, writeArmResponse } from './arm-http.js';
import type { ArmResult } from './arm-http.js';
import { ArmRequestLog } from './arm-request-log.js';
import type { ArmRequestFilter, ArmRequestRecord } from './arm-request-log.js';
import { parseArmPath } from './arm-route.js';
import type { ArmResourceFamily, ArmRoute } from './arm-route.js';
import type { ComputeRouteDependencies } from './compute-routes.js';
import { ComputeStore, scaleSetInfo, virtualMachineInfo } from './compute-store.js';
import type {
  IdentityAssignment,
  MachineDescription,
  ScaleSetInfo,
  ScaleSetSpec,
  VirtualMachineInfo,
  VirtualMachineSpec,
} from './compute-store.js';
import {
  DEFAULT_FEDERATED_CREDENTIAL_LIMIT,
  federatedCredentialInfo,
  federatedIdentityCredentialRoutes,
} from './federated-identity-credential-routes.js';
import type { FederatedIdentityCredentialInfo } from './federated-identity-credential-routes.js';
import { LongRunningOperations, operationStatusRoutes } from './long-running-operations.js';
import { scaleSetRoutes } from './scale-set-routes.js';
import { countPatchedIdentities } from './update-compute-resource.js';
import { userAssignedIdentityRoutes } from './user-assigned-identity-routes.js';
import { UserAssignedIdentityStore, publicIdentity } from './user-assigned-identity-store.js';
import type {
  UserAssignedIdentityInfo,
  UserAssignedIdentitySpec,
} from './user-assigned-identity-store.js';
import { virtualMachineRoutes } from './virtual-machine-routes.js';

export type {
  IdentityAssignment,
  MachineDescription,
  ScaleSetInfo,
  ScaleSetInstanceInfo,
  ScaleSetSpec,
  VirtualMachineInfo,
  VirtualMachineSpec,
} from './compute-store.js';
export type {
  UserAssignedIdentityInfo,
  UserAssignedIdentitySpec,
} from './user-assigned-identity-store.js';
export type { ArmRequestFilter, ArmRequestRecord } from './arm-request-log.js';
export type { FederatedIdentityCredentialInfo } from './federated-identity-credential-routes.js';

/** Options of {@link startArmEmulator}. */
export interface StartArmEmulatorOptions {
  /** CA that issues the https certificate; default the per-process shared one. */
  readonly certificateAuthority?: CertificateAuthority;
  /** The tenant of the identities it creates; default a random GUID. */
  readonly tenantId?: string;
  /** Loopback address to listen on; default `127.0.0.1`. */
  readonly host?: string;
  /**
   * Accepts or refuses a bearer token (401 `InvalidAuthenticationToken` when false). Default: any
   * non-empty bearer token is accepted; a missing one is always refused.
   */
  readonly verifyToken?: (token: string) => boolean;
  /** Most user-assigned identities one PATCH may mention; default 150 (the limit MIC batches by). */
  readonly maxIdentitiesPerRequest?: number;
  /** Answer 409 to a PATCH of a VM or scale set while another update of it is in progress; default true. */
  readonly rejectConcurrentUpdates?: boolean;
  /** How long a PATCH's long-running operation stays `InProgress`; default 0 (done at the first poll). */
  readonly operationDurationMs?: number;
  /**
   * Refuse a PATCH adding a user-assigned identity that does not exist in the emulator with
   * `FailedIdentityOperation`, as ARM does; default true.
   */
  readonly requireExistingIdentities?: boolean;
  /** Most federated identity credentials one user-assigned identity may have; default 20, as documented. */
  readonly federatedIdentityCredentialLimit?: number;
}

/** A running ARM emulator. */
export interface ArmEmulator {
  /** `https://127.0.0.1:<port>`: pass as `endpoint` to `ComputeManagementClient`. */
  readonly url: string;
  readonly tenantId: string;
  /** The CA whose certificate clients must trust (`tlsOptions: { ca: certificateAuthority.certificatePem }`). */
  readonly certificateAuthority: CertificateAuthority;
  readonly faults: ArmFaults;
  /** Creates a scale set with its instances. Throws if it exists or an identity does not. */
  addScaleSet(spec: ScaleSetSpec): ScaleSetInfo;
  /** Creates a virtual machine. Throws if it exists or an identity does not. */
  addVirtualMachine(spec: VirtualMachineSpec): VirtualMachineInfo;
  /** Creates (or returns the existing) user-assigned identity with generated client and principal ids. */
  createUserAssignedIdentity(spec: UserAssignedIdentitySpec): UserAssignedIdentityInfo;
  /** Deletes a user-assigned identity; VMs keep stale assignments of it, as in Azure. Returns whether it existed. */
  deleteUserAssignedIdentity(resourceId: string): boolean;
  /** A user-assigned identity by resource id (case-insensitive). */
  getUserAssignedIdentity(resourceId: string): UserAssignedIdentityInfo | undefined;
  /**
   * The federated identity credentials of a user-assigned identity (by resource id,
   * case-insensitive), in creation order; `undefined` if no such identity.
   */
  listFederatedIdentityCredentials(
    identityResourceId: string,
  ): readonly FederatedIdentityCredentialInfo[] | undefined;
  /**
   * The identities of a VM, scale set, or scale set instance (which has its scale set's), by resource
   * id, case-insensitive; `undefined` if no such resource.
   */
  getIdentityAssignment(resourceId: string): IdentityAssignment | undefined;
  /** Describes a VM or scale set instance by resource id (case-insensitive); `undefined` if none. */
  describeMachine(resourceId: string): MachineDescription | undefined;
  /** Every request served since start or {@link ArmEmulator.clearRequestLog}, oldest first. */
  requestLog(): readonly ArmRequestRecord[];
  /** Number of logged requests matching the filter, e.g. PATCHes of one scale set. */
  countRequests(filter?: ArmRequestFilter): number;
  clearRequestLog(): void;
  /** Stops the server, cancels pending latencies and closes connections. */
  stop(): Promise<void>;
}

/**
 * Starts an https emulator of the Azure Resource Manager operations pod-identity makes:
 * Microsoft.Compute virtual machines, scale sets and their instances (GET, list, PATCH of `identity`
 * as a long-running operation with `Azure-AsyncOperation` polling), and
 * Microsoft.ManagedIdentity user-assigned identities (PUT, GET, DELETE) and their federated identity
 * credentials (PUT, GET, list, DELETE).
 *
 * Reach it with the real SDK:
 * `new ComputeManagementClient(credential, subscriptionId, { endpoint: arm.url, tlsOptions: { ca } })`
 * (see {@link azureClientTlsOptions}). Every request needs `Authorization: Bearer …` and `api-version`.
 *
 * Choices where Azure is not observable here: identity keys are stored with the letter case of the
 * request that first assigned them and matched case-insensitively; an unknown identity is refused
 * with `FailedIdentityOperation`; the 150-identity limit answers 400 `BadRequest`.
 */
export async function startArmEmulator(
  options: StartArmEmulatorOptions = {},
): Promise<ArmEmulator> {
  const tenantId = options.tenantId ?? randomUUID();
  const certificateAuthority = options.certificateAuthority ?? getSharedCertificateAuthority();
  const maxIdentities = options.maxIdentitiesPerRequest ?? 150;
  const operationDurationMs = options.operationDurationMs ?? 0;
  const requireExisting = options.requireExistingIdentities ?? true;
  const credentialLimit =
    options.federatedIdentityCredentialLimit ?? DEFAULT_FEDERATED_CREDENTIAL_LIMIT;
  if (!Number.isInteger(credentialLimit) || credentialLimit < 0)
    throw new RangeError('federatedIdentityCredentialLimit must be an integer >= 0');
  if (!Number.isInteger(maxIdentities) || maxIdentities < 1)
    throw new RangeError('maxIdentitiesPerRequest must be a positive integer');
  if (!Number.isFinite(operationDurationMs) || operationDurationMs < 0)
    throw new RangeError('operationDurationMs must be >= 0');

  const faults = new ArmFaultState();
  const identities = new UserAssignedIdentityStore(tenantId);
  const compute = new ComputeStore(identities);
  const operations = new LongRunningOperations(compute, operationDurationMs);
  const log = new ArmRequestLog();
  const stopping = new AbortController();

  const computeDependencies: ComputeRouteDependencies = {
    tenantId,
    faults,
    compute,
    operations,
    maxIdentitiesPerRequest: maxIdentities,
    resolveIdentity: (resourceId) =>
      identities.get(resourceId) ??
      (requireExisting ? undefined : { clientId: randomUUID(), principalId: randomUUID() }),
  };
  const router = createArmRouter({
    families: [
      scaleSetRoutes(computeDependencies),
      virtualMachineRoutes(computeDependencies),
      operationStatusRoutes(operations),
      userAssignedIdentityRoutes(identities),
      federatedIdentityCredentialRoutes(identities, credentialLimit),
    ],
    faults,
    operations,
    log,
    rejectConcurrentUpdates: options.rejectConcurrentUpdates ?? true,
    ...(options.verifyToken ? { verifyToken: options.verifyToken } : {}),
    stopping: stopping.signal,
  });

  const server = await startLoopbackServer({
    handler: recordTraffic('arm', router),
    certificate: certificateAuthority.issueServerCertificate(),
    ...(options.host ? { host: options.host } : {}),
  });

  return {
    url: server.url,
    tenantId,
    certificateAuthority,
    faults,
    addScaleSet(spec) {
      const instanceCount = spec.instanceCount ?? 1;
      if (!Number.isInteger(instanceCount) || instanceCount < 0)
        throw new RangeError(`instanceCount must be >= 0, got ${instanceCount}`);
      const resource = compute.add('vmss', spec);
      compute.addInstances(resource, instanceCount);
      return scaleSetInfo(resource);
    },
    addVirtualMachine: (spec) => virtualMachineInfo(compute.add('vm', spec)),
    createUserAssignedIdentity: (spec) => publicIdentity(identities.ensure(spec)),
    deleteUserAssignedIdentity: (resourceId) => identities.delete(resourceId),
    getUserAssignedIdentity(resourceId) {
      const stored = identities.get(resourceId);
      return stored ? publicIdentity(stored) : undefined;
    },
    listFederatedIdentityCredentials(identityResourceId) {
      const identity = identities.get(identityResourceId);
      if (!identity) return undefined;
      return [...identity.federatedCredentials.values()].map((credential) =>
        federatedCredentialInfo(identity, credential),
      );
    },
    getIdentityAssignment: (resourceId) => compute.assignmentOf(resourceId),
    describeMachine: (resourceId) => compute.describeMachine(resourceId),
    requestLog: () => log.list(),
    countRequests: (filter) => log.count(filter),
    clearRequestLog: () => {
      log.clear();
    },
    async stop() {
      stopping.abort();
      await server.close();
    },
  };
}

interface ArmRouterOptions {
  readonly families: readonly ArmResourceFamily[];
  readonly faults: ArmFaultState;
  readonly operations: LongRunningOperations;
  readonly log: ArmRequestLog;
  readonly rejectConcurrentUpdates: boolean;
  readonly verifyToken?: (token: string) => boolean;
  readonly stopping: AbortSignal;
}

/**
 * The request handler: finds the family that serves the path, then does what ARM does before any
 * resource provider sees a request (authentication, `api-version`), applies the test's faults, and
 * serves it. Every routed request is logged with its status.
 */
function createArmRouter(
  options: ArmRouterOptions,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const { faults, operations, log } = options;
  const findRoute = (pathname: string, method: string): ArmRoute | undefined => {
    const path = parseArmPath(pathname);
    for (const family of options.families) {
      const route = family.route(path, method);
      if (route) return route;
    }
    return undefined;
  };

  return async (request, response) => {
    const method = (request.method ?? 'GET').toUpperCase();
    const baseUrl = `https://${request.headers.host ?? '127.0.0.1'}`;
    const url = new URL(request.url ?? '/', baseUrl);
    const route = findRoute(url.pathname, method);
    const operation = route?.operation;
    if (!route || !operation) {
      request.resume();
      writeArmResponse(response, method, unroutedResult(route !== undefined, method, url.pathname));
      return;
    }
    const { target } = route;
    let identityCount = 0;
    const exclusive = route.exclusiveUpdate === true && target !== undefined;
    let tracked = false;
    try {
      checkCaller(request, url, options.verifyToken);
      if (exclusive) {
        if (options.rejectConcurrentUpdates && operations.isBusy(target)) {
          request.resume();
          throw concurrentUpdate(operation, target);
        }
        operations.beginRequest(target);
        tracked = true;
      }
      // Read the body first so that refused PATCHes (injected faults included) count their identities too.
      const body = method === 'PUT' || method === 'PATCH' ? await readArmJson(request) : undefined;
      if (exclusive) identityCount = countPatchedIdentities(body);
      await abortableSleep(faults.latencyOf(operation), options.stopping);
      const injected = faults.take(operation, target === undefined ? [] : [target]);
      if (injected) {
        request.resume();
        throw new ArmHttpError(injected.status, injected.code, injected.message, injected.headers);
      }
      const apiVersion = url.searchParams.get('api-version') ?? '';
      const result: ArmResult = await route.serve({ request, baseUrl, apiVersion, body });
      log.add({ operation, method, target, status: result.status, identityCount });
      writeArmResponse(response, method, result);
    } catch (error) {
      if (!(error instanceof ArmHttpError)) {
        if (options.stopping.aborted) {
          response.destroy();
          return;
        }
        throw error;
      }
      log.add({ operation, method, target, status: error.status, identityCount });
      writeArmResponse(response, method, errorResult(error));
    } finally {
      if (tracked && target !== undefined) operations.endRequest(target);
    }
  };
}

/** 404 for a path no family serves, 405 for a method a family's path does not serve. */
function unroutedResult(pathKnown: boolean, method: string, pathname: string): ArmResult {
  return {
    status: pathKnown ? 405 : 404,
    body: {
      error: pathKnown
        ? {
            code: 'MethodNotAllowed',
            message: `The requested resource does not support http method '${method}'.`,
          }
        : {
            code: 'InvalidResourceType',
            message: `The resource type could not be found for '${pathname}'.`,
          },
    },
  };
}

/** ARM's own checks before routing to a provider: a bearer token (401) and an `api-version` (400). */
function checkCaller(
  request: IncomingMessage,
  url: URL,
  verifyToken: ((token: string) => boolean) | undefined,
): void {
  const authorization = request.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!match?.[1]) {
    request.resume();
    throw new ArmHttpError(
      401,
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is missing.",
      {
        'www-authenticate':
          'Bearer authorization_uri="https://login.microsoftonline.com/", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."',
      },
    );
  }
  if (verifyToken && !verifyToken(match[1])) {
    request.resume();
    throw new ArmHttpError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', {
      'www-authenticate':
        'Bearer authorization_uri="https://login.microsoftonline.com/", error="invalid_token", error_description="The access token is invalid."',
    });
  }
  if (!url.searchParams.get('api-version')) {
    request.resume();
    throw new ArmHttpError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
}

/** Compute's 409 for an update while another is in progress on the same VM or scale set. */
function concurrentUpdate(operation: string, target: string): ArmHttpError {
  const kindName =
    operation === 'virtualMachines.update' ? 'virtual machine' : 'virtual machine scale set';
  return new ArmHttpError(
    409,
    'OperationNotAllowed',
    `Operation 'Update' is not allowed on ${kindName} '${target.split('/').pop() ?? ''}' since another operation is in progress on it.`,
  );
}

/** Waits `ms` (0: not at all); rejects when the emulator stops. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('ARM emulator stopped'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
