import type * as ArmComputeModule from '@azure/arm-compute';
import type {
  ComputeManagementClient,
  ComputeManagementClientOptionalParams,
  UserAssignedIdentitiesValue,
} from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy, RestError } from '@azure/core-rest-pipeline';
import type { IdentityTarget } from '../planner/identity-target.js';
import type { IdentityRef } from '../planner/plan-identity-deltas.js';
import { systemClock, type Clock } from '../work-queue/clock.js';
import { parseRetryAfter } from '../retry/parse-retry-after.js';
import { CloudProviderError, type CloudProviderOperation } from './cloud-provider-error.js';

/** ARM's limit on user-assigned identities mentioned in one PATCH (the original's `maxIdentitiesCount`). */
export const MAX_IDENTITIES_PER_PATCH = 150;

/**
 * Default deadline of one ARM request (each GET, PATCH and operation poll on its own). ARM answers
 * these in well under a second normally; without a deadline one slow answer (a 40 s GET was seen)
 * holds the target's lane for as long as it takes.
 */
export const DEFAULT_ARM_REQUEST_TIMEOUT_MS = 10_000;

/** The `armCode` of a {@link CloudProviderError} for a request that passed its deadline. */
export const ARM_REQUEST_TIMEOUT_CODE = 'RequestTimeout';

/** ARM error codes whose message names the identities at fault; those are taken out and the PATCH retried. */
export const RETRIABLE_IDENTITY_ERRORS = [
  'LinkedAuthorizationFailed',
  'FailedIdentityOperation',
] as const;

/** A user-assigned identity as found on a target. */
export interface PresentIdentity {
  resourceId: string;
  /** The client ID ARM reports for the assignment; `''` when ARM reports none (a stale assignment). */
  clientId: string;
}

/** The identities of a scale set or VM. */
export interface TargetIdentities {
  /** `identity.type`, `'None'` when absent. */
  type: string;
  /** Whether a system-assigned identity is on (it is kept through every change). */
  systemAssigned: boolean;
  /** User-assigned identities by lower-cased resource ID. */
  userAssigned: Map<string, PresentIdentity>;
  /** `provisioningState` of the scale set or VM. */
  provisioningState: string;
}

/** An identity ARM refused, with ARM's words. */
export interface RefusedIdentity {
  identity: IdentityRef;
  armCode: string;
  message: string;
}

/** What {@link IdentityAssigner.apply} did. */
export interface AssignResult {
  /** Identities this call put on the target (they were absent before). */
  added: IdentityRef[];
  /** Identities this call took off. */
  removed: IdentityRef[];
  /** Identities ARM refused to add; they are not on the target. */
  refused: RefusedIdentity[];
  /** User-assigned identities on the target afterwards, by lower-cased resource ID. */
  present: Set<string>;
  /** PATCH requests sent (0 when nothing changed). */
  patches: number;
}

/** A change to make to one target. */
export interface IdentityChange {
  /** Identities that must be on the target; only the missing ones are sent. */
  ensure: readonly IdentityRef[];
  /** Identities that must not be on the target; only the present ones are sent. */
  remove: readonly IdentityRef[];
}

/** Options of {@link IdentityAssigner.apply}. */
export interface ApplyOptions {
  abortSignal?: AbortSignal;
  /**
   * Called after the GET with the identities about to be added (absent before), before any PATCH:
   * where MIC records what it adds, so that a crash mid-PATCH never loses that knowledge.
   */
  beforeAdd?: (identities: IdentityRef[]) => Promise<void>;
}

/** Reads and changes the user-assigned identities of scale sets and virtual machines. */
export interface IdentityAssigner {
  /** GETs a target's identities. */
  getIdentities(
    target: IdentityTarget,
    options?: { abortSignal?: AbortSignal },
  ): Promise<TargetIdentities>;
  /**
   * GETs the target, then PATCHes only the delta (missing identities added, present ones removed),
   * at most {@link MAX_IDENTITIES_PER_PATCH} identities a PATCH, awaiting each long-running operation.
   * Identities ARM refuses (`LinkedAuthorizationFailed`, `FailedIdentityOperation`) are taken out and
   * the PATCH retried without them; they come back in `refused`. An identity present with a client ID
   * other than the expected one (deleted and recreated in Azure under the same name) is removed and
   * added again, which makes ARM resolve the new identity.
   *
   * @throws CloudProviderError on any other failure; `retryAfterMs` is set when ARM throttled the
   * target, and until then further calls for that target fail at once without a request
   */
  apply(
    target: IdentityTarget,
    change: IdentityChange,
    options?: ApplyOptions,
  ): Promise<AssignResult>;
}

/** Options of {@link createIdentityAssigner}. */
export interface IdentityAssignerOptions {
  /** Credential for ARM (a `ManagedIdentityCredential`, a `ClientSecretCredential`, …). */
  credential: TokenCredential;
  /** ARM endpoint, e.g. `https://management.azure.com` or an emulator's URL. */
  endpoint?: string;
  /**
   * Options for every `ComputeManagementClient` (one per subscription): `tlsOptions`, `httpClient`,
   * `userAgentOptions`, `additionalPolicies`… Automatic retries default to none (`retryOptions:
   * { maxRetries: 0 }`): the caller's work queue retries, per target, honouring `Retry-After`.
   */
  clientOptions?: ComputeManagementClientOptionalParams;
  /** Delay between polls of a PATCH's long-running operation. Default 2000 ms. */
  pollIntervalMs?: number;
  /** Retries of a PATCH after refused identities were taken out. Default 2 (`--update-user-msi-max-retry`). */
  maxRefusalRetries?: number;
  /** Wait before such a retry. Default 1000 ms (`--update-user-msi-retry-interval`). */
  refusalRetryIntervalMs?: number;
  /** Most identities a PATCH may mention. Default {@link MAX_IDENTITIES_PER_PATCH}. */
  maxIdentitiesPerPatch?: number;
  /**
   * Deadline of each ARM request, in ms ({@link DEFAULT_ARM_REQUEST_TIMEOUT_MS}): a request that
   * has not been answered by then is aborted and the call fails with a retryable
   * {@link CloudProviderError} (`armCode` {@link ARM_REQUEST_TIMEOUT_CODE}), which the caller's work
   * queue retries. `Infinity` for none.
   */
  requestTimeoutMs?: number;
  /** Time source for throttling windows, waits and request deadlines. */
  clock?: Clock;
  /** Told of every ARM call with its duration and error, for metrics. */
  onOperation?: (operation: CloudProviderOperation, durationMs: number, error?: unknown) => void;
}

const USER_ASSIGNED_ID =
  /\/subscriptions\/[^\s'",/]+\/resourcegroups\/[^\s'",/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^\s'",/]+/giu;

/**
 * The user-assigned identity IDs an ARM error message names (ARM quotes them, comma-separated).
 * @param message - ARM's error message
 * @returns the lower-cased IDs, without duplicates
 */
export function identitiesNamedInError(message: string): string[] {
  return [...new Set(Array.from(message.matchAll(USER_ASSIGNED_ID), (m) => m[0].toLowerCase()))];
}

/** Thrown inside the pipeline when a request passed its deadline. */
class RequestDeadlineError extends Error {
  override readonly name = 'RequestDeadlineError';
}

/**
 * A pipeline policy that aborts a request not answered within `timeoutMs` on `clock` (per attempt,
 * so each poll of a long-running operation has its own deadline) and throws
 * {@link RequestDeadlineError} instead of the client's abort error. The caller's own abort still
 * surfaces as the client's abort error.
 */
function requestDeadlinePolicy(timeoutMs: number, clock: Clock): PipelinePolicy {
  return {
    name: 'podIdentityRequestDeadline',
    async sendRequest(request, next) {
      const deadline = new AbortController();
      const timer = new AbortController();
      const outer = request.abortSignal;
      if (outer !== undefined) {
        // The pipeline's signal type is structural (AbortSignalLike): follow it by hand.
        if (outer.aborted) deadline.abort();
        else
          outer.addEventListener('abort', () => {
            deadline.abort();
          });
      }
      request.abortSignal = deadline.signal;
      clock.sleep(timeoutMs, timer.signal).then(
        () => {
          deadline.abort(new RequestDeadlineError(`no answer within ${String(timeoutMs)} ms`));
        },
        () => undefined,
      );
      try {
        return await next(request);
      } catch (error) {
        if (deadline.signal.reason instanceof RequestDeadlineError && outer?.aborted !== true) {
          throw new RequestDeadlineError(
            `${request.method} ${new URL(request.url).pathname} got no answer within ${String(timeoutMs)} ms`,
            { cause: error },
          );
        }
        throw error;
      } finally {
        timer.abort();
      }
    },
  };
}

// ARM expects `null` to remove a key of `userAssignedIdentities`; the model types values as objects,
// and the serializer passes falsy values through unchanged.
const REMOVE = null as unknown as UserAssignedIdentitiesValue;

function identityType(
  systemAssigned: boolean,
  anyUserAssigned: boolean,
): 'SystemAssigned' | 'UserAssigned' | 'SystemAssigned, UserAssigned' | 'None' {
  if (anyUserAssigned) return systemAssigned ? 'SystemAssigned, UserAssigned' : 'UserAssigned';
  return systemAssigned ? 'SystemAssigned' : 'None';
}

/** The deadline error behind an error the client threw (it may wrap it), if any. */
function findDeadlineError(error: unknown): RequestDeadlineError | undefined {
  for (let current: unknown = error, depth = 0; depth < 5; depth += 1) {
    if (current instanceof RequestDeadlineError) return current;
    if (!(current instanceof Error)) return undefined;
    current = current.cause;
  }
  return undefined;
}

/** `@azure/core-rest-pipeline`'s `isRestError`, without importing the pipeline before the SDK. */
function isRestError(error: unknown): error is RestError {
  return error instanceof Error && error.name === 'RestError';
}

let armCompute: Promise<typeof ArmComputeModule> | undefined;

/**
 * Imports `@azure/arm-compute` once (about a second and 5 MB): when an assigner first reads a target,
 * or earlier from {@link preloadArmCompute}.
 */
function loadArmCompute(): Promise<typeof ArmComputeModule> {
  armCompute ??= import('@azure/arm-compute');
  return armCompute;
}

/**
 * Starts importing the ARM SDK now, so the first ARM call does not wait for it (e.g. once a controller
 * is up and idle). A failure is left to that first call to report.
 */
export function preloadArmCompute(): void {
  loadArmCompute().catch(() => undefined);
}

/**
 * Creates the ARM identity assigner over `@azure/arm-compute`, for scale sets and virtual machines.
 * @param options - credential, endpoint, client options and retry knobs
 * @returns the assigner
 */
export function createIdentityAssigner(options: IdentityAssignerOptions): IdentityAssigner {
  const clock = options.clock ?? systemClock;
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const maxRefusalRetries = options.maxRefusalRetries ?? 2;
  const refusalRetryIntervalMs = options.refusalRetryIntervalMs ?? 1000;
  const maxPerPatch = options.maxIdentitiesPerPatch ?? MAX_IDENTITIES_PER_PATCH;
  if (!(maxPerPatch >= 1 && maxPerPatch <= MAX_IDENTITIES_PER_PATCH)) {
    throw new RangeError(`maxIdentitiesPerPatch must be within 1…${MAX_IDENTITIES_PER_PATCH}`);
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_ARM_REQUEST_TIMEOUT_MS;
  if (!(requestTimeoutMs > 0)) throw new RangeError('requestTimeoutMs must be positive');
  const deadline = Number.isFinite(requestTimeoutMs)
    ? [{ policy: requestDeadlinePolicy(requestTimeoutMs, clock), position: 'perRetry' as const }]
    : [];
  const clients = new Map<string, ComputeManagementClient>();
  const throttledUntil = new Map<string, number>();

  // The ARM SDK is imported when the first target is read, not when this module is: a controller
  // that starts, lists and leads before its first ARM call does not wait for it.
  const clientFor = async (subscriptionId: string): Promise<ComputeManagementClient> => {
    const key = subscriptionId.toLowerCase();
    let client = clients.get(key);
    if (client === undefined) {
      const { ComputeManagementClient } = await loadArmCompute();
      client = clients.get(key);
      if (client !== undefined) return client;
      client = new ComputeManagementClient(options.credential, subscriptionId, {
        retryOptions: { maxRetries: 0 },
        ...options.clientOptions,
        additionalPolicies: [...(options.clientOptions?.additionalPolicies ?? []), ...deadline],
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      });
      clients.set(key, client);
    }
    return client;
  };

  const call = async <T>(
    target: IdentityTarget,
    operation: CloudProviderOperation,
    run: () => Promise<T>,
  ): Promise<T> => {
    const until = throttledUntil.get(target.key);
    const now = clock.now();
    if (until !== undefined) {
      if (until > now) {
        throw new CloudProviderError(
          `${operation} for ${target.name} throttled, retry after ${new Date(until).toISOString()}`,
          operation,
          { statusCode: 429, armCode: 'TooManyRequests', retryAfterMs: until - now },
        );
      }
      throttledUntil.delete(target.key);
    }
    const started = clock.now();
    try {
      const result = await run();
      options.onOperation?.(operation, clock.now() - started, undefined);
      return result;
    } catch (error) {
      options.onOperation?.(operation, clock.now() - started, error);
      throw toCloudProviderError(error, target, operation);
    }
  };

  const toCloudProviderError = (
    error: unknown,
    target: IdentityTarget,
    operation: CloudProviderOperation,
  ): unknown => {
    const timedOut = findDeadlineError(error);
    if (timedOut !== undefined) {
      return new CloudProviderError(
        `${operation} for ${target.name} failed: ${timedOut.message}`,
        operation,
        { cause: error, armCode: ARM_REQUEST_TIMEOUT_CODE },
      );
    }
    if (!isRestError(error)) return error;
    const retryAfterMs = parseRetryAfter(error.response?.headers.get('retry-after'), clock);
    if (
      retryAfterMs !== undefined &&
      (error.statusCode === 429 || (error.statusCode ?? 0) >= 500)
    ) {
      throttledUntil.set(target.key, clock.now() + retryAfterMs);
    }
    return new CloudProviderError(
      `${operation} for ${target.name} failed: ${error.message}`,
      operation,
      {
        cause: error,
        ...(error.statusCode === undefined ? {} : { statusCode: error.statusCode }),
        ...(error.code === undefined ? {} : { armCode: error.code }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    );
  };

  const getIdentities: IdentityAssigner['getIdentities'] = async (target, getOptions = {}) => {
    const client = await clientFor(target.subscriptionId);
    const requestOptions = { abortSignal: getOptions.abortSignal };
    const resource =
      target.kind === 'vmss'
        ? await call(target, 'vmss_get', () =>
            client.virtualMachineScaleSets.get(target.resourceGroup, target.name, requestOptions),
          )
        : await call(target, 'vm_get', () =>
            client.virtualMachines.get(target.resourceGroup, target.name, requestOptions),
          );
    const type = resource.identity?.type ?? 'None';
    const userAssigned = new Map<string, PresentIdentity>();
    for (const [resourceId, value] of Object.entries(
      resource.identity?.userAssignedIdentities ?? {},
    )) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- ARM sends null for stale entries
      userAssigned.set(resourceId.toLowerCase(), { resourceId, clientId: value?.clientId ?? '' });
    }
    return {
      type,
      systemAssigned: type.includes('SystemAssigned'),
      userAssigned,
      provisioningState: resource.provisioningState ?? '',
    };
  };

  const patch = async (
    target: IdentityTarget,
    systemAssigned: boolean,
    delta: Record<string, UserAssignedIdentitiesValue>,
    remainingUserAssigned: number,
    abortSignal: AbortSignal | undefined,
  ): Promise<void> => {
    const client = await clientFor(target.subscriptionId);
    const anyLeft = remainingUserAssigned > 0;
    // When nothing user-assigned is left, ARM wants the type changed (and no map) instead of every
    // key set to null; a system-assigned identity is kept in every case.
    const identity = anyLeft
      ? { type: identityType(systemAssigned, true), userAssignedIdentities: delta }
      : { type: identityType(systemAssigned, false) };
    const requestOptions = { abortSignal, updateIntervalInMs: pollIntervalMs };
    if (target.kind === 'vmss') {
      await call(target, 'vmss_update', async () => {
        await client.virtualMachineScaleSets.update(
          target.resourceGroup,
          target.name,
          { identity },
          requestOptions,
        );
      });
    } else {
      await call(target, 'vm_update', async () => {
        await client.virtualMachines.update(
          target.resourceGroup,
          target.name,
          { identity },
          requestOptions,
        );
      });
    }
  };

  const apply: IdentityAssigner['apply'] = async (target, change, applyOptions = {}) => {
    const abortSignal = applyOptions.abortSignal;
    const before = await getIdentities(target, abortSignal === undefined ? {} : { abortSignal });
    if (before.provisioningState.toLowerCase() === 'deleting') {
      throw new CloudProviderError(
        `${target.kind === 'vmss' ? 'scale set' : 'virtual machine'} ${target.name} is being deleted`,
        target.kind === 'vmss' ? 'vmss_update' : 'vm_update',
        { statusCode: 409, armCode: 'Deleting' },
      );
    }
    const present = new Set(before.userAssigned.keys());
    const stale: IdentityRef[] = [];
    let toAdd: IdentityRef[] = [];
    const seen = new Set<string>();
    for (const ref of change.ensure) {
      if (seen.has(ref.key)) continue;
      seen.add(ref.key);
      const found = before.userAssigned.get(ref.key);
      if (found === undefined) {
        toAdd.push(ref);
      } else if (
        ref.clientId !== '' &&
        found.clientId.toLowerCase() !== ref.clientId.toLowerCase()
      ) {
        stale.push(ref);
      }
    }
    const toRemove: IdentityRef[] = [...stale];
    for (const ref of change.remove) {
      if (seen.has(ref.key) || !present.has(ref.key)) continue;
      seen.add(ref.key);
      toRemove.push(ref);
    }
    const result: AssignResult = { added: [], removed: [], refused: [], present, patches: 0 };
    if (toAdd.length === 0 && toRemove.length === 0) return result;
    await applyOptions.beforeAdd?.([...toAdd, ...stale]);

    // Removals first (stale identities must be gone before they are added back), then additions,
    // cut into PATCHes of at most maxPerPatch identities.
    const runBatches = async (entries: { ref: IdentityRef; add: boolean }[]): Promise<void> => {
      for (let i = 0; i < entries.length; i += maxPerPatch) {
        let batch = entries.slice(i, i + maxPerPatch);
        for (let attempt = 0; ; attempt += 1) {
          const delta: Record<string, UserAssignedIdentitiesValue> = {};
          const after = new Set(present);
          for (const { ref, add } of batch) {
            delta[ref.resourceId] = add ? {} : REMOVE;
            if (add) after.add(ref.key);
            else after.delete(ref.key);
          }
          try {
            result.patches += 1;
            await patch(target, before.systemAssigned, delta, after.size, abortSignal);
            for (const { ref, add } of batch) (add ? result.added : result.removed).push(ref);
            present.clear();
            for (const key of after) present.add(key);
            break;
          } catch (error) {
            const armCode = CloudProviderError.is(error) ? error.armCode : undefined;
            if (
              armCode === undefined ||
              !(RETRIABLE_IDENTITY_ERRORS as readonly string[]).includes(armCode)
            ) {
              throw error;
            }
            const message = error instanceof Error ? error.message : String(error);
            const named = new Set(identitiesNamedInError(message));
            const refused = batch.filter(({ ref, add }) => add && named.has(ref.key));
            if (refused.length === 0) throw error;
            for (const { ref } of refused) result.refused.push({ identity: ref, armCode, message });
            batch = batch.filter((entry) => !refused.includes(entry));
            if (batch.length === 0 || attempt >= maxRefusalRetries) break;
            await clock.sleep(refusalRetryIntervalMs, abortSignal);
          }
        }
      }
    };
    await runBatches(toRemove.map((ref) => ({ ref, add: false })));
    toAdd = [...toAdd, ...stale];
    await runBatches(toAdd.map((ref) => ({ ref, add: true })));
    return result;
  };

  return { getIdentities, apply };
}
