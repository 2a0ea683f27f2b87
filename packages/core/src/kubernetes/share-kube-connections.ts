import { createRequire } from 'node:module';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

/** The part of an undici dispatcher this module uses. */
interface ClosableDispatcher {
  close(): Promise<void>;
}
type UndiciAgentConstructor = new (options: {
  connect: object;
  keepAliveTimeoutThreshold: number;
}) => ClosableDispatcher;
type CreateDispatcher = (
  cluster: Cluster | null,
  agentOptions: Parameters<KubeConfig['createDispatcherOptions']>[1],
) => ClosableDispatcher | undefined;

/**
 * How long before the server's advertised keep-alive timeout (`Keep-Alive: timeout=N`) an idle
 * connection stops being reused. undici's default (2 s) disables reuse entirely against servers that
 * advertise 1 or 2 s (Node's default is 5 s, the testkit emulator's 1 s); Node servers also wait a
 * further second past what they advertise, so half a second leaves a wide margin against the race
 * where the server closes a socket as a request is written. The real kube-apiserver advertises no
 * timeout, and then undici's own idle timeout (4 s) applies.
 */
const KEEP_ALIVE_THRESHOLD_MS = 500;

const shared = new WeakSet<KubeConfig>();
let undiciAgent: UndiciAgentConstructor | undefined;

/**
 * client-node's own copy of undici: its `fetch` gets the dispatcher, and a dispatcher from another
 * undici version may speak a different handler protocol.
 */
function loadUndiciAgent(): UndiciAgentConstructor {
  if (undiciAgent === undefined) {
    const requireFromClientNode = createRequire(import.meta.resolve('@kubernetes/client-node'));
    undiciAgent = (requireFromClientNode('undici') as { Agent: UndiciAgentConstructor }).Agent;
  }
  return undiciAgent;
}

/**
 * Whether two sets of connection settings are the same: Buffers (CA, certificate, key: read afresh
 * for every request) by content, everything else by value. Cheaper than hashing, which would cost
 * every request a digest of the TLS material.
 */
function sameSettings(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => sameSettings(item, b[i]))
    );
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aKeys = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bKeys = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    aKeys.length === bKeys.length &&
    aKeys.every((k) =>
      sameSettings((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

/**
 * Makes every API client built from `kubeConfig` (typed APIs from `makeApiClient`, `Watch`, and so
 * every informer, record client, ledger, event recorder and leader elector of this package) share
 * one keep-alive connection pool per cluster, user and TLS material, instead of the new dispatcher
 * and so the new connection (and TLS handshake) that client-node 2 opens for each request.
 *
 * The pool is keyed by the connection settings client-node derives for each request (server, proxy,
 * CA, client certificate and key, `insecure-skip-tls-verify`, TLS server name), so credentials that
 * rotate (exec or file-based client certificates) get a new pool and the old one is closed once its
 * requests (including open watches) end. Bearer tokens and other headers are still set per request,
 * so they need no new pool. Connections without TLS settings already use undici's global pool and
 * are left alone.
 *
 * The KubeConfig is changed in place, so that clients built from it elsewhere share the pool too;
 * calling this again on the same KubeConfig does nothing. Idle pooled sockets do not keep the
 * process alive.
 *
 * It replaces client-node's private `KubeConfig.createDispatcher` (2.0.x): the method is checked to
 * exist first, and a test in this package fails when the installed client-node no longer calls it
 * the way this relies on.
 *
 * @param kubeConfig - the API server connection to share
 * @param onUnsupported - told why, when the installed client-node lacks the hook (nothing is shared)
 * @returns the same KubeConfig
 */
export function shareKubeConnections(
  kubeConfig: KubeConfig,
  onUnsupported?: (reason: string) => void,
): KubeConfig {
  if (shared.has(kubeConfig)) return kubeConfig;
  shared.add(kubeConfig);
  const target = kubeConfig as unknown as {
    createDispatcher?: unknown;
    createDispatcherOptions?: unknown;
  };
  // client-node's private hook, checked before it is replaced: a release without it (the range
  // this package accepts is pinned to the 2.0 line, where it exists) keeps working, unshared.
  if (
    typeof target.createDispatcher !== 'function' ||
    typeof target.createDispatcherOptions !== 'function'
  ) {
    onUnsupported?.(
      'this @kubernetes/client-node has no KubeConfig.createDispatcher/createDispatcherOptions: API connections are not shared',
    );
    return kubeConfig;
  }
  return patchDispatcher(kubeConfig, target as { createDispatcher: CreateDispatcher });
}

function patchDispatcher(
  kubeConfig: KubeConfig,
  target: { createDispatcher: CreateDispatcher },
): KubeConfig {
  const original = target.createDispatcher.bind(kubeConfig);
  let current: { settings: unknown; dispatcher: ClosableDispatcher | undefined } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const dispatcherOptions = kubeConfig.createDispatcherOptions(cluster, agentOptions);
    if (dispatcherOptions.type === 'none') return undefined;
    const settings = [cluster?.server ?? '', cluster?.proxyUrl ?? '', dispatcherOptions];
    if (current !== undefined && sameSettings(current.settings, settings))
      return current.dispatcher;
    const dispatcher =
      dispatcherOptions.type === 'agent'
        ? new (loadUndiciAgent())({
            connect: dispatcherOptions.connect,
            keepAliveTimeoutThreshold: KEEP_ALIVE_THRESHOLD_MS,
          })
        : original(cluster, agentOptions);
    // Graceful: requests already running on the old pool (watches included) finish first.
    void current?.dispatcher?.close().catch(() => undefined);
    current = { settings, dispatcher };
    return dispatcher;
  };
  return kubeConfig;
}
