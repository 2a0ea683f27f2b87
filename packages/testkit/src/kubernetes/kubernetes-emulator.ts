import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiServer } from './api-server.js';
import { createEmulatorStore, type KubernetesEmulatorStore } from './emulator-store.js';
import { emulatorKubeconfig } from './emulator-kubeconfig.js';
import { createEmulatorUsers } from './emulator-users.js';
import { FaultRules, type KubernetesFaults } from './kubernetes-faults.js';
import { createKubernetesRequestListener } from './kubernetes-request-listener.js';
import { ObjectStore } from './object-store.js';
import { createOpenWatches } from './open-watches.js';
import { createServiceAccountTokenApi } from './service-account-token-api.js';
import {
  createServiceAccountTokenSigner,
  type ServiceAccountSigningKey,
  type ServiceAccountTokenSigner,
} from './service-account-token-signer.js';

/**
 * TLS material for serving https, e.g. a certificate from the testkit's certificate authority. The
 * kubeconfig then trusts `caPem` instead of skipping verification.
 */
export interface KubernetesEmulatorTls {
  /** Server certificate, PEM, valid for the listening host. */
  readonly certificatePem: string;
  /** Its private key, PEM. */
  readonly privateKeyPem: string;
  /** The CA certificate clients must trust, PEM. */
  readonly caPem: string;
}

/** Options of {@link startKubernetesEmulator}. */
export interface KubernetesEmulatorOptions {
  /**
   * Serve https with this certificate. Without it the emulator serves plain http on loopback and the
   * kubeconfig sets `insecure-skip-tls-verify`, which client-node requires for http:// servers.
   */
  readonly tls?: KubernetesEmulatorTls;
  /** Bearer token every request must carry; without it, requests are not authenticated. */
  readonly token?: string;
  /** Loopback address to listen on (default `127.0.0.1`). */
  readonly host?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 60 000, as kube's ~1 min). */
  readonly bookmarkIntervalMs?: number;
  /**
   * Changes kept for watch resumption and `continue` pages before older ones are compacted, like
   * kube's bounded watch cache (default 50 000: each kept change holds an object in memory).
   */
  readonly historyLimit?: number;
  /** Namespace of the kubeconfig context (default `default`). */
  readonly namespace?: string;
  /** Reported by `/version` (default `1.33`). */
  readonly kubernetesMinorVersion?: number;
  /**
   * More users, each with its own bearer token (beside `token`, the administrator's). A node is user
   * `system:node:<name>` in group `system:nodes`: its TokenRequests are held to NodeRestriction.
   */
  readonly users?: readonly KubernetesEmulatorUser[];
  /** `--service-account-issuer`: the `iss` of service-account tokens (default the emulator's URL). */
  readonly serviceAccountIssuer?: string;
  /** The service-account signing key (default one RSA key per process). */
  readonly serviceAccountSigningKey?: ServiceAccountSigningKey;
  /**
   * Audiences that nodes may request service-account tokens for although their pods do not mount
   * them: what a ClusterRole with verb `request-serviceaccounts-token-audience` bound to
   * `system:nodes` grants. Default none.
   */
  readonly nodeTokenAudiences?: readonly string[];
  /** `--service-account-max-token-expiration`, in seconds; default none. */
  readonly serviceAccountMaxTokenExpirationSeconds?: number;
}

/** A user of the Kubernetes emulator, authenticated by a static bearer token. */
export interface KubernetesEmulatorUser {
  readonly token: string;
  /** e.g. `system:node:aks-nodepool1-12345678-vmss000000` */
  readonly name: string;
  readonly groups: readonly string[];
}

/** A running Kubernetes API emulator. */
export interface KubernetesEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` (`https://` with the `tls` option). */
  readonly url: string;
  /** A client-node KubeConfig pointing at the emulator (token included when configured). */
  readonly kubeConfig: KubeConfig;
  /** The same kubeconfig as YAML, for subprocesses (`KUBECONFIG=<file with this content>`). */
  readonly kubeconfigYaml: string;
  /** Fault injection. */
  readonly faults: KubernetesFaults;
  /** Direct object access. */
  readonly store: KubernetesEmulatorStore;
  /** Signs the service-account tokens (TokenRequest) and describes the issuer (OIDC discovery, JWKS). */
  readonly serviceAccountTokens: ServiceAccountTokenSigner;
  /** Adds a user (see {@link KubernetesEmulatorOptions.users}); a user of the same name is replaced. */
  addUser(user: KubernetesEmulatorUser): void;
  /** A kubeconfig (YAML) that authenticates as one of the users, by name. */
  kubeconfigYamlFor(userName: string): string;
  /** Compacts the history: every resourceVersion before now becomes 410 Gone for watches and `continue`. */
  compact(): Promise<void>;
  /** Number of watch streams currently open. */
  openWatchCount(): number;
  /** Stops the server, ending watches and connections; leaves no handles behind. */
  close(): Promise<void>;
}

/**
 * Starts an in-process Kubernetes API server emulator on loopback that `@kubernetes/client-node`
 * (and kubectl-style clients) talk to through an ordinary kubeconfig. It serves discovery, core/v1
 * pods, nodes, namespaces, secrets, configmaps, serviceaccounts and events, coordination.k8s.io
 * leases and apiextensions.k8s.io CRDs (which start serving their custom resources), with
 * kube-apiserver's semantics for resourceVersions, conflicts, selectors, paging, watches, finalizers,
 * status subresources, schema pruning and `Status` errors.
 *
 * @example
 * ```ts
 * const kube = await startKubernetesEmulator();
 * const core = kube.kubeConfig.makeApiClient(CoreV1Api);
 * await core.createNamespace({ body: { metadata: { name: 'demo' } } });
 * await kube.close();
 * ```
 */
export async function startKubernetesEmulator(
  options: KubernetesEmulatorOptions = {},
): Promise<KubernetesEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
    throw new RangeError(`the emulator listens on loopback only, got host ${host}`);
  }
  if (options.token?.trim() === '') throw new TypeError('token must not be empty when given');
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  if (!(bookmarkIntervalMs > 0)) throw new RangeError('bookmarkIntervalMs must be positive');
  const store = new ObjectStore(
    options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit },
  );
  const api = new ApiServer(store);
  const faults = new FaultRules();
  const watches = createOpenWatches();
  const shutdown = new AbortController();
  const users = createEmulatorUsers(options.token);
  for (const user of options.users ?? []) users.add(user);
  // The issuer defaults to the URL, known once the server listens.
  const listening: { url?: string; serverAddress?: string; signer?: ServiceAccountTokenSigner } =
    {};
  const tokenApi = createServiceAccountTokenApi({
    store: createEmulatorStore(api),
    signer: () => {
      if (listening.signer === undefined) throw new Error('the emulator is not listening yet');
      return listening.signer;
    },
    externalUrl: () => listening.url ?? '',
    nodeAudiences: options.nodeTokenAudiences ?? [],
    ...(options.serviceAccountMaxTokenExpirationSeconds === undefined
      ? {}
      : { maxExpirationSeconds: options.serviceAccountMaxTokenExpirationSeconds }),
    now: () => new Date(),
  });
  api.onResourceRemoved = (storageKey) => {
    watches.stopResource(storageKey);
  };

  const listener = createKubernetesRequestListener({
    serving: { api, watches, bookmarkIntervalMs },
    faults,
    users,
    tokenApi,
    shutdown: shutdown.signal,
    minorVersion: options.kubernetesMinorVersion ?? 33,
    serverAddress: () => listening.serverAddress ?? '',
  });
  const tls = options.tls;
  const server =
    tls === undefined
      ? createServer(listener)
      : createHttpsServer({ cert: tls.certificatePem, key: tls.privateKeyPem }, listener);
  // client-node 2.0.1 builds a new undici Agent for every request to a cluster with TLS options
  // (a CA or skipTLSVerify), so its connections are never reused; a short keep-alive makes undici
  // close them right after each response instead of leaving hundreds of idle sockets per second.
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls === undefined ? 'http' : 'https'}://${urlHost}:${address.port}`;
  listening.serverAddress = `${urlHost}:${address.port}`;
  listening.url = url;
  const signer = createServiceAccountTokenSigner(
    options.serviceAccountIssuer ?? url,
    ...(options.serviceAccountSigningKey === undefined ? [] : [options.serviceAccountSigningKey]),
  );
  listening.signer = signer;

  const contextNamespace = options.namespace ?? 'default';
  const kubeconfigYaml = emulatorKubeconfig(url, tls, contextNamespace, options.token);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfigYaml);

  let closed: Promise<void> | undefined;
  return {
    url,
    kubeConfig,
    kubeconfigYaml,
    faults: {
      failNext: (rule) => {
        faults.addFailure(rule);
      },
      delay: (rule) => faults.addDelay(rule),
      dropWatches: (drop) => watches.drop(drop),
      reset: () => {
        faults.reset();
      },
    },
    store: createEmulatorStore(api),
    serviceAccountTokens: signer,
    addUser: (user) => {
      users.add(user);
    },
    kubeconfigYamlFor: (userName) => {
      const token = users.tokenOf(userName);
      if (token === undefined) throw new RangeError(`no emulator user named ${userName}`);
      return emulatorKubeconfig(url, tls, contextNamespace, token);
    },
    compact: () => {
      store.compact();
      return Promise.resolve();
    },
    openWatchCount: () => watches.size,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        shutdown.abort();
        watches.stopAll();
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
