/**
 * Pods that keep asking their node's NMI for a token, from their own pod IP, as an application does,
 * and check every answer: a token may only be for an identity that the pod's labels bind (at the time
 * the request was sent or when the answer came; labels and bindings change under it in churn).
 *
 * @module
 */
import http from 'node:http';
import type { Sandbox } from '@pod-identity/testkit';
import { podViews } from './cluster-model.ts';
import type { InvariantMonitor } from './invariant-monitor.ts';

/** What the pollers saw. */
export interface PollerCounts {
  /** Answers with a token. */
  ok: number;
  /** Answers with an error status, by status. */
  refused: Map<number, number>;
  /** 503 answers without `Retry-After`. */
  unavailableWithoutRetryAfter: number;
  /** Connection errors (NMI down) and timeouts. */
  failed: number;
  /** The longest time a request took before its answer, ms. */
  longestMs: number;
}

/** Options of {@link startPodPollers}. */
export interface PodPollerOptions {
  readonly sandbox: Sandbox;
  readonly monitor: InvariantMonitor;
  /** The NMI URL serving a node, or undefined when none runs there. */
  readonly nmiUrl: (nodeName: string) => string | undefined;
  /** Which pods poll (`namespace/name`); re-read each round, so pods may come and go. */
  readonly pods: () => readonly string[];
  /** Pause between a pod's requests. Default 200 ms. */
  readonly intervalMs?: number;
  /** The resource asked for. */
  readonly resource?: string;
  /**
   * How old NMI's view may be: an answer passes when the identity was bound by the pod's labels at
   * some time from this long before the request to its answer. NMI decides from watch caches, which
   * lag the API server by the watch's propagation (a few ms, seconds on a loaded machine) and by the
   * whole outage while a watch is down. Default 1000 ms.
   */
  readonly stalenessMs?: number | (() => number);
}

/** Running pollers. */
export interface PodPollers {
  readonly counts: PollerCounts;
  stop(): Promise<void>;
}

/** NMI's answer to one token request. */
export interface NmiAnswer {
  status: number;
  body: string;
  retryAfter: string | undefined;
}

/**
 * Asks an NMI for a token from a pod's address, as the pod's application would.
 * @param url - NMI's URL
 * @param localAddress - the pod's IP
 * @param resource - the resource
 * @param signal - ends the request
 */
export function askNmi(
  url: string,
  localAddress: string,
  resource: string,
  signal: AbortSignal,
): Promise<NmiAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL('/metadata/identity/oauth2/token', url);
    target.searchParams.set('api-version', '2018-02-01');
    target.searchParams.set('resource', resource);
    const request = http.get(
      target,
      { localAddress, headers: { Metadata: 'true' }, agent: false, signal, timeout: 120_000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            body,
            retryAfter: response.headers['retry-after'],
          });
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

/**
 * Starts one polling loop per listed pod.
 * @param options - sandbox, monitor, where NMI is, which pods
 * @returns the pollers
 */
export function startPodPollers(options: PodPollerOptions): PodPollers {
  const { sandbox, monitor } = options;
  const resource = options.resource ?? 'https://management.azure.com/';
  const intervalMs = options.intervalMs ?? 200;
  const counts: PollerCounts = {
    ok: 0,
    refused: new Map(),
    unavailableWithoutRetryAfter: 0,
    failed: 0,
    longestMs: 0,
  };
  const stopping = new AbortController();
  // A function, so the compiler does not narrow the flag across awaits.
  const isStopping = (): boolean => stopping.signal.aborted;
  const loops = new Map<string, Promise<void>>();

  const staleness = (): number => {
    const value = options.stalenessMs ?? 1000;
    return typeof value === 'number' ? value : value();
  };

  const loop = async (podKey: string): Promise<void> => {
    while (!stopping.signal.aborted && options.pods().includes(podKey)) {
      const pod = podViews(sandbox).get(podKey);
      const url = pod === undefined ? undefined : options.nmiUrl(pod.nodeName);
      if (pod === undefined || url === undefined || !pod.live) {
        await pause(intervalMs, stopping.signal);
        continue;
      }
      const sent = Date.now();
      try {
        const answer = await askNmi(url, pod.ip, resource, stopping.signal);
        counts.longestMs = Math.max(counts.longestMs, Date.now() - sent);
        if (answer.status === 200) {
          counts.ok += 1;
          const clientId = (
            (JSON.parse(answer.body) as { client_id?: string }).client_id ?? ''
          ).toLowerCase();
          const allowedMs = staleness();
          const bound = monitor.boundSince(podKey, pod.uid, sent - allowedMs);
          if (!bound.has(clientId)) {
            monitor.report(
              `pod ${podKey} got a token for client ${clientId}, which its labels did not bind from ${String(allowedMs)} ms before the request to its answer (${String(Date.now() - sent)} ms later; bound then: ${[...bound].join(',') || 'none'}; ${monitor.whyUnbound(podKey, pod.uid, clientId, sent)})`,
            );
          }
        } else {
          counts.refused.set(answer.status, (counts.refused.get(answer.status) ?? 0) + 1);
          if (answer.status === 503 && answer.retryAfter === undefined)
            counts.unavailableWithoutRetryAfter += 1;
        }
      } catch {
        if (isStopping()) return;
        counts.failed += 1;
      }
      await pause(intervalMs, stopping.signal);
    }
  };

  const refresh = (): void => {
    for (const podKey of options.pods()) {
      if (loops.has(podKey)) continue;
      const running = loop(podKey).finally(() => loops.delete(podKey));
      loops.set(podKey, running);
    }
  };
  refresh();
  const timer = setInterval(refresh, 500);
  return {
    counts,
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await Promise.allSettled([...loops.values()]);
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
