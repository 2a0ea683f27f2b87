/**
 * A real Kubernetes control plane on loopback for the conformance tier, in the manner of
 * controller-runtime's envtest: etcd with a temporary data directory, and kube-apiserver (built by
 * `scripts/conformance/build-kube.sh`) with a self-signed serving certificate, static bearer tokens,
 * RBAC authorisation and a service-account signing key, all in a temporary directory that is removed
 * on {@link RealCluster.stop}.
 *
 * No controller manager or scheduler runs: objects are stored and served exactly as kube-apiserver
 * does, but nothing reacts to them (no garbage collection, no namespace finalisation, no pods run).
 *
 * @module
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import {
  mkdtemp,
  readFile,
  readdir,
  rm,
  writeFile,
  access,
  constants as fsConstants,
} from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

const execFileAsync = promisify(execFile);

/** Repository root (this file lives in `conformance/`). */
const repoRoot = resolve(import.meta.dirname, '..');
const buildScript = join(repoRoot, 'scripts', 'conformance', 'build-kube.sh');

/** The identities the harness authenticates with static bearer tokens (`--token-auth-file`). */
export const clusterUsers = {
  /** Cluster administrator: member of `system:masters`, which RBAC never restricts. */
  admin: { name: 'pod-identity-admin', groups: ['system:masters'] },
  /**
   * MIC, named like the service account the chart creates, so RBAC bindings whose subject is that
   * ServiceAccount apply to it (RBAC matches service-account subjects by user name).
   */
  mic: {
    name: 'system:serviceaccount:kube-system:pod-identity-mic',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'],
  },
  /** NMI, named like its service account (see `mic`). */
  nmi: {
    name: 'system:serviceaccount:kube-system:pod-identity-nmi',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'],
  },
  /**
   * Two nodes' own credentials (what a kubelet's kubeconfig holds), held to the Node authorizer and
   * NodeRestriction: federated NMI requests pods' service-account tokens with them.
   */
  nodeA: { name: 'system:node:conformance-node-a', groups: ['system:nodes'] },
  nodeB: { name: 'system:node:conformance-node-b', groups: ['system:nodes'] },
} as const;

/** Which of {@link clusterUsers} a request or kubeconfig is for. */
export type ClusterUser = keyof typeof clusterUsers;

/** Options of {@link startRealCluster}. */
export interface StartRealClusterOptions {
  /**
   * Serve watches from kube-apiserver's watch cache (the production default). With `false`, every
   * watch and list reads etcd directly, so a watch from a revision that {@link RealCluster.compact}
   * removed fails with 410 Gone at once instead of being served from the cache's window.
   * Default `true`.
   */
  readonly watchCache?: boolean;
  /** Extra kube-apiserver flags (`--name=value`), appended last so they win. */
  readonly extraApiServerArgs?: readonly string[];
  /** How long to wait for etcd and `/readyz`. Default 120 000 ms (first start on 2 shared cores). */
  readonly startTimeoutMs?: number;
  /** Cancels the start; a cancelled start stops whatever it had started. */
  readonly abortSignal?: AbortSignal;
}

/** Result of {@link RealCluster.request}. */
export interface KubeResponse {
  /** HTTP status code. */
  readonly status: number;
  /** Parsed JSON body, or the raw text when the body is not JSON. */
  readonly body: unknown;
  /** Response headers (e.g. `warning`, which reports pruned unknown fields). */
  readonly headers: IncomingHttpHeaders;
}

/** Options of {@link RealCluster.request}. */
export interface KubeRequestOptions {
  /** Whose token to send. Default `admin`. */
  readonly as?: ClusterUser;
  /** JSON body. */
  readonly body?: unknown;
  /** Content type of the body. Default `application/json`. */
  readonly contentType?: string;
  /** Accept header. Default `application/json`. */
  readonly accept?: string;
  /** Cancels the request. */
  readonly abortSignal?: AbortSignal;
  /**
   * Resolve as soon as the status line arrives and drop the body (`body` is `undefined`): for
   * watches, whose body never ends on its own.
   */
  readonly statusOnly?: boolean;
}

/** A running etcd + kube-apiserver pair. */
export interface RealCluster {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caPem: string;
  /** The etcd client URL (`http://127.0.0.1:<port>`), for compaction and inspection. */
  readonly etcdUrl: string;
  /** kube-apiserver's version (`v1.N.P`). */
  readonly version: string;
  /** Kubeconfig file paths, one per user in {@link clusterUsers}. */
  readonly kubeconfigs: Readonly<Record<ClusterUser, string>>;
  /** Bearer tokens, one per user (random per start). */
  readonly tokens: Readonly<Record<ClusterUser, string>>;
  /** The temporary directory holding certificates, tokens, kubeconfigs, logs and etcd data. */
  readonly dir: string;
  /** One HTTPS request to the API server as a user. Never throws on an HTTP error status. */
  request(method: string, path: string, options?: KubeRequestOptions): Promise<KubeResponse>;
  /**
   * Compacts etcd at its current revision (physically), the way kube-apiserver's own compactor does
   * every `--etcd-compaction-interval`: every resourceVersion older than now stops being readable.
   * Returns the revision compacted at.
   */
  compact(abortSignal?: AbortSignal): Promise<number>;
  /**
   * Creates or replaces every object in the given YAML files as admin (server-side apply), waiting
   * for each CustomResourceDefinition to be Established.
   */
  applyManifests(files: readonly string[], abortSignal?: AbortSignal): Promise<void>;
  /** Stops kube-apiserver and etcd and removes {@link RealCluster.dir}. Idempotent. */
  stop(): Promise<void>;
}

/** Versions and binaries the build script pins, read from the script itself (one source of truth). */
export interface KubeBinaries {
  /** Pinned kube-apiserver version (`KUBE_VERSION` of the build script), e.g. `v1.34.4`. */
  readonly kubeVersion: string;
  /** Path of kube-apiserver. */
  readonly kubeApiServer: string;
  /** Path of etcd. */
  readonly etcd: string;
  /** Pinned helm version (`HELM_VERSION`). */
  readonly helmVersion: string;
  /** Path of helm (not checked for existence: only the chart tests need it). */
  readonly helm: string;
}

/**
 * Locates the binaries `scripts/conformance/build-kube.sh` builds (`$POD_IDENTITY_CACHE`, default
 * `~/.cache/pod-identity`) and Debian's etcd. `KUBE_APISERVER_BIN` and `ETCD_BIN` override.
 * Throws an Error naming the build script when one is missing.
 */
export async function locateKubeBinaries(): Promise<KubeBinaries> {
  const script = await readFile(buildScript, 'utf8');
  const pinned = (name: string): string => {
    const match = new RegExp(`^${name}="(v[0-9.]+)"`, 'm').exec(script);
    if (!match?.[1]) throw new Error(`${buildScript} does not pin ${name}`);
    return match[1];
  };
  const kubeVersion = pinned('KUBE_VERSION');
  const helmVersion = pinned('HELM_VERSION');
  const cacheRoot = process.env.POD_IDENTITY_CACHE ?? join(homedir(), '.cache', 'pod-identity');
  const kubeApiServer =
    process.env.KUBE_APISERVER_BIN ?? join(cacheRoot, `k8s-${kubeVersion}`, 'kube-apiserver');
  const helm = join(cacheRoot, `helm-${helmVersion}`, 'helm');
  const etcd = process.env.ETCD_BIN ?? '/usr/bin/etcd';
  for (const bin of [kubeApiServer, etcd]) {
    try {
      await access(bin, fsConstants.X_OK);
    } catch {
      throw new Error(
        `${bin} is missing; run \`bash scripts/conformance/build-kube.sh\` first (see docs/conformance.md)`,
      );
    }
  }
  return { kubeVersion, kubeApiServer, etcd, helmVersion, helm };
}

const dirPrefix = 'pod-identity-kube-';
const ownerFile = 'owner.pid';

/**
 * Removes the directories of harnesses whose process is gone: one that was SIGKILLed could not clean
 * up, and on tmpfs its etcd WAL (64 MB preallocated) would hold memory until reboot.
 */
async function sweepAbandonedDirs(root: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [])) {
    if (!name.startsWith(dirPrefix)) continue;
    const dir = join(root, name);
    const pid = Number(await readFile(join(dir, ownerFile), 'utf8').catch(() => ''));
    if (!Number.isSafeInteger(pid) || pid <= 0) continue; // not ours to judge (or still being created)
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH')
        await rm(dir, { recursive: true, force: true });
    }
  }
}

async function scratchRoot(): Promise<string> {
  try {
    await access('/dev/shm', fsConstants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** Asks the kernel for a free loopback port (the tiny race until the child binds it is accepted, as in envtest). */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      server.close(() => {
        resolvePort(address.port);
      });
    });
  });
}

/** Children and temp dirs of any harness in this process, cleaned synchronously if the process exits. */
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // An interrupted or crashed test run (vitest exits on SIGINT without running teardown) must not
  // leave etcd, kube-apiserver or their files behind. Only synchronous work runs in an exit hook.
  const cleanUp = (): void => {
    for (const c of liveChildren) c.kill('SIGKILL');
    // Retries: a just-killed etcd may still be creating files in its data dir for a moment.
    for (const dir of liveDirs)
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  };
  process.once('exit', cleanUp);
  // A process killed by a signal it does not handle never emits 'exit' (vitest's main process on
  // SIGTERM, for one): clean up, then let the signal do what it would have done.
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUp();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
function track(child: ChildProcess): void {
  installExitHook();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

// util-linux's setpriv sets the child's parent-death signal before exec'ing it: if this process is
// SIGKILLed (vitest kills busy workers that way), no hook runs, but the kernel still kills etcd and
// kube-apiserver. Debian ships it in util-linux (essential); without it the hooks above must do.
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

function spawnLogged(bin: string, args: readonly string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile);
  const child =
    setpriv === undefined
      ? spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(setpriv, ['--pdeathsig', 'KILL', '--', bin, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  track(child);
  return child;
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      r();
    }),
  );
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function tail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `probe` until it resolves true, the child exits, or the deadline passes. */
async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
  abortSignal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    abortSignal?.throwIfAborted();
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${what} exited (${String(child.exitCode ?? child.signalCode)}) before it was ready:\n${await tail(logFile)}`,
      );
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${what} not ready after ${timeoutMs} ms:\n${await tail(logFile)}`);
    // Polling is the readiness contract of both servers (/health, /readyz); there is no event to await.
    await new Promise((r) => setTimeout(r, 250));
  }
}

function httpsJson(
  server: string,
  caPem: string,
  token: string,
  method: string,
  path: string,
  options: KubeRequestOptions,
): Promise<KubeResponse> {
  return new Promise((resolveResponse, reject) => {
    const payload =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: options.accept ?? 'application/json',
    };
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = httpsRequest(
      new URL(path, server),
      { method, ca: caPem, headers, signal: options.abortSignal },
      (res) => {
        if (options.statusOnly === true && res.statusCode !== undefined && res.statusCode < 300) {
          res.destroy();
          resolveResponse({ status: res.statusCode, body: undefined, headers: res.headers });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Non-JSON bodies (e.g. /readyz "ok") are returned as text.
          }
          resolveResponse({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Writes a self-signed CA and a serving certificate for 127.0.0.1/localhost with openssl. */
async function makeServingCert(
  dir: string,
): Promise<{ caPem: string; certFile: string; keyFile: string }> {
  const ca = join(dir, 'ca');
  const srv = join(dir, 'serving');
  const run = async (args: string[]): Promise<void> => {
    try {
      await execFileAsync('openssl', args);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          'openssl is missing; `bash scripts/conformance/build-kube.sh` installs it',
          { cause: error },
        );
      }
      throw error;
    }
  };
  await run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=pod-identity-conformance-ca',
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.crt`,
  ]);
  await run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=kube-apiserver',
    '-keyout',
    `${srv}.key`,
    '-out',
    `${srv}.csr`,
  ]);
  await writeFile(
    `${srv}.ext`,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  await run([
    'x509',
    '-req',
    '-in',
    `${srv}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${srv}.ext`,
    '-out',
    `${srv}.crt`,
  ]);
  return {
    caPem: await readFile(`${ca}.crt`, 'utf8'),
    certFile: `${srv}.crt`,
    keyFile: `${srv}.key`,
  };
}

function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'conformance',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'conformance', user } }],
    'current-context': user,
  });
}

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/** The REST path of an object, resolving its resource name through discovery. */
async function objectPath(
  cluster: RealCluster,
  obj: KubeObject,
  abortSignal?: AbortSignal,
): Promise<string> {
  const { apiVersion, kind, metadata } = obj;
  if (!apiVersion || !kind || !metadata?.name)
    throw new Error(
      `manifest object lacks apiVersion, kind or metadata.name: ${JSON.stringify(obj).slice(0, 200)}`,
    );
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const discovery = await cluster.request('GET', base, { abortSignal });
  const resources =
    (discovery.body as { resources?: { name: string; kind: string; namespaced: boolean }[] })
      .resources ?? [];
  const resource = resources.find((r) => r.kind === kind && !r.name.includes('/'));
  if (!resource)
    throw new Error(
      `the server does not serve ${kind} in ${apiVersion} (HTTP ${discovery.status})`,
    );
  const ns = resource.namespaced ? `/namespaces/${metadata.namespace ?? 'default'}` : '';
  return `${base}${ns}/${resource.name}/${encodeURIComponent(metadata.name)}`;
}

/**
 * Starts etcd and kube-apiserver on loopback and returns once `/readyz` answers `ok` to the admin.
 * The binaries come from `scripts/conformance/build-kube.sh` (see {@link locateKubeBinaries}).
 * Call {@link RealCluster.stop} when done; the process's exit kills both children in any case.
 */
export async function startRealCluster(
  options: StartRealClusterOptions = {},
): Promise<RealCluster> {
  const bins = await locateKubeBinaries();
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  // On tmpfs when there is one: etcd fsyncs every write, which is slow on a shared disk and buys
  // nothing for a throw-away cluster.
  const root = await scratchRoot();
  await sweepAbandonedDirs(root);
  const dir = await mkdtemp(join(root, dirPrefix));
  installExitHook();
  liveDirs.add(dir);
  await writeFile(join(dir, ownerFile), String(process.pid));
  const children: ChildProcess[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // The API server first, so it does not spend its shutdown retrying a vanished etcd.
    for (const child of children.reverse()) await stopChild(child, 10_000);
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcdLog = join(dir, 'etcd.log');
    const etcd = spawnLogged(
      bins.etcd,
      [
        '--name=conformance',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=conformance=${peerUrl}`,
        '--initial-cluster-state=new',
        '--logger=zap',
        '--log-level=warn',
      ],
      etcdLog,
    );
    children.push(etcd);

    // Everything kube-apiserver needs on disk is prepared while etcd starts.
    const tls = await makeServingCert(dir);
    const saKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKeyFile = join(dir, 'sa.key');
    const saPubFile = join(dir, 'sa.pub');
    await writeFile(saKeyFile, saKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(saPubFile, saKey.publicKey.export({ type: 'spki', format: 'pem' }));
    const tokens = Object.fromEntries(
      (Object.keys(clusterUsers) as ClusterUser[]).map((u) => [u, randomBytes(24).toString('hex')]),
    ) as Record<ClusterUser, string>;
    // Anonymous requests are refused except for the service-account issuer's discovery documents,
    // which an identity provider (Entra) fetches without credentials.
    const authenticationConfigFile = join(dir, 'authentication.yaml');
    await writeFile(
      authenticationConfigFile,
      stringify({
        apiVersion: 'apiserver.config.k8s.io/v1beta1',
        kind: 'AuthenticationConfiguration',
        anonymous: {
          enabled: true,
          conditions: [{ path: '/.well-known/openid-configuration' }, { path: '/openid/v1/jwks' }],
        },
      }),
    );
    const tokenFile = join(dir, 'tokens.csv');
    // Format: token,user,uid,"group1,group2"
    await writeFile(
      tokenFile,
      (Object.keys(clusterUsers) as ClusterUser[])
        .map(
          (u) => `${tokens[u]},${clusterUsers[u].name},${u},"${clusterUsers[u].groups.join(',')}"`,
        )
        .join('\n') + '\n',
      { mode: 0o600 },
    );

    await waitFor(
      'etcd',
      async () => {
        const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      etcd,
      etcdLog,
      startTimeoutMs,
      options.abortSignal,
    );

    const server = `https://127.0.0.1:${apiPort}`;
    const apiLog = join(dir, 'kube-apiserver.log');
    const apiServer = spawnLogged(
      bins.kubeApiServer,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'cert-dir')}`,
        `--tls-cert-file=${tls.certFile}`,
        `--tls-private-key-file=${tls.keyFile}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        // The issuer is the server itself, so that its discovery document is where an identity
        // provider looks for it; the older name stays accepted for tokens issued under it.
        `--service-account-issuer=https://127.0.0.1:${String(apiPort)}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPubFile}`,
        `--service-account-signing-key-file=${saKeyFile}`,
        `--token-auth-file=${tokenFile}`,
        `--authentication-config=${authenticationConfigFile}`,
        // Node first: nodes' TokenRequests are authorised by their pods, as on every real cluster.
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        // ServiceAccount admission waits for a controller-manager to create each namespace's default
        // service account; no controller manager runs here.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        // Compaction happens when a test asks for it (compact()), never in the middle of one.
        '--etcd-compaction-interval=0',
        `--watch-cache=${String(options.watchCache ?? true)}`,
        '--profiling=false',
        '--v=1',
        ...(options.extraApiServerArgs ?? []),
      ],
      apiLog,
    );
    children.push(apiServer);

    const caPem = tls.caPem;
    await waitFor(
      'kube-apiserver',
      async () => {
        const res = await httpsJson(server, caPem, tokens.admin, 'GET', '/readyz', {
          abortSignal: AbortSignal.timeout(5_000),
        });
        return res.status === 200;
      },
      apiServer,
      apiLog,
      startTimeoutMs,
      options.abortSignal,
    );

    const kubeconfigs = {} as Record<ClusterUser, string>;
    for (const u of Object.keys(clusterUsers) as ClusterUser[]) {
      kubeconfigs[u] = join(dir, `${u}.kubeconfig`);
      await writeFile(
        kubeconfigs[u],
        kubeconfigYaml(server, caPem, clusterUsers[u].name, tokens[u]),
        { mode: 0o600 },
      );
    }
    const versionRes = await httpsJson(server, caPem, tokens.admin, 'GET', '/version', {});
    const version = (versionRes.body as { gitVersion?: string }).gitVersion ?? 'unknown';

    const cluster: RealCluster = {
      server,
      caPem,
      etcdUrl,
      version,
      kubeconfigs,
      tokens,
      dir,
      request: (method, path, o = {}) =>
        httpsJson(server, caPem, tokens[o.as ?? 'admin'], method, path, o),
      compact: (abortSignal) => compactEtcd(etcdUrl, abortSignal),
      applyManifests: (files, abortSignal) => applyManifestFiles(cluster, files, abortSignal),
      stop,
    };
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function applyManifestFiles(
  cluster: RealCluster,
  files: readonly string[],
  abortSignal?: AbortSignal,
): Promise<void> {
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const obj = doc.toJS() as KubeObject | null;
      if (obj === null) continue;
      const path = await objectPath(cluster, obj, abortSignal);
      const res = await cluster.request(
        'PATCH',
        `${path}?fieldManager=pod-identity-conformance&force=true`,
        {
          body: JSON.stringify(obj),
          contentType: 'application/apply-patch+yaml',
          ...(abortSignal === undefined ? {} : { abortSignal }),
        },
      );
      if (res.status >= 300) {
        throw new Error(
          `applying ${obj.kind ?? ''} ${obj.metadata?.name ?? ''} from ${file}: HTTP ${res.status} ${JSON.stringify(res.body)}`,
        );
      }
      if (obj.kind === 'CustomResourceDefinition')
        await waitEstablished(cluster, path, abortSignal);
    }
  }
}

async function waitEstablished(
  cluster: RealCluster,
  path: string,
  abortSignal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await cluster.request(
      'GET',
      path,
      abortSignal === undefined ? {} : { abortSignal },
    );
    const conditions =
      (res.body as { status?: { conditions?: { type: string; status: string }[] } }).status
        ?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline)
      throw new Error(`${path} not Established after 30 s: ${JSON.stringify(conditions)}`);
    // The apiextensions controller sets Established asynchronously; it has no watchable event we can await here more simply.
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Compacts etcd through its v3 HTTP gateway so that every resourceVersion the API server has handed
 * out is gone: a watch or a `continue` from any of them answers 410 Gone / Expired, as after
 * kube-apiserver's own periodic compaction.
 *
 * It first writes a key outside kube-apiserver's `/registry/` prefix and compacts at that write's
 * revision. Compacting at the last object's revision instead would leave a watch from the revision
 * just before it half-valid: etcd accepts the start but can no longer supply the previous value of
 * the next event, and kube-apiserver answers 500 "etcd event received with PrevKv=nil" instead of 410.
 * Returns the revision compacted at.
 */
export async function compactEtcd(etcdUrl: string, abortSignal?: AbortSignal): Promise<number> {
  const post = async (path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(`${etcdUrl}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      ...(abortSignal === undefined ? {} : { signal: abortSignal }),
    });
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const put = (await post('/v3/kv/put', {
    key: b64('/pod-identity-conformance/compaction'),
    value: b64(new Date().toISOString()),
  })) as {
    header?: { revision?: string };
  };
  const revision = Number(put.header?.revision);
  if (!Number.isSafeInteger(revision) || revision < 1)
    throw new Error(`etcd returned no revision: ${JSON.stringify(put)}`);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

/** Every `*.yaml` file in a repository directory, sorted; empty when the directory does not exist. */
export async function manifestFiles(repoDir: string): Promise<string[]> {
  const dir = join(repoRoot, repoDir);
  try {
    return (await readdir(dir))
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** What {@link writeClusterState} records so other processes (vitest workers) can reach a cluster. */
interface ClusterState {
  readonly server: string;
  readonly caPem: string;
  readonly etcdUrl: string;
  readonly version: string;
  readonly kubeconfigs: Record<ClusterUser, string>;
  readonly tokens: Record<ClusterUser, string>;
  readonly dir: string;
}

/** Env var naming the state file of the cluster the conformance global setup started. */
export const clusterStateEnv = 'POD_IDENTITY_CONFORMANCE_CLUSTER';

/** Writes the state file that {@link connectRealCluster} reads, and returns its path. */
export async function writeClusterState(cluster: RealCluster): Promise<string> {
  const state: ClusterState = {
    server: cluster.server,
    caPem: cluster.caPem,
    etcdUrl: cluster.etcdUrl,
    version: cluster.version,
    kubeconfigs: { ...cluster.kubeconfigs },
    tokens: { ...cluster.tokens },
    dir: cluster.dir,
  };
  const file = join(cluster.dir, 'cluster.json');
  await writeFile(file, JSON.stringify(state), { mode: 0o600 });
  return file;
}

/**
 * The cluster the conformance global setup started (from env `POD_IDENTITY_CONFORMANCE_CLUSTER`).
 * Its `stop()` does nothing: the global setup owns the processes.
 */
export async function connectRealCluster(): Promise<RealCluster> {
  const file = process.env[clusterStateEnv];
  if (!file)
    throw new Error(`${clusterStateEnv} is not set: run this file with \`pnpm test:conformance\``);
  const state = JSON.parse(await readFile(file, 'utf8')) as ClusterState;
  const cluster: RealCluster = {
    ...state,
    request: (method, path, o = {}) =>
      httpsJson(state.server, state.caPem, state.tokens[o.as ?? 'admin'], method, path, o),
    compact: (abortSignal) => compactEtcd(state.etcdUrl, abortSignal),
    applyManifests: (files, abortSignal) => applyManifestFiles(cluster, files, abortSignal),
    stop: () => Promise.resolve(),
  };
  return cluster;
}

/**
 * Service accounts (in `kube-system`) that the chart creates for MIC and NMI, whose user names the
 * `mic` and `nmi` entries of {@link clusterUsers} authenticate as.
 */
export const serviceAccounts = {
  mic: { namespace: 'kube-system', name: 'pod-identity-mic' },
  nmi: { namespace: 'kube-system', name: 'pod-identity-nmi' },
} as const;

/**
 * Applies `deploy/rbac/*.yaml` (the ClusterRoles and Roles the project ships) and binds each one
 * labelled `app.kubernetes.io/component: mic|nmi` to that component's service account (a
 * ClusterRoleBinding, or a RoleBinding in the Role's namespace), the way the chart binds them, so the
 * `mic` and `nmi` users hold exactly the shipped rules.
 */
export async function bindShippedRbac(
  cluster: RealCluster,
  abortSignal?: AbortSignal,
): Promise<void> {
  const files = await manifestFiles('deploy/rbac');
  if (files.length === 0) throw new Error('deploy/rbac/ holds no RBAC manifests');
  await cluster.applyManifests(files, abortSignal);
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const role = doc.toJS() as
        (KubeObject & { metadata?: { labels?: Record<string, string> } }) | null;
      if (role?.kind !== 'ClusterRole' && role?.kind !== 'Role') continue;
      const component = role.metadata?.labels?.['app.kubernetes.io/component'];
      if (component !== 'mic' && component !== 'nmi')
        throw new Error(`${file}: ${role.kind} without app.kubernetes.io/component mic|nmi`);
      const name = role.metadata?.name ?? '';
      const namespace = role.kind === 'Role' ? (role.metadata?.namespace ?? 'default') : undefined;
      const binding = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: role.kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding',
        metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: role.kind, name },
        // A ServiceAccount subject, as the chart writes it; RBAC matches it to the user name
        // system:serviceaccount:<namespace>:<name> that the static token authenticates as.
        subjects: [{ kind: 'ServiceAccount', ...serviceAccounts[component] }],
      };
      const path =
        namespace === undefined
          ? `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`
          : `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/${name}`;
      const res = await cluster.request(
        'PATCH',
        `${path}?fieldManager=pod-identity-conformance&force=true`,
        {
          body: binding,
          contentType: 'application/apply-patch+yaml',
          ...(abortSignal === undefined ? {} : { abortSignal }),
        },
      );
      if (res.status >= 300)
        throw new Error(
          `binding ${role.kind} ${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`,
        );
    }
  }
}

/**
 * Lets unauthenticated clients read the service-account issuer's discovery document and keys (the
 * bootstrap ClusterRole `system:service-account-issuer-discovery` bound to `system:unauthenticated`),
 * as a cluster whose issuer an identity provider such as Entra trusts publishes them.
 */
export async function publishServiceAccountIssuer(
  cluster: RealCluster,
  abortSignal?: AbortSignal,
): Promise<void> {
  const res = await cluster.request(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    {
      body: {
        metadata: { name: 'service-account-issuer-discovery-unauthenticated' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'system:service-account-issuer-discovery',
        },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' },
        ],
      },
      ...(abortSignal === undefined ? {} : { abortSignal }),
    },
  );
  if (res.status !== 201 && res.status !== 409)
    throw new Error(
      `binding the issuer discovery role: HTTP ${String(res.status)} ${JSON.stringify(res.body)}`,
    );
}
