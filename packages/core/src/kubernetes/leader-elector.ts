import { raceAbort } from '../abort/race-abort.js';
import { systemClock, type Clock } from '../work-queue/clock.js';
import type { KubeConnection } from './kube-connection.js';
import { kubeHttpClientFor } from './kube-http-client.js';
import { toKubernetesApiError } from './kubernetes-api-error.js';

/** Options of {@link createLeaderElector}. */
export interface LeaderElectorOptions {
  /** API server connection: a client-node `KubeConfig` or a lean `KubeConnection`. */
  kubeConfig: KubeConnection;
  /** Namespace of the Lease (`--leader-election-namespace`, default `default`). */
  namespace: string;
  /** Name of the Lease (`--leader-election-name`, default `aad-pod-identity-mic`). */
  name: string;
  /** This candidate's identity (`--leader-election-instance`, default the hostname). */
  identity: string;
  /** How long a lease holds without renewal (`--leader-election-duration`, default 15 s). */
  leaseDurationMs: number;
  /** A leader that cannot renew for this long steps down. Default `leaseDurationMs / 2`. */
  renewDeadlineMs?: number;
  /** Interval between acquire and renew attempts. Default `leaseDurationMs / 4`. */
  retryPeriodMs?: number;
  /** Time source. */
  clock?: Clock;
  /** Told of failed attempts (the elector keeps trying). */
  onError?: (error: unknown) => void;
}

/** Callbacks of {@link LeaderElector.run}. */
export interface LeaderCallbacks {
  /**
   * Called once leadership is acquired, with a signal that aborts when it is lost or the elector
   * stops. Whatever it starts must stop when the signal aborts.
   */
  onStartedLeading: (leadership: AbortSignal) => void;
  /** Called when leadership that was held is lost (not when the elector stops normally). */
  onStoppedLeading?: () => void;
  /** Called when another candidate is observed as leader. */
  onNewLeader?: (identity: string) => void;
}

/** Lease-based leader election on `coordination.k8s.io/v1`, with client-go's timing rules. */
export interface LeaderElector {
  /**
   * Campaigns until `abortSignal` aborts or leadership is lost; resolves then. On abort while leading,
   * the lease is released (holder cleared) so another candidate takes over at once.
   */
  run(callbacks: LeaderCallbacks, abortSignal: AbortSignal): Promise<'lost' | 'stopped'>;
  /** Whether this candidate currently holds the lease. */
  isLeader(): boolean;
}

/** A Lease as far as it is read and written (wire JSON: times are RFC 3339 strings). */
interface WireLease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

function toMs(time: string | undefined): number {
  return time === undefined ? 0 : Date.parse(time);
}

/** A `MicroTime` as kube-apiserver parses it: RFC 3339 with six fractional digits. */
function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000Z`;
}

/**
 * Creates a leader elector on a `coordination.k8s.io/v1` Lease. The original MIC used an Endpoints
 * lock (`control-plane.alpha.kubernetes.io/leader` annotation); Kubernetes removed Endpoints-based
 * locks from client-go, so this uses a Lease of the same namespace and name. An old MIC and this
 * one do not see each other's lock: do not run both at once.
 *
 * Like client-go, expiry is judged by when this candidate last saw the lease change (its own clock),
 * never by comparing the remote `renewTime` with the local clock, so clock skew cannot steal a lease.
 *
 * @param options - lock location, identity and timing
 * @returns the elector
 */
export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const clock = options.clock ?? systemClock;
  const leaseDurationMs = options.leaseDurationMs;
  const renewDeadlineMs = options.renewDeadlineMs ?? leaseDurationMs / 2;
  const retryPeriodMs = options.retryPeriodMs ?? leaseDurationMs / 4;
  if (!(
    leaseDurationMs > renewDeadlineMs &&
    renewDeadlineMs > retryPeriodMs &&
    retryPeriodMs > 0
  )) {
    throw new RangeError('leader election needs leaseDuration > renewDeadline > retryPeriod > 0');
  }
  // How long a leader leads after the start of its last successful renewal.
  const leadForMs = Math.min(retryPeriodMs + renewDeadlineMs, leaseDurationMs - retryPeriodMs);
  if (options.identity === '') throw new TypeError('leader election identity must not be empty');
  const client = kubeHttpClientFor(options.kubeConfig);
  const { namespace, name, identity } = options;
  const leasesPath = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const leasePath = `${leasesPath}/${encodeURIComponent(name)}`;
  const readLease = (): Promise<WireLease> => client.request<WireLease>('GET', leasePath);
  const replaceLease = (body: WireLease): Promise<WireLease> =>
    client.request<WireLease>('PUT', leasePath, { body });
  let leader = false;
  let observed: { holder: string; renewTime: number; resourceVersion: string } | undefined;
  let observedAtMs = 0;
  let lastReportedLeader = '';

  const leaseSeconds = Math.max(1, Math.round(leaseDurationMs / 1000));

  /** One acquire-or-renew attempt; true when this candidate holds the lease afterwards. */
  const tryAcquireOrRenew = async (callbacks: LeaderCallbacks): Promise<boolean> => {
    const now = clock.now();
    let current: WireLease | undefined;
    try {
      current = await readLease();
    } catch (error) {
      const wrapped = toKubernetesApiError(error, `read lease ${namespace}/${name}`);
      if (wrapped.statusCode !== 404) throw wrapped;
    }
    if (current === undefined) {
      try {
        await client.request('POST', leasesPath, {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: leaseSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
        });
      } catch (error) {
        const wrapped = toKubernetesApiError(error, `create lease ${namespace}/${name}`);
        if (wrapped.statusCode === 409) return false;
        throw wrapped;
      }
      // Remember the lease as written: a leader that acquired by creating it must judge its first
      // failed renew like any other, not as a lease whose holder it never saw.
      observed = { holder: identity, renewTime: now, resourceVersion: '' };
      observedAtMs = clock.now();
      return true;
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = {
      holder,
      renewTime: toMs(spec.renewTime),
      resourceVersion: current.metadata?.resourceVersion ?? '',
    };
    if (
      observed?.holder !== record.holder ||
      observed.renewTime !== record.renewTime ||
      observed.resourceVersion !== record.resourceVersion
    ) {
      observed = record;
      observedAtMs = now;
    }
    if (holder !== '' && holder !== identity && lastReportedLeader !== holder) {
      lastReportedLeader = holder;
      callbacks.onNewLeader?.(holder);
    }
    const heldByOther = holder !== '' && holder !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (heldByOther && observedAtMs + durationMs > now) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      const updated = await replaceLease({
        ...current,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: leaseSeconds,
          acquireTime:
            holder === identity && spec.acquireTime !== undefined
              ? spec.acquireTime
              : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: transitions,
        },
      });
      observed = {
        holder: identity,
        renewTime: toMs(updated.spec?.renewTime),
        resourceVersion: updated.metadata?.resourceVersion ?? '',
      };
      observedAtMs = clock.now();
      return true;
    } catch (error) {
      const wrapped = toKubernetesApiError(error, `update lease ${namespace}/${name}`);
      if (wrapped.statusCode === 409) return false;
      throw wrapped;
    }
  };

  const release = async (): Promise<void> => {
    try {
      const current = await readLease();
      if (current.spec?.holderIdentity !== identity) return;
      await replaceLease({
        ...current,
        spec: {
          ...current.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(clock.now()),
        },
      });
    } catch (error) {
      options.onError?.(toKubernetesApiError(error, `release lease ${namespace}/${name}`));
    }
  };

  /** One attempt; failures are reported and count as not holding. `signal` abandons it. */
  const attempt = async (callbacks: LeaderCallbacks, signal: AbortSignal): Promise<boolean> => {
    // Read through a call: the signal can abort while the attempt is awaited.
    const abandoned = (): boolean => signal.aborted;
    if (abandoned()) return false;
    try {
      return await raceAbort(tryAcquireOrRenew(callbacks), signal);
    } catch (error) {
      if (!abandoned()) options.onError?.(error);
      return false;
    }
  };

  /**
   * Renews every retry period while leading, as client-go does: failed renewals are retried, and
   * leadership ends only when none has succeeded for a renew round (one retry period, then the renew
   * deadline) since the start of the last successful one, or at once when the lease names another
   * holder. A watchdog on the clock ends it at that deadline even while a renewal hangs, and never
   * later than one retry period before the lease written at that renewal expires for the others.
   */
  const holdLease = async (
    callbacks: LeaderCallbacks,
    abortSignal: AbortSignal,
    renewedAtMs: number,
  ): Promise<'lost' | 'stopped'> => {
    let lastRenewMs = renewedAtMs;
    const lost = new AbortController();
    const ending = AbortSignal.any([abortSignal, lost.signal]);
    const watchdog = (async (): Promise<void> => {
      while (!ending.aborted) {
        const leftMs = lastRenewMs + leadForMs - clock.now();
        if (leftMs <= 0) {
          lost.abort(new Error('leader lease renew deadline passed'));
          return;
        }
        try {
          await clock.sleep(leftMs, ending);
        } catch {
          return;
        }
      }
    })();
    while (!ending.aborted) {
      try {
        await clock.sleep(retryPeriodMs, ending);
      } catch {
        break;
      }
      const startedMs = clock.now();
      if (await attempt(callbacks, ending)) lastRenewMs = startedMs;
      else if (!lost.signal.aborted && !abortSignal.aborted && observed?.holder !== identity) {
        lost.abort(new Error('leader lease taken by another holder'));
      }
    }
    lost.abort();
    await watchdog;
    return abortSignal.aborted ? 'stopped' : 'lost';
  };

  return {
    isLeader: () => leader,
    async run(callbacks, abortSignal) {
      // Acquire.
      let acquiredAtMs = clock.now();
      while (!abortSignal.aborted) {
        acquiredAtMs = clock.now();
        if (await attempt(callbacks, abortSignal)) break;
        try {
          await clock.sleep(retryPeriodMs, abortSignal);
        } catch {
          return 'stopped';
        }
      }
      if (abortSignal.aborted) return 'stopped';
      leader = true;
      const leadership = new AbortController();
      const onAbort = (): void => {
        leadership.abort(abortSignal.reason);
      };
      abortSignal.addEventListener('abort', onAbort, { once: true });
      try {
        callbacks.onStartedLeading(leadership.signal);
      } catch (error) {
        options.onError?.(error);
      }
      const outcome = await holdLease(callbacks, abortSignal, acquiredAtMs);
      leader = false;
      abortSignal.removeEventListener('abort', onAbort);
      leadership.abort(
        new Error(outcome === 'lost' ? 'leader lease lost' : 'leader election stopped'),
      );
      if (outcome === 'lost') callbacks.onStoppedLeading?.();
      else await release();
      return outcome;
    },
  };
}
