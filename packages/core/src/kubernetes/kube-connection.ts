import { readFileSync, statSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * How to reach an API server: the two methods of `@kubernetes/client-node`'s `KubeConfig` that the
 * lean client of this package uses, so a `KubeConfig` can be passed as it is (exec plugins, OIDC and
 * every other kind of user it supports work through it), and {@link loadKubeConnection} gives one
 * without loading client-node (whose import alone costs a process about 80 MB and a second).
 */
export interface KubeConnection {
  /** The API server: its URL, and TLS verification settings beside the CA. */
  getCurrentCluster(): {
    readonly server: string;
    readonly skipTLSVerify?: boolean;
    readonly tlsServerName?: string;
  } | null;
  /** Sets TLS material (`ca`, `cert`, `key`, `rejectUnauthorized`), `headers` and `auth` for one request. */
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads a token file at most once a minute (bound service account tokens rotate). */
const TOKEN_FILE_REREAD_MS = 60_000;

interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}
interface UserEntry {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
  as?: unknown;
  'as-groups'?: unknown;
}
interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name?: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name?: string; cluster?: ClusterEntry }[];
  users?: { name?: string; user?: UserEntry }[];
}

/** Re-reads a token file when it is older than a minute. */
function tokenFileReader(path: string): () => string {
  let token = '';
  let readAt = -Infinity;
  return () => {
    if (performance.now() - readAt >= TOKEN_FILE_REREAD_MS) {
      token = readFileSync(path, 'utf8').trim();
      readAt = performance.now();
    }
    return token;
  };
}

function connection(settings: {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  skipTLSVerify: boolean;
  tlsServerName?: string;
  token?: () => string;
  basicAuth?: string;
}): KubeConnection {
  const cluster = {
    server: settings.server,
    skipTLSVerify: settings.skipTLSVerify,
    ...(settings.tlsServerName === undefined ? {} : { tlsServerName: settings.tlsServerName }),
  };
  return {
    getCurrentCluster: () => cluster,
    applyToHTTPSOptions: (options) => {
      if (settings.ca !== undefined) options.ca = settings.ca;
      if (settings.cert !== undefined) options.cert = settings.cert;
      if (settings.key !== undefined) options.key = settings.key;
      if (settings.skipTLSVerify) options.rejectUnauthorized = false;
      if (settings.tlsServerName !== undefined) options.servername = settings.tlsServerName;
      if (settings.basicAuth !== undefined) options.auth = settings.basicAuth;
      const token = settings.token?.();
      if (token !== undefined && token !== '')
        options.headers = {
          ...(options.headers as Record<string, string> | undefined),
          Authorization: `Bearer ${token}`,
        };
      return Promise.resolve();
    },
  };
}

/**
 * The connection of a pod to its own cluster: `KUBERNETES_SERVICE_HOST`/`_PORT`, the service account's
 * CA and token (re-read every minute, as bound tokens rotate).
 * @param env - the environment
 * @throws Error outside a pod
 */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host === undefined || host === '' || port === undefined || port === '')
    throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST and _PORT are not set');
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return connection({
    server,
    ca: readFileSync(`${SERVICE_ACCOUNT}/ca.crt`),
    skipTLSVerify: false,
    token: tokenFileReader(`${SERVICE_ACCOUNT}/token`),
  });
}

function fileOrData(
  base: string,
  file: string | undefined,
  data: string | undefined,
): Buffer | undefined {
  if (data !== undefined && data !== '') return Buffer.from(data, 'base64');
  if (file !== undefined && file !== '')
    return readFileSync(isAbsolute(file) ? file : join(base, file));
  return undefined;
}

/**
 * Reads a kubeconfig file's current context without `@kubernetes/client-node`, for the kinds of
 * user a node daemon has (bearer token or token file, client certificate, basic auth). Anything
 * else (exec plugins, auth providers, impersonation, proxies) is handed to client-node's
 * `KubeConfig`, loaded then, which supports them.
 * @param path - the kubeconfig file (JSON or YAML)
 */
export async function kubeconfigFileConnection(path: string): Promise<KubeConnection> {
  const text = readFileSync(path, 'utf8');
  let parsed: KubeconfigFile;
  try {
    parsed = JSON.parse(text) as KubeconfigFile;
  } catch {
    const { parse } = await import('yaml');
    parsed = parse(text) as KubeconfigFile;
  }
  const contextName = parsed['current-context'];
  const context = parsed.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = parsed.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = parsed.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (context === undefined || cluster?.server === undefined)
    throw new Error(
      `kubeconfig ${path}: no cluster for the current context ${String(contextName)}`,
    );
  const needsClientNode =
    user.exec !== undefined ||
    user['auth-provider'] !== undefined ||
    user.as !== undefined ||
    user['as-groups'] !== undefined ||
    (cluster['proxy-url'] ?? '') !== '';
  if (needsClientNode) {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(path);
    return kubeConfig;
  }
  const base = dirname(path);
  const ca = fileOrData(
    base,
    cluster['certificate-authority'],
    cluster['certificate-authority-data'],
  );
  const cert = fileOrData(base, user['client-certificate'], user['client-certificate-data']);
  const key = fileOrData(base, user['client-key'], user['client-key-data']);
  const tokenFile = user.tokenFile;
  const staticToken = user.token;
  return connection({
    server: cluster.server,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    skipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(cluster['tls-server-name'] === undefined
      ? {}
      : { tlsServerName: cluster['tls-server-name'] }),
    ...(staticToken !== undefined && staticToken !== ''
      ? { token: () => staticToken }
      : tokenFile !== undefined && tokenFile !== ''
        ? { token: tokenFileReader(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile)) }
        : {}),
    ...(user.username === undefined
      ? {}
      : { basicAuth: `${user.username}:${user.password ?? ''}` }),
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The connection a daemon uses, found as client-node's `loadFromDefault` finds it: the given
 * kubeconfig file, else the first file of `$KUBECONFIG`, else `~/.kube/config`, else the pod's
 * service account (in cluster).
 * @param path - a kubeconfig file, or `''` for the default
 * @param env - the environment
 */
export async function loadKubeConnection(
  path = '',
  env: NodeJS.ProcessEnv = process.env,
): Promise<KubeConnection> {
  if (path !== '') return kubeconfigFileConnection(path);
  const fromEnv = (env.KUBECONFIG ?? '').split(':').find((p) => p !== '' && isFile(p));
  if (fromEnv !== undefined) return kubeconfigFileConnection(fromEnv);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (isFile(home)) return kubeconfigFileConnection(home);
  return inClusterConnection(env);
}
