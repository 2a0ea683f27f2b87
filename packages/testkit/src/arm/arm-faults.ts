/**
 * The operations the ARM emulator serves. Latency, failures and request counts are keyed by them.
 */
export const ArmOperation = {
  /** GET a virtual machine scale set. */
  ScaleSetGet: 'virtualMachineScaleSets.get',
  /** PATCH a virtual machine scale set (long-running). */
  ScaleSetUpdate: 'virtualMachineScaleSets.update',
  /** List scale sets in a resource group or subscription. */
  ScaleSetList: 'virtualMachineScaleSets.list',
  /** GET one instance of a scale set. */
  ScaleSetVmGet: 'virtualMachineScaleSetVMs.get',
  /** List the instances of a scale set. */
  ScaleSetVmList: 'virtualMachineScaleSetVMs.list',
  /** GET a virtual machine. */
  VmGet: 'virtualMachines.get',
  /** PATCH a virtual machine (long-running). */
  VmUpdate: 'virtualMachines.update',
  /** List virtual machines in a resource group or subscription. */
  VmList: 'virtualMachines.list',
  /** GET the status of a long-running operation (`Azure-AsyncOperation` URL). */
  OperationStatusGet: 'operations.get',
  /** PUT a user-assigned identity. */
  IdentityCreate: 'userAssignedIdentities.createOrUpdate',
  /** GET a user-assigned identity. */
  IdentityGet: 'userAssignedIdentities.get',
  /** DELETE a user-assigned identity. */
  IdentityDelete: 'userAssignedIdentities.delete',
  /** PUT a federated identity credential of a user-assigned identity. */
  FederatedCredentialCreate: 'federatedIdentityCredentials.createOrUpdate',
  /** GET a federated identity credential. */
  FederatedCredentialGet: 'federatedIdentityCredentials.get',
  /** List the federated identity credentials of a user-assigned identity. */
  FederatedCredentialList: 'federatedIdentityCredentials.list',
  /** DELETE a federated identity credential. */
  FederatedCredentialDelete: 'federatedIdentityCredentials.delete',
} as const;

/** One of {@link ArmOperation}. */
export type ArmOperation = (typeof ArmOperation)[keyof typeof ArmOperation];

/** Which requests a fault applies to. Absent fields match everything. */
export interface ArmRequestMatcher {
  readonly operation?: ArmOperation;
  /** Resource id of the VM or scale set (case-insensitive); an instance matches its scale set's id too. */
  readonly target?: string;
}

/** A failure to answer the next `count` matching requests with. */
export interface ArmFailure extends ArmRequestMatcher {
  /** HTTP status, e.g. 500, 503, 409. */
  readonly status: number;
  /** ARM error code; default from the status (`InternalServerError`, `ServiceUnavailable`, `Conflict`, …). */
  readonly code?: string;
  readonly message?: string;
  /** Adds `Retry-After: <seconds>`. */
  readonly retryAfterSeconds?: number;
  /** How many matching requests fail; default 1. */
  readonly count?: number;
}

/** Options of {@link ArmFaults.throttleNext}. */
export interface ArmThrottle extends ArmRequestMatcher {
  /** The `Retry-After` value in seconds; default 1. */
  readonly retryAfterSeconds?: number;
  /** How many matching requests get 429; default 1. */
  readonly count?: number;
}

/** A long-running update that is accepted (200 + `Azure-AsyncOperation`) but ends `Failed`. */
export interface ArmOperationFailure extends ArmRequestMatcher {
  /** The error code in the operation status; default `InternalExecutionError`. */
  readonly code?: string;
  readonly message?: string;
  /** How many matching updates fail; default 1. */
  readonly count?: number;
}

/** How ARM refuses a user-assigned identity (MIC retries both after removing the named ids). */
export const IdentityDenial = {
  /** 403: the caller lacks `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action` on the identity. */
  LinkedAuthorizationFailed: 'LinkedAuthorizationFailed',
  /** 400: ARM could not resolve the identity (e.g. deleted). */
  FailedIdentityOperation: 'FailedIdentityOperation',
} as const;

/** One of {@link IdentityDenial}. */
export type IdentityDenial = (typeof IdentityDenial)[keyof typeof IdentityDenial];

/** Fault injection of the ARM emulator. Every method applies from the next request on. */
export interface ArmFaults {
  /** Adds `latencyMs` before answering every request of the operation (0 removes it). */
  setLatency(operation: ArmOperation, latencyMs: number): void;
  /** Fails the next matching requests with the given status and ARM error. */
  failNext(failure: ArmFailure): void;
  /**
   * Makes the next matching PATCHes fail asynchronously: accepted, then their operation status turns
   * `Failed` with this error (the SDK's poller throws it), the identity change is not applied, and the
   * resource's `provisioningState` becomes `Failed` until a later update succeeds.
   */
  failNextOperation(failure?: ArmOperationFailure): void;
  /** Answers the next matching requests with 429 Too Many Requests and `Retry-After`. */
  throttleNext(throttle?: ArmThrottle): void;
  /**
   * Refuses every PATCH that adds one of these identities, until {@link ArmFaults.allowIdentities}; the
   * error message names the refused ids of that request, single-quoted and comma-separated as ARM does.
   */
  denyIdentities(resourceIds: readonly string[], kind: IdentityDenial): void;
  /** Lifts denials (all when `resourceIds` is absent). */
  allowIdentities(resourceIds?: readonly string[]): void;
  /** Removes all latency, pending failures, throttles and denials. */
  clear(): void;
}

interface PendingFailure {
  readonly matcher: ArmRequestMatcher;
  remaining: number;
  readonly status: number;
  readonly code: string;
  readonly message: string | undefined;
  readonly retryAfterSeconds: number | undefined;
}

/** What the emulator should answer instead of serving a request. */
export interface InjectedFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

const DEFAULT_CODES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** The mutable fault state behind {@link ArmFaults}. @internal */
export class ArmFaultState implements ArmFaults {
  private readonly latency = new Map<ArmOperation, number>();
  private readonly pending: PendingFailure[] = [];
  private readonly pendingOperations: {
    matcher: ArmRequestMatcher;
    remaining: number;
    code: string;
    message: string | undefined;
  }[] = [];
  /** Lower-cased id → denial kind. */
  readonly denied = new Map<string, IdentityDenial>();

  setLatency(operation: ArmOperation, latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0)
      throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`);
    if (latencyMs === 0) this.latency.delete(operation);
    else this.latency.set(operation, latencyMs);
  }

  failNext(failure: ArmFailure): void {
    const count = failure.count ?? 1;
    if (!Number.isInteger(failure.status) || failure.status < 400 || failure.status > 599) {
      throw new RangeError(`status must be an HTTP error status, got ${failure.status}`);
    }
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`count must be a positive integer, got ${count}`);
    this.pending.push({
      matcher: {
        ...(failure.operation ? { operation: failure.operation } : {}),
        ...(failure.target ? { target: failure.target } : {}),
      },
      remaining: count,
      status: failure.status,
      code: failure.code ?? DEFAULT_CODES[failure.status] ?? 'Error',
      message: failure.message,
      retryAfterSeconds: failure.retryAfterSeconds,
    });
  }

  failNextOperation(failure: ArmOperationFailure = {}): void {
    const count = failure.count ?? 1;
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`count must be a positive integer, got ${count}`);
    this.pendingOperations.push({
      matcher: {
        ...(failure.operation ? { operation: failure.operation } : {}),
        ...(failure.target ? { target: failure.target } : {}),
      },
      remaining: count,
      code: failure.code ?? 'InternalExecutionError',
      message: failure.message,
    });
  }

  /** Takes the first pending operation failure matching an update, if any. @internal */
  takeOperationFailure(
    operation: ArmOperation,
    target: string,
  ): { code: string; message: string } | undefined {
    const lowered = target.toLowerCase();
    const index = this.pendingOperations.findIndex(
      (failure) =>
        (failure.matcher.operation === undefined || failure.matcher.operation === operation) &&
        (failure.matcher.target === undefined || failure.matcher.target.toLowerCase() === lowered),
    );
    const failure = index < 0 ? undefined : this.pendingOperations[index];
    if (!failure) return undefined;
    failure.remaining -= 1;
    if (failure.remaining === 0) this.pendingOperations.splice(index, 1);
    return {
      code: failure.code,
      message: failure.message ?? 'An internal execution error occurred. Please retry later.',
    };
  }

  throttleNext(throttle: ArmThrottle = {}): void {
    this.failNext({
      ...throttle,
      status: 429,
      code: 'TooManyRequests',
      message:
        'The request is being throttled as the limit has been reached for operation type. Please retry after the time given in the Retry-After header.',
      retryAfterSeconds: throttle.retryAfterSeconds ?? 1,
    });
  }

  denyIdentities(resourceIds: readonly string[], kind: IdentityDenial): void {
    for (const id of resourceIds) this.denied.set(id.toLowerCase(), kind);
  }

  allowIdentities(resourceIds?: readonly string[]): void {
    if (resourceIds === undefined) this.denied.clear();
    else for (const id of resourceIds) this.denied.delete(id.toLowerCase());
  }

  clear(): void {
    this.latency.clear();
    this.pending.length = 0;
    this.pendingOperations.length = 0;
    this.denied.clear();
  }

  /** @internal */
  latencyOf(operation: ArmOperation): number {
    return this.latency.get(operation) ?? 0;
  }

  /** Takes the first pending failure matching the request, if any. @internal */
  take(operation: ArmOperation, targets: readonly string[]): InjectedFailure | undefined {
    const lowered = targets.map((target) => target.toLowerCase());
    const index = this.pending.findIndex(
      (failure) =>
        (failure.matcher.operation === undefined || failure.matcher.operation === operation) &&
        (failure.matcher.target === undefined ||
          lowered.includes(failure.matcher.target.toLowerCase())),
    );
    if (index < 0) return undefined;
    const failure = this.pending[index];
    if (!failure) return undefined;
    failure.remaining -= 1;
    if (failure.remaining === 0) this.pending.splice(index, 1);
    return {
      status: failure.status,
      code: failure.code,
      message:
        failure.message ?? `Injected failure ${failure.status} ${failure.code} for ${operation}.`,
      headers:
        failure.retryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(failure.retryAfterSeconds) },
    };
  }
}
