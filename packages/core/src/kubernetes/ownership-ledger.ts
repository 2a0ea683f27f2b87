import { createHash } from 'node:crypto';
import type { IdentityTarget } from '../planner/identity-target.js';
import type { IdentityRef, OwnedIdentity } from '../planner/plan-identity-deltas.js';
import type { KubernetesWireObject } from './informer.js';
import type { KubeConnection } from './kube-connection.js';
import { kubeHttpClientFor } from './kube-http-client.js';
import { toKubernetesApiError } from './kubernetes-api-error.js';

/** Label on every ledger ConfigMap. */
export const OWNERSHIP_LEDGER_LABEL = 'aadpodidentity.k8s.io/mic-ownership-ledger';
/** Annotation holding the target's key (its lower-cased ARM resource ID) on a ledger ConfigMap. */
export const OWNERSHIP_LEDGER_TARGET_ANNOTATION = 'aadpodidentity.k8s.io/target';
const DATA_KEY = 'identities.json';

/**
 * What MIC added to each scale set or VM, persisted so that it survives restarts and leader changes.
 * Only identities recorded here are ever removed: an identity a user assigned by hand is never in it.
 */
export interface OwnershipLedger {
  /** Reads every target's record from the API server into memory. Call when becoming leader. */
  load(options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** The in-memory view: target key → lower-cased resource ID → identity. */
  snapshot(): ReadonlyMap<string, ReadonlyMap<string, OwnedIdentity>>;
  /** Records identities about to be added (call before the PATCH: write-ahead). */
  add(target: IdentityTarget, identities: readonly IdentityRef[]): Promise<void>;
  /** Forgets identities that were removed (or found gone). */
  remove(target: IdentityTarget, identities: readonly IdentityRef[]): Promise<void>;
}

/** Options of {@link createConfigMapOwnershipLedger}. */
export interface ConfigMapOwnershipLedgerOptions {
  /** API server connection: a client-node `KubeConfig` or a lean `KubeConnection`. */
  kubeConfig: KubeConnection;
  /** Namespace of the ledger ConfigMaps: MIC's own (`MIC_POD_NAMESPACE`). */
  namespace: string;
  /** Prefix of the ConfigMap names. Default `aad-pod-identity-mic-owned`. */
  namePrefix?: string;
}

/**
 * Name of a target's ledger ConfigMap: the prefix and a hash of the target key (ARM IDs do not fit
 * ConfigMap names).
 * @param prefix - name prefix
 * @param targetKey - `IdentityTarget.key`
 */
export function ledgerConfigMapName(prefix: string, targetKey: string): string {
  return `${prefix}-${createHash('sha256').update(targetKey).digest('hex').slice(0, 20)}`;
}

/** A ConfigMap as far as the ledger reads and writes it (wire JSON). */
interface WireConfigMap extends KubernetesWireObject {
  metadata?: KubernetesWireObject['metadata'] & {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
}

function decode(configMap: WireConfigMap): Map<string, OwnedIdentity> {
  const out = new Map<string, OwnedIdentity>();
  const raw = configMap.data?.[DATA_KEY];
  if (raw === undefined) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return out;
  }
  if (!Array.isArray(parsed)) return out;
  for (const entry of parsed as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { resourceId, clientId } = entry as { resourceId?: unknown; clientId?: unknown };
    if (typeof resourceId !== 'string' || resourceId === '') continue;
    out.set(resourceId.toLowerCase(), {
      resourceId,
      clientId: typeof clientId === 'string' ? clientId : '',
    });
  }
  return out;
}

function encode(identities: ReadonlyMap<string, OwnedIdentity>): string {
  return JSON.stringify(
    [...identities.values()].sort((a, b) => (a.resourceId < b.resourceId ? -1 : 1)),
  );
}

/**
 * An {@link OwnershipLedger} in ConfigMaps, one per target, in MIC's namespace. One per target means
 * each target's lane writes only its own object, so lanes never conflict; resourceVersion
 * preconditions catch a previous leader still writing.
 *
 * @param options - connection, namespace, name prefix
 * @returns the ledger
 */
export function createConfigMapOwnershipLedger(
  options: ConfigMapOwnershipLedgerOptions,
): OwnershipLedger {
  const client = kubeHttpClientFor(options.kubeConfig);
  const namespace = options.namespace;
  const configMapsPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  const prefix = options.namePrefix ?? 'aad-pod-identity-mic-owned';
  const owned = new Map<string, Map<string, OwnedIdentity>>();
  const lastSeen = new Map<string, WireConfigMap>();

  const update = async (
    target: IdentityTarget,
    change: (current: Map<string, OwnedIdentity>) => boolean,
  ): Promise<void> => {
    const name = ledgerConfigMapName(prefix, target.key);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      // The ConfigMap as this ledger last read or wrote it: its resourceVersion makes the write
      // conditional, so the read can be skipped (one request instead of two before a PATCH to ARM);
      // a conflict (another leader wrote meanwhile) reads afresh below.
      let existing = attempt === 0 ? lastSeen.get(name) : undefined;
      if (existing === undefined) {
        try {
          existing = await client.request<WireConfigMap>(
            'GET',
            `${configMapsPath}/${encodeURIComponent(name)}`,
          );
        } catch (error) {
          const wrapped = toKubernetesApiError(error, `read configmap ${namespace}/${name}`);
          if (wrapped.statusCode !== 404) throw wrapped;
        }
      }
      const current = existing === undefined ? new Map<string, OwnedIdentity>() : decode(existing);
      if (!change(current)) {
        owned.set(target.key, current);
        return;
      }
      const body: WireConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          ...(existing?.metadata ?? {}),
          name,
          namespace,
          labels: { ...(existing?.metadata?.labels ?? {}), [OWNERSHIP_LEDGER_LABEL]: 'true' },
          annotations: {
            ...(existing?.metadata?.annotations ?? {}),
            [OWNERSHIP_LEDGER_TARGET_ANNOTATION]: target.key,
          },
        },
        data: { [DATA_KEY]: encode(current) },
      };
      try {
        const written =
          existing === undefined
            ? await client.request<WireConfigMap>('POST', configMapsPath, { body })
            : await client.request<WireConfigMap>(
                'PUT',
                `${configMapsPath}/${encodeURIComponent(name)}`,
                { body },
              );
        lastSeen.set(name, written);
        owned.set(target.key, current);
        return;
      } catch (error) {
        lastSeen.delete(name);
        const wrapped = toKubernetesApiError(error, `write configmap ${namespace}/${name}`);
        // 409: someone else wrote meanwhile (a previous leader); 404: deleted since last seen.
        // Either way: read again and redo the change.
        if (wrapped.statusCode !== 409 && !(wrapped.statusCode === 404 && existing !== undefined))
          throw wrapped;
      }
    }
    throw toKubernetesApiError(
      new Error('too many conflicts'),
      `write configmap ${namespace}/${name}`,
    );
  };

  return {
    async load() {
      try {
        const list = await client.request<{ items?: WireConfigMap[] }>('GET', configMapsPath, {
          query: { labelSelector: OWNERSHIP_LEDGER_LABEL },
        });
        owned.clear();
        lastSeen.clear();
        for (const configMap of list.items ?? []) {
          const key = configMap.metadata?.annotations?.[OWNERSHIP_LEDGER_TARGET_ANNOTATION];
          if (key === undefined || key === '') continue;
          owned.set(key, decode(configMap));
          if (configMap.metadata?.name !== undefined)
            lastSeen.set(configMap.metadata.name, configMap);
        }
      } catch (error) {
        throw toKubernetesApiError(
          error,
          `list configmaps ${namespace} -l ${OWNERSHIP_LEDGER_LABEL}`,
        );
      }
    },
    snapshot: () => owned,
    add: (target, identities) =>
      identities.length === 0
        ? Promise.resolve()
        : update(target, (current) => {
            let changed = false;
            for (const ref of identities) {
              if (current.has(ref.key)) continue;
              current.set(ref.key, { resourceId: ref.resourceId, clientId: ref.clientId });
              changed = true;
            }
            return changed;
          }),
    remove: (target, identities) =>
      identities.length === 0
        ? Promise.resolve()
        : update(target, (current) => {
            let changed = false;
            for (const ref of identities) changed = current.delete(ref.key) || changed;
            return changed;
          }),
  };
}

/**
 * An in-memory {@link OwnershipLedger}, for tests and for embedding where persistence is handled
 * elsewhere. It does not survive a restart.
 * @returns the ledger
 */
export function createMemoryOwnershipLedger(): OwnershipLedger {
  const owned = new Map<string, Map<string, OwnedIdentity>>();
  return {
    load: () => Promise.resolve(),
    snapshot: () => owned,
    add(target, identities) {
      let map = owned.get(target.key);
      if (map === undefined) {
        map = new Map();
        owned.set(target.key, map);
      }
      for (const ref of identities)
        map.set(ref.key, { resourceId: ref.resourceId, clientId: ref.clientId });
      return Promise.resolve();
    },
    remove(target, identities) {
      const map = owned.get(target.key);
      for (const ref of identities) map?.delete(ref.key);
      return Promise.resolve();
    },
  };
}
