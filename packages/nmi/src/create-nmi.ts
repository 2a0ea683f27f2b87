import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenCredentialOptions } from '@azure/identity';
import {
  TokenCache,
  type AzureIdentity,
  type Logger,
  type ExceptionMatch,
  type OperationMode,
  type TokenCacheOptions,
} from '@pod-identity/core';
import {
  createEventRecorder,
  createServiceAccountTokenRequester,
  listenOn,
  type EventRecorder,
  type KubeConnection,
  type ServiceAccountTokenRequester,
} from '@pod-identity/core/kubernetes';
import {
  createTokenSourceForIdentity,
  identityTokenKey,
  type TokenSource,
} from '@pod-identity/core/azure';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { NmiClusterState } from './cluster-state.js';
import { createInformerClusterState } from './informer-cluster-state.js';
import { FederatedBroker } from './federated-broker.js';
import {
  createFederatedServiceAccounts,
  type FederatedServiceAccounts,
} from './federated-service-accounts.js';
import {
  createIptablesManager,
  type IptablesManager,
  type IptablesManagerOptions,
  type IptablesRunner,
} from './iptables/iptables-manager.js';
import { createNmiMetrics, type NmiMetrics } from './nmi-metrics.js';
import { createNmiRequestHandler } from './nmi-request-handler.js';
import { createTokenServer } from './create-token-server.js';
import { createFreshViewReader } from './fresh-authorization-view.js';
import { RefusalConfirmer, type RefusalConfirmationOptions } from './refusal-confirmer.js';
import { IMDS_STYLE_MAX_HOLD_MS, type RefusalStyle } from './refusal-response.js';
import { DEFAULT_UPSTREAM_WAIT, TokenBroker } from './token-broker.js';
import { VERSION } from './version.js';

/** Options of {@link createNmi}. Defaults are the original NMI's flag defaults. */
export interface NmiOptions {
  /** This node's name (`--node`). Required. */
  nodeName: string;
  /**
   * API server connection, required unless `state` is given: a client-node `KubeConfig`, or a lean
   * `KubeConnection` (`loadKubeConnection` from `@pod-identity/core/kubernetes`), with which NMI
   * never loads client-node.
   */
  kubeConfig?: KubeConnection;
  /** Cluster state to use instead of informers (tests, benchmarks, bespoke brokers). */
  state?: NmiClusterState;
  /** `standard` (from MIC's records) or `managed` (from bindings). Default `standard`. */
  operationMode?: OperationMode;
  /** Token server address (`--nmi-listen-address`). Default `127.0.0.1`. */
  listenAddress?: string;
  /** Token server port (`--nmi-port`). Default 2579; 0 picks a free port. */
  port?: number;
  /** The real IMDS (`--metadata-ip`, `--metadata-port`). Default `169.254.169.254:80`. */
  metadataIp?: string;
  /** See `metadataIp`. */
  metadataPort?: number;
  /** Every identity namespaced (`--forceNamespaced`). Default false; managed mode requires true. */
  forceNamespaced?: boolean;
  /**
   * `--exception-match`: how AzurePodIdentityExceptions select pods, `any` of their labels (default,
   * the original's rule) or `all` of them. Applies to the informer state; a given `state` brings its
   * own.
   */
  exceptionMatch?: ExceptionMatch;
  /**
   * `--MICNamespace`. Accepted for compatibility; the original's implicit bypass for MIC pods is gone
   * (the chart's `mic` AzurePodIdentityException covers MIC), so it is only logged.
   */
  micNamespace?: string;
  /** `--retry-attempts-for-created`. Default 16. */
  retryAttemptsForCreated?: number;
  /** `--retry-attempts-for-assigned`. Default 4. */
  retryAttemptsForAssigned?: number;
  /** `--find-identity-retry-interval` in ms. Default 5000. */
  findIdentityRetryIntervalMs?: number;
  /** `--enableScaleFeatures`: watch only this node's assigned identities. Default true. */
  enableScaleFeatures?: boolean;
  /** `--block-instance-metadata`: 403 for `/metadata/instance`. Default false. */
  blockInstanceMetadata?: boolean;
  /** `--metadata-header-required`. Default true. */
  metadataHeaderRequired?: boolean;
  /** `--set-retry-after-header`: 503 + `Retry-After: 20` instead of 404 while MIC may still assign. Default false. */
  setRetryAfterHeader?: boolean;
  /**
   * `--refusal-style`: how refusals are answered. `imds` (default): as IMDS answers, so every Azure
   * SDK fails at once on a refusal nothing can change (`400`, `Identity not found: …` and NMI's
   * reason) and retries a state that may resolve (`503` + `Retry-After`); requests are then held for
   * MIC at most 15 s. `original`: the original NMI's statuses and plain-text bodies, with its waits
   * (docs/nmi.md, "Refusals").
   */
  refusalStyle?: RefusalStyle;
  /**
   * Bounds of the API server reads that confirm a permanent refusal before it is sent (`imds` style,
   * with the informer state NMI creates from `kubeConfig`): the cache may not have delivered the
   * binding, identity or label that would give the pod its identity, and the SDKs take the refusal
   * as final. `false` sends the cache's refusals unconfirmed. Default: bursts of 10 reads, 5 a
   * second after, 1,000 pods at once (`DEFAULT_REFUSAL_CONFIRMATION`).
   */
  refusalConfirmation?: RefusalConfirmationOptions | false;
  /** `--custom-user-agent`, appended to NMI's user agent towards IMDS. */
  customUserAgent?: string;
  /** How long an unknown caller waits for the pod informer. Default 1200 ms (the original's 4 × 300 ms). */
  podLookupTimeoutMs?: number;
  /**
   * `--upstream-timeout` in ms: the longest a request waits for IMDS or Entra before it is answered
   * 503 with `Retry-After` (the fetch goes on and its token is cached for the retry). Default 5000.
   */
  upstreamTimeoutMs?: number;
  /** `--upstream-retry-after`: the `Retry-After` (seconds) of every 503 NMI sends. Default 2. */
  upstreamRetryAfterSeconds?: number;
  /**
   * Manage the iptables redirect (needs root). Default false in the library; the CLI turns it on.
   * `conntrackDeletion` (`--enable-conntrack-deletion`) drops the tracked connections to the metadata
   * address once the first install succeeds, so connections opened before NMI are redirected too.
   */
  iptables?:
    | false
    | {
        updateIntervalMs?: number;
        runner?: IptablesRunner;
        conntrackDeletion?: IptablesManagerOptions['conntrackDeletion'];
      };
  /** Token cache sizes and timings. */
  tokenCache?: TokenCacheOptions;
  /** Extra `@azure/identity` options for service principals (e.g. `tlsOptions` for a private CA). */
  credentialOptions?: TokenCredentialOptions;
  /** Overrides how an identity's token source is built. */
  tokenSourceFor?: (identity: AzureIdentity, abortSignal: AbortSignal) => Promise<TokenSource>;
  /** Logger (a pino logger fits). Default pino JSON on stdout at `info` (or `$LOG_LEVEL`). */
  logger?: Logger;
  /** Metrics registry. Default a new one with default process metrics. */
  registry?: Registry;
  /** Record Kubernetes events on refused pods. Default true when `kubeConfig` is given. */
  events?: boolean;
  /** Minimum time between two refusal events for one pod. Default 60 s. */
  eventIntervalMs?: number;
  /** How long shutdown waits for requests in flight. Default 5 s. */
  drainTimeoutMs?: number;
  /**
   * Federated mode (docs/federated.md): pods labelled `azure.workload.identity/use: "true"` get the
   * identity their service account names (`azure.workload.identity/client-id`) by exchanging a
   * service-account token bound to the pod at Entra. Off when absent.
   */
  federated?: NmiFederatedOptions;
}

/** Settings of federated mode. */
export interface NmiFederatedOptions {
  /**
   * The node's own credentials (`--token-request-kubeconfig`, the kubelet's kubeconfig on AKS), with
   * which kube-apiserver lets NMI request tokens only for this node's pods: a client-node `KubeConfig`
   * or a lean `KubeConnection`. Required unless `tokenRequester` is given.
   */
  tokenRequestKubeConfig?: KubeConnection;
  /**
   * Requests the pods' service-account tokens instead of the TokenRequest API on
   * `tokenRequestKubeConfig` (tests, bespoke brokers); it must bind each token to the pod it names.
   */
  tokenRequester?: ServiceAccountTokenRequester;
  /** Tenant of service accounts without `azure.workload.identity/tenant-id` (`--federated-tenant-id`). */
  defaultTenantId?: string;
  /** Entra authority host (`--federated-authority-host`). Default the public cloud's. */
  authorityHost?: string;
  /** Lifetime asked for the pods' service-account tokens. Default 600 s. */
  tokenExpirationSeconds?: number;
  /** Service accounts to decide from instead of an informer on `kubeConfig` (tests, bespoke brokers). */
  serviceAccounts?: FederatedServiceAccounts;
}

/** A running NMI. */
export interface Nmi {
  /** `http://address:port` of the token server. */
  readonly url: string;
  /** Address and port of the token server. */
  readonly address: AddressInfo;
  /** The cluster state it decides from. */
  readonly state: NmiClusterState;
  /** The token cache. */
  readonly cache: TokenCache;
  /** The metrics registry. */
  readonly registry: Registry;
  /** The iptables manager, when enabled. */
  readonly iptables: IptablesManager | undefined;
  /**
   * Whether NMI is ready to serve what the node's pods ask: the iptables redirect is installed, or,
   * when NMI manages no redirect, its caches are synced. What `/healthz` reports (see
   * `startNmiHttpServers`).
   */
  isActive(): boolean;
  /**
   * Stops serving: removes the iptables rules, refuses new connections, lets requests in flight finish
   * (up to the drain timeout), stops informers. Rejects (after doing all of it) if a rule could not be removed.
   */
  close(): Promise<void>;
}

/** NMI's version, sent in its user agent and printed by `--version` (written in at build time). */
export const NMI_VERSION: string = VERSION;

/**
 * Starts NMI: the cluster state (informers on this node's pods and the CRDs, unless `state` is given),
 * the token server, and optionally the iptables redirect. Resolves once caches are synced and the token
 * server listens. It opens no other port: the probe and metrics servers are
 * `startNmiHttpServers`.
 *
 * @example
 * ```ts
 * const nmi = await createNmi({ nodeName: process.env.NODE_NAME!, kubeConfig, port: 2579 });
 * process.on('SIGTERM', () => void nmi.close());
 * ```
 * @param options - see {@link NmiOptions}
 * @returns the running server
 * @throws TypeError for invalid options (managed mode without forceNamespaced, missing node)
 */
export async function createNmi(options: NmiOptions): Promise<Nmi> {
  if (options.nodeName === '') throw new TypeError('nodeName is required');
  const operationMode = options.operationMode ?? 'standard';
  const forceNamespaced = options.forceNamespaced ?? false;
  if (operationMode === 'managed' && !forceNamespaced) {
    throw new TypeError('managed mode requires forceNamespaced (as in the original)');
  }
  const logger = (options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' })).child({
    component: 'nmi',
    node: options.nodeName,
  });
  const registry = options.registry ?? new Registry();
  if (options.registry === undefined) collectDefaultMetrics({ register: registry });
  const metrics: NmiMetrics = createNmiMetrics(registry);
  const metadataIp = options.metadataIp ?? '169.254.169.254';
  const metadataPort = options.metadataPort ?? 80;
  const userAgent = `aad-pod-identity/NMI/${NMI_VERSION}${options.customUserAgent ? ` ${options.customUserAgent}` : ''}`;
  const shutdown = new AbortController();
  // Informers, secret reads and events share one keep-alive pool per connection (the lean client).
  const kubeConfig = options.kubeConfig;

  let state = options.state;
  if (state === undefined) {
    if (kubeConfig === undefined)
      throw new TypeError('kubeConfig is required unless state is given');
    state = createInformerClusterState({
      kubeConfig,
      nodeName: options.nodeName,
      operationMode,
      forceNamespaced,
      exceptionMatch: options.exceptionMatch ?? 'any',
      scaleFeatures: options.enableScaleFeatures ?? true,
      onInvalid: (kind, error) => {
        logger.warn({ kind, err: error }, 'ignoring an object that does not parse');
      },
      onError: (error) => {
        logger.warn({ err: error }, 'kubernetes watch error');
      },
    });
  }
  const clusterState = state;
  if (options.micNamespace !== undefined && options.micNamespace !== 'default') {
    logger.info(
      { micNamespace: options.micNamespace },
      'MICNamespace is accepted but MIC pods need an AzurePodIdentityException',
    );
  }

  const cache = new TokenCache(options.tokenCache);
  const imdsEndpoint = `http://${metadataIp}:${String(metadataPort)}`;
  // One keep-alive pool to the node's IMDS for every identity (IMDS allows 5 concurrent requests).
  const imdsAgent = new http.Agent({ keepAlive: true, maxSockets: 5 });
  // User-assigned sources hold no secret, so one per identity key is kept; service-principal sources
  // are built per miss so a rotated secret is read again.
  const imdsSources = new Map<string, TokenSource>();
  const sourceFor =
    options.tokenSourceFor ??
    (async (identity: AzureIdentity, abortSignal: AbortSignal) => {
      const key = identity.spec.type === 0 ? identityTokenKey(identity) : undefined;
      const cached = key === undefined ? undefined : imdsSources.get(key);
      if (cached !== undefined) return cached;
      const source = await createTokenSourceForIdentity(identity, {
        imds: { endpoint: imdsEndpoint, userAgent, agent: imdsAgent },
        readSecret: async (ref, signal) => {
          try {
            return await clusterState.readSecret(ref, signal);
          } catch (error) {
            metrics.kubernetesErrors.inc({ operation_type: 'get_secret' });
            throw error;
          }
        },
        ...(options.credentialOptions === undefined
          ? {}
          : { credentialOptions: options.credentialOptions }),
        abortSignal,
      });
      if (key !== undefined) {
        if (imdsSources.size >= 10_000) imdsSources.clear();
        imdsSources.set(key, source);
      }
      return source;
    });
  const refusalStyle = options.refusalStyle ?? 'imds';
  const imdsStyle = refusalStyle === 'imds';
  const federatedOptions = options.federated;
  let serviceAccounts: FederatedServiceAccounts | undefined;
  if (federatedOptions !== undefined) {
    if (federatedOptions.serviceAccounts !== undefined)
      serviceAccounts = federatedOptions.serviceAccounts;
    else if (kubeConfig !== undefined)
      serviceAccounts = createFederatedServiceAccounts(kubeConfig, (error) => {
        logger.warn({ err: error }, 'kubernetes watch error (service accounts)');
      });
    else throw new TypeError('federated mode needs kubeConfig or federated.serviceAccounts');
  }
  const federated =
    federatedOptions === undefined || serviceAccounts === undefined
      ? undefined
      : new FederatedBroker({
          serviceAccounts,
          cache,
          metrics,
          tokenRequester: federatedTokenRequester(federatedOptions),
          ...(federatedOptions.defaultTenantId === undefined
            ? {}
            : { defaultTenantId: federatedOptions.defaultTenantId }),
          ...(federatedOptions.authorityHost === undefined
            ? {}
            : { authorityHost: federatedOptions.authorityHost }),
          ...(federatedOptions.tokenExpirationSeconds === undefined
            ? {}
            : { tokenExpirationSeconds: federatedOptions.tokenExpirationSeconds }),
          ...(options.credentialOptions === undefined
            ? {}
            : { credentialOptions: options.credentialOptions }),
          ...(options.upstreamRetryAfterSeconds === undefined
            ? {}
            : { retryAfterSeconds: options.upstreamRetryAfterSeconds }),
        });

  const broker = new TokenBroker({
    state: clusterState,
    cache,
    metrics,
    wait: {
      retryAttemptsForCreated: options.retryAttemptsForCreated ?? 16,
      retryAttemptsForAssigned: options.retryAttemptsForAssigned ?? 4,
      intervalMs: options.findIdentityRetryIntervalMs ?? 5000,
      ...(imdsStyle ? { maxHoldMs: IMDS_STYLE_MAX_HOLD_MS } : {}),
    },
    failFastWhenPermanent: imdsStyle,
    setRetryAfterHeader: options.setRetryAfterHeader ?? false,
    upstreamWait: {
      timeoutMs: options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_WAIT.timeoutMs,
      retryAfterSeconds:
        options.upstreamRetryAfterSeconds ?? DEFAULT_UPSTREAM_WAIT.retryAfterSeconds,
    },
    sourceFor,
    nodeImds: { endpoint: imdsEndpoint, userAgent, agent: imdsAgent },
    ...(federated === undefined ? {} : { federated }),
  });

  const recorder: EventRecorder | undefined =
    (options.events ?? kubeConfig !== undefined) && kubeConfig !== undefined
      ? createEventRecorder({
          kubeConfig,
          component: 'aadpodidentity.k8s.io/nmi',
          host: options.nodeName,
          onError: (error) => {
            logger.warn({ err: error }, 'failed to record an event');
          },
        })
      : undefined;
  const eventIntervalMs = options.eventIntervalMs ?? 60_000;
  const lastEvent = new Map<string, number>();

  const confirmer = refusalConfirmerOf(options, clusterState, imdsStyle);
  const handler = createNmiRequestHandler({
    state: clusterState,
    broker,
    ...(confirmer === undefined ? {} : { refusalConfirmer: confirmer }),
    ...(federated === undefined ? {} : { federated }),
    logger,
    metrics,
    metadataHeaderRequired: options.metadataHeaderRequired ?? true,
    blockInstanceMetadata: options.blockInstanceMetadata ?? false,
    metadataHost: metadataIp,
    metadataPort,
    podLookupTimeoutMs: options.podLookupTimeoutMs ?? 1200,
    refusalStyle,
    shutdownSignal: shutdown.signal,
    unavailableRetryAfterSeconds:
      options.upstreamRetryAfterSeconds ?? DEFAULT_UPSTREAM_WAIT.retryAfterSeconds,
    onRefused: (pod, outcome) => {
      if (recorder === undefined) return;
      // At most one event per pod and reason per interval: a retrying client must not flood the API server.
      const key = `${pod.namespace}/${pod.name}/${outcome.reason}`;
      const now = Date.now();
      if ((lastEvent.get(key) ?? -Infinity) + eventIntervalMs > now) return;
      if (lastEvent.size > 10_000) lastEvent.clear();
      lastEvent.set(key, now);
      recorder.event(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          namespace: pod.namespace,
          name: pod.name,
          ...(pod.uid === undefined ? {} : { uid: pod.uid }),
        },
        'Warning',
        outcome.status === 404 ||
          (outcome.status === 503 && outcome.retryAfterSeconds !== undefined)
          ? 'IdentityNotFound'
          : 'TokenRefused',
        `NMI refused a token (${String(outcome.status)}): ${outcome.message}`,
      );
    },
  });

  await Promise.all([clusterState.start(shutdown.signal), serviceAccounts?.start(shutdown.signal)]);

  const iptables =
    options.iptables === undefined || options.iptables === false
      ? undefined
      : createIptablesManager({
          metadataIp,
          metadataPort,
          targetIp: options.listenAddress ?? '127.0.0.1',
          targetPort: options.port ?? 2579,
          logger,
          ...(options.iptables.updateIntervalMs === undefined
            ? {}
            : { updateIntervalMs: options.iptables.updateIntervalMs }),
          ...(options.iptables.runner === undefined ? {} : { runner: options.iptables.runner }),
          ...(options.iptables.conntrackDeletion === undefined
            ? {}
            : { conntrackDeletion: options.iptables.conntrackDeletion }),
        });

  const server = createTokenServer(handler);
  const address = await listenOn(
    server,
    options.port ?? 2579,
    options.listenAddress ?? '127.0.0.1',
  );

  if (iptables !== undefined) await iptables.start(shutdown.signal);
  logger.info(
    { listen: urlOf(address), operationMode, forceNamespaced, metadata: imdsEndpoint },
    'nmi started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info({}, 'nmi shutting down');
      iptables?.stop();
      let cleanupFailed = false;
      if (iptables !== undefined) {
        cleanupFailed = !(await iptables.cleanup());
        if (cleanupFailed) logger.warn({}, 'iptables rules were not all removed');
      }
      const drained = new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      server.closeIdleConnections();
      const timeout = new Promise<void>((resolve) =>
        setTimeout(resolve, options.drainTimeoutMs ?? 5000).unref(),
      );
      await Promise.race([drained, timeout]);
      shutdown.abort(new Error('nmi is shutting down'));
      server.closeAllConnections();
      await Promise.all([clusterState.stop(), serviceAccounts?.stop()]);
      await recorder?.flush();
      cache.close();
      imdsAgent.destroy();
      // The original exited 1 when it could not remove its rules; the CLI does the same.
      if (cleanupFailed) throw new Error('iptables rules were not all removed');
    })();
    return closing;
  };

  return {
    url: urlOf(address),
    address,
    state: clusterState,
    cache,
    registry,
    iptables,
    // The original: `Active` once the redirect is in place.
    isActive: () => (iptables === undefined ? clusterState.isSynced() : iptables.installed),
    close,
  };
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${String(address.port)}`;
}

// The requester federated mode was given, else one on the node's own credentials.
function federatedTokenRequester(options: NmiFederatedOptions): ServiceAccountTokenRequester {
  if (options.tokenRequester !== undefined) return options.tokenRequester;
  if (options.tokenRequestKubeConfig === undefined)
    throw new TypeError('federated mode needs tokenRequestKubeConfig or tokenRequester');
  return createServiceAccountTokenRequester(options.tokenRequestKubeConfig);
}

// Permanent refusals are confirmed against the API server when they are final to the SDKs (`imds`
// style) and come from informers NMI fills itself; a given state is the caller's to keep current.
function refusalConfirmerOf(
  options: NmiOptions,
  state: NmiClusterState,
  imdsStyle: boolean,
): RefusalConfirmer | undefined {
  const { kubeConfig, refusalConfirmation } = options;
  if (!imdsStyle || refusalConfirmation === false) return undefined;
  if (kubeConfig === undefined || options.state !== undefined) return undefined;
  return new RefusalConfirmer(createFreshViewReader(kubeConfig, state.view), refusalConfirmation);
}
