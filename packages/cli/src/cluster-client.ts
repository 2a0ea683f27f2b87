import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  VersionApi,
  type CoreV1Event,
  type KubernetesObject,
  type V1ConfigMap,
  type V1DeleteOptions,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  CrdKinds,
  GROUP_VERSION,
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseAzurePodIdentityException,
  podIdentityCrds,
  serializePodIdentityObject,
  ValidationError,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type CrdKind,
  type CustomResourceDefinition,
} from '@pod-identity/core';
import { shareKubeConnections } from '@pod-identity/core/kubernetes';
import { CliError, ExitCode } from './cli-error.js';

/** Where to find the cluster: kubectl's `--kubeconfig` and `--context`. */
export interface KubeConfigSelection {
  /** Path of a kubeconfig file; else `KUBECONFIG`, else `~/.kube/config`, else in-cluster. */
  kubeconfig?: string;
  /** A context of that file other than its current one. */
  context?: string;
}

/**
 * Loads a kubeconfig the way kubectl chooses it.
 * @param selection - `--kubeconfig` and `--context`
 * @param env - the environment (`KUBECONFIG`, `HOME`, `KUBERNETES_SERVICE_HOST`)
 * @throws {@link CliError} when no kubeconfig is found or the context does not exist
 */
export function loadKubeConfig(
  selection: KubeConfigSelection,
  env: Readonly<Record<string, string | undefined>>,
): KubeConfig {
  const kubeConfig = new KubeConfig();
  const fromEnv = env.KUBECONFIG?.split(':').find((path) => path !== '' && existsSync(path));
  const home = env.HOME ?? homedir();
  const path =
    selection.kubeconfig ??
    fromEnv ??
    (existsSync(join(home, '.kube', 'config')) ? join(home, '.kube', 'config') : undefined);
  try {
    if (path !== undefined) kubeConfig.loadFromFile(path);
    else if (env.KUBERNETES_SERVICE_HOST !== undefined) kubeConfig.loadFromCluster();
    else {
      throw new CliError('no kubeconfig found', {
        hint: 'pass --kubeconfig <file>, set KUBECONFIG, or create ~/.kube/config',
      });
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read kubeconfig ${path ?? '(in-cluster)'}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (selection.context !== undefined) {
    if (!kubeConfig.getContexts().some((context) => context.name === selection.context)) {
      throw new CliError(
        `context ${JSON.stringify(selection.context)} not found in ${path ?? 'the kubeconfig'}`,
        {
          exitCode: ExitCode.Usage,
          hint: `contexts: ${
            kubeConfig
              .getContexts()
              .map((c) => c.name)
              .join(', ') || '(none)'
          }`,
        },
      );
    }
    kubeConfig.setCurrentContext(selection.context);
  }
  return kubeConfig;
}

/** The typed object of each pod-identity kind, as {@link ClusterClient} returns it. */
export interface PodIdentityObjectsByKind {
  AzureIdentity: AzureIdentity;
  AzureIdentityBinding: AzureIdentityBinding;
  AzureAssignedIdentity: AzureAssignedIdentity;
  AzurePodIdentityException: AzurePodIdentityException;
}

/**
 * client-node's generated models are classes, but it serialises any JSON-shaped object as is; this
 * is where a plain object becomes one of them.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the point is the cast
function wire<T>(value: object): T {
  return value as T;
}

/** An object addressed by apiVersion, kind, name and (for namespaced kinds) namespace. */
export function objectHeader(
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
): KubernetesObject & { metadata: { name: string } } {
  return {
    apiVersion,
    kind,
    metadata: wire<KubernetesObject['metadata'] & { name: string }>(
      namespace === undefined ? { name } : { name, namespace },
    ),
  };
}

/** The API header of an object (what the generic client addresses it by), namespace defaulted. */
function headerOf(object: KubernetesObject): KubernetesObject & { metadata: { name: string } } {
  return objectHeader(
    object.apiVersion ?? '',
    object.kind ?? '',
    object.metadata?.name ?? '',
    object.metadata?.namespace ?? 'default',
  );
}

/** A copy of a manifest object with some metadata fields replaced (plain data, no class prototype). */
function withMetadata(
  object: KubernetesObject,
  metadata: Record<string, unknown>,
): KubernetesObject {
  const plain = JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
  return wire<KubernetesObject>({
    ...plain,
    metadata: { ...(plain.metadata as Record<string, unknown> | undefined), ...metadata },
  });
}

/** An object of a pod-identity kind that does not parse: which one, and why. */
export interface UnreadableObject {
  kind: CrdKind;
  namespace: string;
  name: string;
  /** The parser's reason, naming the field (`spec.azureIdentity: is required`). */
  problem: string;
  /** The object as the API server sent it. */
  raw: unknown;
}

/** What {@link ClusterClient.listAll} returns: the objects that parse and the ones that do not. */
export interface ListedObjects<T> {
  items: T[];
  unreadable: UnreadableObject[];
}

const parsers: { [K in CrdKind]: (input: unknown) => PodIdentityObjectsByKind[K] } = {
  AzureIdentity: parseAzureIdentity,
  AzureIdentityBinding: parseAzureIdentityBinding,
  AzureAssignedIdentity: parseAzureAssignedIdentity,
  AzurePodIdentityException: parseAzurePodIdentityException,
};

// CRDs go through the untyped custom-objects client: client-node's typed apiextensions models would
// drop the schema's `x-kubernetes-*` keys, which are not spelled as their TypeScript property names.
const CRD_RESOURCE = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
} as const;

/** The settings `pod-identity enable` records in the cluster, read back by the other commands. */
export interface ClusterSettings {
  /** How NMI authorises: `standard` (MIC assigns) or `managed` (the CLI assigns). */
  mode: 'standard' | 'managed';
  /**
   * The record's `app.kubernetes.io/managed-by` label: `Helm` when the chart wrote it (its
   * `operationMode`, which also sets MIC's and NMI's flags), `pod-identity-cli` when `enable` did.
   */
  managedBy?: string;
}

/** Namespace and ConfigMap holding {@link ClusterSettings}. */
export const SETTINGS_NAMESPACE = 'kube-system';
/** Name of the ConfigMap holding {@link ClusterSettings}. */
export const SETTINGS_CONFIG_MAP = 'pod-identity-settings';

/**
 * Annotation `pod-identity enable` puts on each object it creates (never on one it only updates), with
 * the value {@link CREATED_BY_ENABLE}: `pod-identity disable` deletes an object only when it carries it
 * (or with `--delete-unowned`), so objects someone else installed (Helm, kubectl) are not taken.
 */
export const CREATED_BY_ANNOTATION = 'aadpodidentity.k8s.io/created-by';
/** Value of {@link CREATED_BY_ANNOTATION} on the objects `pod-identity enable` created. */
export const CREATED_BY_ENABLE = 'pod-identity-enable';

/** Whether `pod-identity enable` created this object (it carries {@link CREATED_BY_ANNOTATION}). */
export function createdByEnable(object: KubernetesObject): boolean {
  return object.metadata?.annotations?.[CREATED_BY_ANNOTATION] === CREATED_BY_ENABLE;
}

/**
 * How the CLI names an object in its output: `Kind namespace/name`, or `Kind name` when the object has
 * no namespace (cluster-scoped kinds).
 */
export function objectLabel(object: KubernetesObject): string {
  const name = object.metadata?.name ?? '?';
  const namespace = object.metadata?.namespace;
  return `${object.kind ?? '?'} ${namespace === undefined || namespace === '' ? name : `${namespace}/${name}`}`;
}

/**
 * The Kubernetes calls the CLI makes, on `@kubernetes/client-node`: the four pod-identity custom
 * resources (parsed with core's parsers), pods, nodes, CRDs and the settings ConfigMap. API errors
 * become {@link CliError}s that quote the API server's message.
 */
export class ClusterClient {
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #crdObjects: CustomObjectsApi;
  readonly #objects: KubernetesObjectApi;
  readonly #version: VersionApi;
  readonly #server: string;
  readonly #definitions: () => CustomResourceDefinition[];

  /**
   * @param kubeConfig - a loaded kubeconfig, see {@link loadKubeConfig}
   * @param options - `crds`: the definitions {@link ClusterClient.installCrds} installs (default core's)
   */
  constructor(kubeConfig: KubeConfig, options: { crds?: () => CustomResourceDefinition[] } = {}) {
    this.#definitions = options.crds ?? podIdentityCrds;
    // A command makes several calls (list, get, create, wait): one keep-alive pool serves them all.
    shareKubeConnections(kubeConfig);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#crdObjects = this.#custom;
    this.#objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.#version = kubeConfig.makeApiClient(VersionApi);
    this.#server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  }

  /**
   * Lists objects of a pod-identity kind, in one namespace or (namespace undefined) all: those that
   * parse, and those that do not with the reason. One malformed object (a pre-1.6 manifest, a record
   * of an old MIC) never hides the others.
   */
  async listAll<K extends CrdKind>(
    kind: K,
    namespace?: string,
  ): Promise<ListedObjects<PodIdentityObjectsByKind[K]>> {
    const { plural } = CrdKinds[kind];
    const list = (await this.#call(`list ${plural}`, () =>
      namespace === undefined
        ? this.#custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural })
        : this.#custom.listNamespacedCustomObject({
            group: API_GROUP,
            version: API_VERSION,
            namespace,
            plural,
          }),
    )) as { items?: unknown[] };
    const listed: ListedObjects<PodIdentityObjectsByKind[K]> = { items: [], unreadable: [] };
    for (const item of list.items ?? []) {
      try {
        listed.items.push(parsers[kind]({ apiVersion: GROUP_VERSION, kind, ...(item as object) }));
      } catch (error) {
        if (!ValidationError.is(error)) throw error;
        const metadata = (item as { metadata?: { namespace?: unknown; name?: unknown } }).metadata;
        listed.unreadable.push({
          kind,
          namespace: typeof metadata?.namespace === 'string' ? metadata.namespace : '',
          name: typeof metadata?.name === 'string' ? metadata.name : '?',
          problem: error.message,
          raw: item,
        });
      }
    }
    return listed;
  }

  /**
   * The objects of a kind that parse ({@link ClusterClient.listAll} without the others), for
   * commands that only act on well-formed objects.
   */
  async list<K extends CrdKind>(
    kind: K,
    namespace?: string,
  ): Promise<PodIdentityObjectsByKind[K][]> {
    return (await this.listAll(kind, namespace)).items;
  }

  /** Reads one object, or `undefined` when it does not exist. */
  async get<K extends CrdKind>(
    kind: K,
    namespace: string,
    name: string,
  ): Promise<PodIdentityObjectsByKind[K] | undefined> {
    const { plural } = CrdKinds[kind];
    const object: unknown = await this.#call(
      `get ${CrdKinds[kind].singular} ${namespace}/${name}`,
      () =>
        this.#custom.getNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural,
          name,
        }),
      { notFound: true },
    );
    return object === undefined ? undefined : parsers[kind](object);
  }

  /**
   * Parses an object of a kind with core's parser (a missing `apiVersion` or `kind` filled in).
   * @throws ValidationError naming the field at fault
   */
  parse<K extends CrdKind>(kind: K, object: unknown): PodIdentityObjectsByKind[K] {
    return parsers[kind]({ apiVersion: GROUP_VERSION, kind, ...(object as object) });
  }

  /**
   * Replaces an object with a wire object as given (its `metadata.resourceVersion` makes the write
   * conditional); unlike {@link ClusterClient.replace}, every field the caller kept is sent, metadata
   * the parsers do not model (owner references, managed fields) included.
   */
  async replaceRaw(kind: CrdKind, namespace: string, name: string, body: object): Promise<void> {
    const { plural, singular } = CrdKinds[kind];
    await this.#call(`update ${singular} ${namespace}/${name}`, () =>
      this.#custom.replaceNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural,
        name,
        body,
      }),
    );
  }

  /** Creates an object (serialised with core's wire serialiser). */
  async create<T extends PodIdentityObjectsByKind[CrdKind]>(object: T): Promise<T> {
    return this.#write('create', object, (target) =>
      this.#custom.createNamespacedCustomObject(target),
    );
  }

  /** Replaces an object; its `metadata.resourceVersion` guards against concurrent changes. */
  async replace<T extends PodIdentityObjectsByKind[CrdKind]>(object: T): Promise<T> {
    return this.#write('update', object, (target) =>
      this.#custom.replaceNamespacedCustomObject({ ...target, name: object.metadata.name }),
    );
  }

  // Create and replace differ only in the call: both address the object's kind and namespace, send it
  // in wire form and parse what the server answers.
  async #write<T extends PodIdentityObjectsByKind[CrdKind]>(
    verb: string,
    object: T,
    send: (target: {
      group: string;
      version: string;
      namespace: string;
      plural: string;
      body: object;
    }) => Promise<unknown>,
  ): Promise<T> {
    const { plural, singular } = CrdKinds[object.kind];
    const namespace = object.metadata.namespace ?? 'default';
    const written: unknown = await this.#call(
      `${verb} ${singular} ${namespace}/${object.metadata.name}`,
      () =>
        send({
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural,
          body: serializePodIdentityObject(object),
        }),
    );
    return parsers[object.kind](written) as T;
  }

  /** Deletes an object; `false` when it did not exist. */
  async delete(kind: CrdKind, namespace: string, name: string): Promise<boolean> {
    const { plural, singular } = CrdKinds[kind];
    const result: unknown = await this.#call(
      `delete ${singular} ${namespace}/${name}`,
      () =>
        this.#custom.deleteNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural,
          name,
        }),
      { notFound: true },
    );
    return result !== undefined;
  }

  /** Reads a pod, or `undefined`. */
  getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.#call(
      `get pod ${namespace}/${name}`,
      () => this.#core.readNamespacedPod({ namespace, name }),
      { notFound: true },
    );
  }

  /** Reads a node, or `undefined`. */
  getNode(name: string): Promise<V1Node | undefined> {
    return this.#call(`get node ${name}`, () => this.#core.readNode({ name }), { notFound: true });
  }

  /** Lists the events of a namespace (MIC's and NMI's warnings about pods and records). */
  async listEvents(namespace: string): Promise<CoreV1Event[]> {
    return (
      await this.#call(`list events in ${namespace}`, () =>
        this.#core.listNamespacedEvent({ namespace }),
      )
    ).items;
  }

  /** Lists every node. */
  async listNodes(): Promise<V1Node[]> {
    return (await this.#call('list nodes', () => this.#core.listNode())).items;
  }

  /** Reads the settings `enable` recorded, or `undefined` when pod identity was never enabled here. */
  async getSettings(): Promise<ClusterSettings | undefined> {
    const configMap = await this.#call(
      `get configmap ${SETTINGS_NAMESPACE}/${SETTINGS_CONFIG_MAP}`,
      () =>
        this.#core.readNamespacedConfigMap({
          namespace: SETTINGS_NAMESPACE,
          name: SETTINGS_CONFIG_MAP,
        }),
      { notFound: true },
    );
    if (configMap === undefined) return undefined;
    const managedBy = configMap.metadata?.labels?.['app.kubernetes.io/managed-by'];
    return {
      mode: configMap.data?.mode === 'managed' ? 'managed' : 'standard',
      ...(managedBy === undefined ? {} : { managedBy }),
    };
  }

  /** Records settings (creates or replaces the ConfigMap). */
  async putSettings(settings: ClusterSettings): Promise<void> {
    const body = (resourceVersion?: string): V1ConfigMap =>
      wire<V1ConfigMap>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: SETTINGS_CONFIG_MAP,
          namespace: SETTINGS_NAMESPACE,
          labels: { 'app.kubernetes.io/managed-by': 'pod-identity-cli' },
          // The settings are the CLI's own record, whoever wrote them first.
          annotations: { [CREATED_BY_ANNOTATION]: CREATED_BY_ENABLE },
          ...(resourceVersion === undefined ? {} : { resourceVersion }),
        },
        data: { mode: settings.mode },
      });
    const existing = await this.#call(
      `get configmap ${SETTINGS_NAMESPACE}/${SETTINGS_CONFIG_MAP}`,
      () =>
        this.#core.readNamespacedConfigMap({
          namespace: SETTINGS_NAMESPACE,
          name: SETTINGS_CONFIG_MAP,
        }),
      { notFound: true },
    );
    await this.#call(`write configmap ${SETTINGS_NAMESPACE}/${SETTINGS_CONFIG_MAP}`, () =>
      existing === undefined
        ? this.#core.createNamespacedConfigMap({ namespace: SETTINGS_NAMESPACE, body: body() })
        : this.#core.replaceNamespacedConfigMap({
            namespace: SETTINGS_NAMESPACE,
            name: SETTINGS_CONFIG_MAP,
            body: body(existing.metadata?.resourceVersion ?? ''),
          }),
    );
  }

  /** Deletes the settings ConfigMap; `false` when absent. */
  async deleteSettings(): Promise<boolean> {
    const result = await this.#call(
      `delete configmap ${SETTINGS_NAMESPACE}/${SETTINGS_CONFIG_MAP}`,
      () =>
        this.#core.deleteNamespacedConfigMap({
          namespace: SETTINGS_NAMESPACE,
          name: SETTINGS_CONFIG_MAP,
        }),
      { notFound: true },
    );
    return result !== undefined;
  }

  /** Creates core's four CRDs, or replaces them when present. Returns `created` or `updated` for each. */
  async installCrds(): Promise<{ name: string; action: 'created' | 'updated' }[]> {
    const results: { name: string; action: 'created' | 'updated' }[] = [];
    for (const definition of this.#definitions()) {
      const name = definition.metadata.name;
      const existing = (await this.#call(
        `get crd ${name}`,
        () => this.#crdObjects.getClusterCustomObject({ ...CRD_RESOURCE, name }),
        {
          notFound: true,
        },
      )) as { metadata?: { resourceVersion?: string } } | undefined;
      if (existing === undefined) {
        await this.#call(`create crd ${name}`, () =>
          this.#crdObjects.createClusterCustomObject({ ...CRD_RESOURCE, body: definition }),
        );
        results.push({ name, action: 'created' });
      } else {
        const body = {
          ...definition,
          metadata: {
            ...definition.metadata,
            resourceVersion: existing.metadata?.resourceVersion ?? '',
          },
        };
        await this.#call(`update crd ${name}`, () =>
          this.#crdObjects.replaceClusterCustomObject({ ...CRD_RESOURCE, name, body }),
        );
        results.push({ name, action: 'updated' });
      }
    }
    return results;
  }

  /** Deletes core's four CRDs (and with them every pod-identity object). Returns the names deleted. */
  async deleteCrds(): Promise<string[]> {
    const deleted: string[] = [];
    for (const definition of podIdentityCrds()) {
      const name = definition.metadata.name;
      const result: unknown = await this.#call(
        `delete crd ${name}`,
        () => this.#crdObjects.deleteClusterCustomObject({ ...CRD_RESOURCE, name }),
        { notFound: true },
      );
      if (result !== undefined) deleted.push(name);
    }
    return deleted;
  }

  /**
   * Creates or updates arbitrary manifest objects (kubectl apply without the merge), e.g. NMI's
   * DaemonSet. An object it creates gets {@link CREATED_BY_ANNOTATION}; an object that already exists
   * keeps that annotation if it had it and does not gain it.
   */
  async applyObjects(objects: KubernetesObject[]): Promise<string[]> {
    const applied: string[] = [];
    for (const object of objects) {
      const label = objectLabel(object);
      const existing = await this.readObject(object);
      const annotations = Object.fromEntries(
        Object.entries(object.metadata?.annotations ?? {}).filter(
          ([key]) => key !== CREATED_BY_ANNOTATION,
        ),
      );
      if (existing === undefined) {
        annotations[CREATED_BY_ANNOTATION] = CREATED_BY_ENABLE;
        await this.#call(`create ${label}`, () =>
          this.#objects.create(withMetadata(object, { annotations })),
        );
      } else {
        if (createdByEnable(existing)) annotations[CREATED_BY_ANNOTATION] = CREATED_BY_ENABLE;
        await this.#call(`update ${label}`, () =>
          this.#objects.replace(
            withMetadata(object, {
              annotations,
              resourceVersion: existing.metadata?.resourceVersion ?? '',
            }),
          ),
        );
      }
      applied.push(label);
    }
    return applied;
  }

  /**
   * Reads any object by its apiVersion, kind, namespace (default `default`) and name; `undefined` when
   * it does not exist, or when its kind is not served (a custom resource whose CRD is gone).
   */
  async readObject(object: KubernetesObject): Promise<KubernetesObject | undefined> {
    try {
      return await this.#call(
        `get ${objectLabel(object)}`,
        () => this.#objects.read(headerOf(object)),
        { notFound: true },
      );
    } catch (error) {
      // The generic client looks the kind up in the API's discovery first and throws a plain Error
      // when the kind is not served, which for a custom resource means its CRD is not installed.
      if (error instanceof CliError && error.message.includes('Unrecognized API version and kind'))
        return undefined;
      throw error;
    }
  }

  /** Lists objects of any served kind in every namespace (e.g. `apps/v1` `DaemonSet`). */
  async listObjects(apiVersion: string, kind: string): Promise<KubernetesObject[]> {
    return (await this.#call(`list ${kind}`, () => this.#objects.list(apiVersion, kind))).items;
  }

  /** The API server's version (`/version`'s `gitVersion`, e.g. `v1.33.0`). */
  async serverVersion(): Promise<string> {
    return (await this.#call('get /version', () => this.#version.getCode())).gitVersion;
  }

  /**
   * Deletes objects; returns the labels of those that existed. An object read from the cluster (it
   * has `metadata.uid`) is deleted only while it is still that object: one deleted and created again
   * by someone else in the meantime is left alone (HTTP 409).
   */
  async deleteObjects(objects: KubernetesObject[]): Promise<string[]> {
    const deleted: string[] = [];
    for (const object of objects) {
      const label = objectLabel(object);
      const uid = object.metadata?.uid;
      const result = await this.#call(
        `delete ${label}`,
        () =>
          this.#objects.delete(
            headerOf(object),
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            uid === undefined ? undefined : wire<V1DeleteOptions>({ preconditions: { uid } }),
          ),
        { notFound: true },
      );
      if (result !== undefined) deleted.push(label);
    }
    return deleted;
  }

  async #call<T>(
    what: string,
    call: () => Promise<T>,
    options: { notFound: true },
  ): Promise<T | undefined>;
  async #call<T>(what: string, call: () => Promise<T>): Promise<T>;
  async #call<T>(
    what: string,
    call: () => Promise<T>,
    options?: { notFound: true },
  ): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ApiException) {
        const status = error.code;
        if (status === 404 && options?.notFound === true) return undefined;
        throw new CliError(`${what}: ${apiMessage(error)} (HTTP ${status})`, {
          cause: error,
          ...(status === 404 &&
          /the server could not find the requested resource|404 page not found/i.test(
            apiMessage(error),
          )
            ? { hint: 'are the pod-identity CRDs installed? run `pod-identity enable`' }
            : {}),
          ...(status === 401 || status === 403
            ? { hint: 'check the credentials and RBAC of the kubeconfig context' }
            : {}),
        });
      }
      const code =
        (error as NodeJS.ErrnoException).code ??
        (error as { cause?: NodeJS.ErrnoException }).cause?.code;
      throw new CliError(
        `${what}: cannot reach the Kubernetes API at ${this.#server}: ${code ?? (error as Error).message}`,
        {
          cause: error,
          hint: 'check --kubeconfig and --context',
        },
      );
    }
  }
}

/** The message of a Kubernetes `Status` body, or the exception's own text. */
function apiMessage(error: ApiException<unknown>): string {
  const body: unknown = typeof error.body === 'string' ? safeJson(error.body) : error.body;
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  ) {
    return (body as { message: string }).message;
  }
  return typeof error.body === 'string' && error.body !== '' ? error.body : error.message;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
