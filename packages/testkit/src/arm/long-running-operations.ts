import { randomUUID } from 'node:crypto';
import { ArmOperation } from './arm-faults.js';
import { ArmHttpError } from './arm-identity.js';
import type { ArmResult } from './arm-http.js';
import { COMPUTE } from './arm-resource-id.js';
import type { ArmResourceFamily } from './arm-route.js';
import { matchSubscriptionProvider, methodNotAllowed } from './arm-route.js';
import type { ComputeResource, ComputeStore } from './compute-store.js';

/** An accepted update whose status is polled through its `Azure-AsyncOperation` URL. */
interface AsyncOperation {
  readonly id: string;
  /** Lower-cased id of the VM or scale set it updates. */
  readonly target: string;
  readonly startTime: Date;
  readonly completesAt: number;
  /** Set when the operation ends `Failed`. */
  readonly failure: { readonly code: string; readonly message: string } | undefined;
}

/**
 * The long-running updates of VMs and scale sets: which are in progress (for 409s), their status
 * (for polls), and the `provisioningState` they leave behind. @internal
 */
export class LongRunningOperations {
  private readonly operations = new Map<string, AsyncOperation>();
  /** The latest operation of each target (lower-cased id): its outcome is the resource's provisioningState. */
  private readonly lastOperation = new Map<string, AsyncOperation>();
  /** Lower-cased target → PATCH requests being handled (before their operation exists). */
  private readonly updatesInFlight = new Map<string, number>();

  constructor(
    private readonly compute: ComputeStore,
    private readonly durationMs: number,
  ) {}

  /** Settles finished operations: the resource's provisioningState becomes Succeeded, or Failed. */
  settle(): void {
    const now = Date.now();
    for (const [key, resource] of this.compute.entries()) {
      if (resource.provisioningState !== 'Updating' || this.updatesInFlight.has(key)) continue;
      const last = this.lastOperation.get(key);
      if (last && last.completesAt > now) continue;
      resource.provisioningState = last?.failure ? 'Failed' : 'Succeeded';
    }
  }

  /** Whether an update of the target is being served or its operation has not finished. */
  isBusy(target: string): boolean {
    // Only the latest operation of a target can still run: a new one starts only when it is not busy.
    return (
      (this.lastOperation.get(target)?.completesAt ?? 0) > Date.now() ||
      (this.updatesInFlight.get(target) ?? 0) > 0
    );
  }

  /** Marks an update request of the target as being served, until {@link LongRunningOperations.endRequest}. */
  beginRequest(target: string): void {
    this.updatesInFlight.set(target, (this.updatesInFlight.get(target) ?? 0) + 1);
  }

  endRequest(target: string): void {
    const left = (this.updatesInFlight.get(target) ?? 1) - 1;
    if (left <= 0) this.updatesInFlight.delete(target);
    else this.updatesInFlight.set(target, left);
  }

  /**
   * Starts the operation of an accepted update: the resource is `Updating` until it completes.
   * Returns the `Azure-AsyncOperation` URL to poll.
   */
  start(
    resource: ComputeResource,
    failure: AsyncOperation['failure'],
    baseUrl: string,
    apiVersion: string,
  ): string {
    resource.provisioningState = 'Updating';
    const operation: AsyncOperation = {
      id: randomUUID(),
      target: resource.id.toLowerCase(),
      startTime: new Date(),
      completesAt: Date.now() + this.durationMs,
      failure,
    };
    this.operations.set(operation.id, operation);
    this.lastOperation.set(operation.target, operation);
    return `${baseUrl}/subscriptions/${resource.subscriptionId}/providers/${COMPUTE}/locations/${resource.location}/operations/${operation.id}?p=${randomUUID()}&api-version=${encodeURIComponent(apiVersion)}`;
  }

  /** The status body of an operation, as Compute answers its `Azure-AsyncOperation` URL. */
  status(operationId: string): ArmResult {
    const operation = this.operations.get(operationId);
    if (!operation)
      throw new ArmHttpError(404, 'NotFound', `The operation '${operationId}' was not found.`);
    this.settle();
    const done = Date.now() >= operation.completesAt;
    const endTime = new Date(Math.max(operation.completesAt, operation.startTime.getTime()));
    return {
      status: 200,
      body: {
        name: operation.id,
        startTime: operation.startTime.toISOString(),
        status: done ? (operation.failure ? 'Failed' : 'Succeeded') : 'InProgress',
        ...(done && operation.failure
          ? { error: { code: operation.failure.code, message: operation.failure.message } }
          : {}),
        ...(done ? { endTime: endTime.toISOString() } : {}),
      },
    };
  }
}

/** `GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/operations/{id}`. */
export function operationStatusRoutes(operations: LongRunningOperations): ArmResourceFamily {
  return {
    route(path, method) {
      const match = matchSubscriptionProvider(path, COMPUTE);
      if (match?.lower.length !== 4) return undefined;
      const operationId = match.raw[3];
      if (match.lower[0] !== 'locations' || match.lower[2] !== 'operations') return undefined;
      if (operationId === undefined) return undefined;
      if (method !== 'GET') return methodNotAllowed(undefined);
      return {
        operation: ArmOperation.OperationStatusGet,
        target: undefined,
        serve: () => operations.status(operationId),
      };
    },
  };
}
