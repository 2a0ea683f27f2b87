import {
  API_GROUP,
  API_VERSION,
  CrdKinds,
  safeParseAzureIdentity,
  safeParseAzureIdentityBinding,
  safeParseAzurePodIdentityException,
  type AuthorizationView,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type ParseResult,
  type PodRecord,
} from '@pod-identity/core';
import {
  kubeHttpClientFor,
  type KubeConnection,
  type KubernetesWireObject,
} from '@pod-identity/core/kubernetes';
import { projectPod } from './informer-cluster-state.js';

/** A pod and the objects a decision about it reads, as the API server has them now. */
export interface FreshAuthorizationView {
  /** The pod; `undefined` when the API server no longer has it. */
  readonly pod: PodRecord | undefined;
  /** The view to decide from: exceptions, bindings and identities read just now. */
  readonly view: AuthorizationView;
}

/** Reads a {@link FreshAuthorizationView} of one pod. */
export type FreshViewReader = (
  pod: { readonly namespace: string; readonly name: string },
  abortSignal: AbortSignal,
) => Promise<FreshAuthorizationView>;

/**
 * How many GETs one fresh read makes: the pod, then its namespace's exceptions, the bindings and the
 * identities (namespace or cluster-wide, as the mode decides).
 */
export const FRESH_VIEW_READS = 4;

/**
 * A reader of the objects behind a decision straight from the API server, not from NMI's informer
 * caches: the pod, the exceptions of its namespace, and the bindings and identities of its namespace
 * (managed mode, or `--forceNamespaced`) or of every namespace (standard mode, where a binding
 * anywhere may select the pod). Assigned identities come from the cached view: a record the cache
 * lacks can only make a fresh decision look more in flight, never serve a token, since the fresh
 * view only ever confirms or withdraws a refusal.
 * @param connection - the API server connection
 * @param cached - the informer view (mode, namespacing, exception rule, assigned identities)
 */
export function createFreshViewReader(
  connection: KubeConnection,
  cached: AuthorizationView,
): FreshViewReader {
  const client = kubeHttpClientFor(connection);
  const clusterWide = cached.mode === 'standard' && cached.forceNamespaced !== true;
  const list = async <T>(
    plural: string,
    namespace: string | undefined,
    parse: (raw: unknown) => ParseResult<T>,
    abortSignal: AbortSignal,
  ): Promise<T[]> => {
    const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
    const answer = await client.request<{ items?: unknown[] | null }>(
      'GET',
      `/apis/${API_GROUP}/${API_VERSION}${scope}/${plural}`,
      { abortSignal },
    );
    // As the informers do: an object that does not parse is left out of every decision.
    const items: T[] = [];
    for (const raw of answer.items ?? []) {
      const parsed = parse(raw);
      if (parsed.ok) items.push(parsed.value);
    }
    return items;
  };
  return async (target, abortSignal) => {
    const scope = clusterWide ? undefined : target.namespace;
    const [pod, exceptions, bindings, identities] = await Promise.all([
      readPod(client, target, abortSignal),
      list<AzurePodIdentityException>(
        CrdKinds.AzurePodIdentityException.plural,
        target.namespace,
        safeParseAzurePodIdentityException,
        abortSignal,
      ),
      list<AzureIdentityBinding>(
        CrdKinds.AzureIdentityBinding.plural,
        scope,
        safeParseAzureIdentityBinding,
        abortSignal,
      ),
      list<AzureIdentity>(
        CrdKinds.AzureIdentity.plural,
        scope,
        safeParseAzureIdentity,
        abortSignal,
      ),
    ]);
    return { pod, view: listedView(cached, exceptions, bindings, identities) };
  };
}

// A list with a name field selector, not a GET: NMI's role may list pods, not get them.
async function readPod(
  client: ReturnType<typeof kubeHttpClientFor>,
  target: { readonly namespace: string; readonly name: string },
  abortSignal: AbortSignal,
): Promise<PodRecord | undefined> {
  const answer = await client.request<{ items?: KubernetesWireObject[] | null }>(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods`,
    { query: { fieldSelector: `metadata.name=${target.name}` }, abortSignal },
  );
  const raw = (answer.items ?? []).find((item) => item.metadata?.name === target.name);
  return raw === undefined ? undefined : projectPod(raw);
}

// The lookups of AuthorizationView over lists read at one moment.
function listedView(
  cached: AuthorizationView,
  exceptions: readonly AzurePodIdentityException[],
  bindings: readonly AzureIdentityBinding[],
  identities: readonly AzureIdentity[],
): AuthorizationView {
  const inNamespace =
    <T extends { metadata: { namespace?: string } }>(items: readonly T[]) =>
    (namespace: string): T[] =>
      items.filter((item) => (item.metadata.namespace ?? '') === namespace);
  return {
    mode: cached.mode,
    ...(cached.forceNamespaced === undefined ? {} : { forceNamespaced: cached.forceNamespaced }),
    ...(cached.exceptionMatch === undefined ? {} : { exceptionMatch: cached.exceptionMatch }),
    exceptions: inNamespace(exceptions),
    assignedIdentities: (podNamespace, podName) => cached.assignedIdentities(podNamespace, podName),
    bindings: inNamespace(bindings),
    bindingsSelecting: (selector) =>
      bindings.filter((binding) => binding.spec.selector === selector),
    identities: inNamespace(identities),
  };
}
