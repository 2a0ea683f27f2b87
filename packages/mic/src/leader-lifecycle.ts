// Running a controller's leader-only work under a Kubernetes Lease: campaign, work while leading,
// stop when the lease is lost or the controller stops. Without election, work at once.
import { silentLogger, systemClock, type Clock, type Logger } from '@pod-identity/core';
import { createLeaderElector, type KubeConnection } from '@pod-identity/core/kubernetes';

/** Leader election settings (the `--leader-election-*` flags). */
export interface MicLeaderElectionOptions {
  /** Lease namespace. Default `default`. */
  namespace?: string;
  /** Lease name. Default `aad-pod-identity-mic`. */
  name?: string;
  /** This replica's identity. Default the hostname. */
  instance: string;
  /** Lease duration. Default 15 s. */
  leaseDurationMs?: number;
}

/** How a MIC run ended. */
export type MicOutcome = 'stopped' | 'lost-leadership';

/** Options of {@link runLeaderElected}. */
export interface LeaderElectedOptions {
  /** Connection for the Lease: a lean `KubeConnection` or a client-node `KubeConfig`. */
  kubeConfig: KubeConnection;
  /** Leader election, or `false` to lead at once (a single replica, tests). */
  leaderElection: MicLeaderElectionOptions | false;
  /**
   * The leader-only work: runs when leadership is acquired and must end when `leadership` aborts
   * (lease lost, or `signal` aborted). A rejection is logged.
   */
  lead(leadership: AbortSignal): Promise<void>;
  /** Told when this replica starts and stops leading. */
  onLeading?(leading: boolean): void;
  /** Ends the campaign (and the work); the lease is released. */
  signal: AbortSignal;
  /** Where election is logged. Default silent. */
  logger?: Logger;
  /** Time source for the lease. Default the system clock. */
  clock?: Clock;
}

/**
 * Campaigns for the lease and runs `lead` while holding it, as MIC does; resolves once the work has
 * ended, with why: stopped (`signal`) or leadership lost (the original then exits with 1).
 *
 * @param options - the lease, the work and the stop signal
 * @returns how the run ended
 */
export async function runLeaderElected(options: LeaderElectedOptions): Promise<MicOutcome> {
  const logger = options.logger ?? silentLogger;
  const setLeading = (leading: boolean): void => {
    options.onLeading?.(leading);
  };
  if (options.leaderElection === false) {
    setLeading(true);
    await options.lead(options.signal);
    setLeading(false);
    return 'stopped';
  }
  const election = options.leaderElection;
  const elector = createLeaderElector({
    kubeConfig: options.kubeConfig,
    namespace: election.namespace ?? 'default',
    name: election.name ?? 'aad-pod-identity-mic',
    identity: election.instance,
    leaseDurationMs: election.leaseDurationMs ?? 15_000,
    clock: options.clock ?? systemClock,
    onError: (error) => {
      logger.warn({ err: error }, 'leader election attempt failed');
    },
  });
  let leading: Promise<void> | undefined;
  const outcome = await elector.run(
    {
      onStartedLeading: (leadership) => {
        setLeading(true);
        logger.info({ instance: election.instance }, 'became leader');
        leading = options.lead(leadership).catch((error: unknown) => {
          logger.error({ err: error }, 'leader loop failed');
        });
      },
      onStoppedLeading: () => {
        logger.error({ instance: election.instance }, 'lost leader lease');
      },
      onNewLeader: (identity) => {
        logger.info({ leader: identity }, 'new leader elected');
      },
    },
    options.signal,
  );
  setLeading(false);
  await leading;
  return outcome === 'lost' ? 'lost-leadership' : 'stopped';
}
