import {
  PodIndex,
  type AuthorizationView,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type ExceptionMatch,
  type OperationMode,
} from '@pod-identity/core';
import type { SecretReader } from '@pod-identity/core/azure';

/**
 * What the NMI server decides from: the node's pods by IP, the CRDs behind {@link AuthorizationView},
 * a way to wait until any of them changes, and secrets for service principals. Backed by informers
 * ({@link createInformerClusterState}) in the daemon, by memory ({@link createMemoryClusterState}) in
 * tests, benchmarks and bespoke brokers.
 */
export interface NmiClusterState {
  /** This node's pods, by IP. */
  readonly pods: PodIndex;
  /** The CRDs, as `authorize()` reads them. */
  readonly view: AuthorizationView;
  /**
   * Resolves when an identity, binding, assigned identity or exception changes, or after `timeoutMs`,
   * or when `abortSignal` aborts (then it rejects). Lets a request waiting for MIC wake up as soon as
   * the record arrives instead of polling.
   */
  changed(timeoutMs: number, abortSignal?: AbortSignal): Promise<void>;
  /** Reads a secret of a service principal identity. */
  readonly readSecret: SecretReader;
  /** Starts watching; resolves once every cache has its first list. */
  start(abortSignal?: AbortSignal): Promise<void>;
  /** Stops watching. */
  stop(): Promise<void>;
  /** Whether every cache has its first list. */
  isSynced(): boolean;
}

/** A notifier of "something changed": resolves every waiter on `notify()`. */
export class ChangeSignal {
  readonly #waiters = new Set<() => void>();

  /** Wakes every waiter. */
  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Waits for the next `notify()`, at most `timeoutMs`.
   * @param timeoutMs - longest wait
   * @param abortSignal - rejects the wait with its reason
   */
  wait(timeoutMs: number, abortSignal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (abortSignal?.aborted === true) {
        reject(abortSignal.reason as Error);
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        abortSignal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        reject(abortSignal?.reason as Error);
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#waiters.add(done);
      abortSignal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The contents of a {@link MemoryClusterState}. */
export interface MemoryClusterContents {
  identities?: readonly AzureIdentity[];
  bindings?: readonly AzureIdentityBinding[];
  assignedIdentities?: readonly AzureAssignedIdentity[];
  exceptions?: readonly AzurePodIdentityException[];
  /** Secrets by `namespace/name`, values as bytes. */
  secrets?: Readonly<Record<string, Readonly<Record<string, Uint8Array>>>>;
}

/** An in-memory {@link NmiClusterState} whose contents the caller sets. */
export interface MemoryClusterState extends NmiClusterState {
  /** Replaces the CRDs and secrets (pods are set on `pods`) and wakes waiting requests. */
  set(contents: MemoryClusterContents): void;
}

/** Options of {@link createMemoryClusterState}. */
export interface MemoryClusterStateOptions {
  /** Operation mode. Default `standard`. */
  operationMode?: OperationMode;
  /** Every identity namespaced. Default false. */
  forceNamespaced?: boolean;
  /** How exceptions select pods. Default `any`. */
  exceptionMatch?: ExceptionMatch;
}

/**
 * A cluster state held in memory: for tests, benchmarks and brokers fed from somewhere other than the
 * Kubernetes API.
 * @param options - mode and namespacing
 */
export function createMemoryClusterState(
  options: MemoryClusterStateOptions = {},
): MemoryClusterState {
  const pods = new PodIndex();
  const changes = new ChangeSignal();
  let contents: MemoryClusterContents = {};
  const byNamespace = <T extends { metadata: { namespace?: string } }>(
    items: readonly T[] | undefined,
    namespace: string,
  ): T[] => (items ?? []).filter((item) => item.metadata.namespace === namespace);
  return {
    pods,
    view: {
      mode: options.operationMode ?? 'standard',
      forceNamespaced: options.forceNamespaced ?? false,
      exceptionMatch: options.exceptionMatch ?? 'any',
      exceptions: (namespace) => byNamespace(contents.exceptions, namespace),
      bindings: (namespace) => byNamespace(contents.bindings, namespace),
      bindingsSelecting: (selector) =>
        (contents.bindings ?? []).filter((binding) => binding.spec.selector === selector),
      identities: (namespace) => byNamespace(contents.identities, namespace),
      assignedIdentities: (podNamespace, podName) =>
        (contents.assignedIdentities ?? []).filter(
          (record) => record.spec.podNamespace === podNamespace && record.spec.pod === podName,
        ),
    },
    changed: (timeoutMs, abortSignal) => changes.wait(timeoutMs, abortSignal),
    readSecret: (reference) => {
      const secret = contents.secrets?.[`${reference.namespace}/${reference.name}`];
      return secret === undefined
        ? Promise.reject(new Error(`secret ${reference.namespace}/${reference.name} not found`))
        : Promise.resolve(secret);
    },
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    isSynced: () => true,
    set(next) {
      contents = next;
      changes.notify();
    },
  };
}
