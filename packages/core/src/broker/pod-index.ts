import { normalizeIpAddress } from './normalize-ip-address.js';

/** The pod phases in which a pod owns its IP address. */
const LIVE_PHASES: ReadonlySet<string> = new Set(['Pending', 'Running']);

/** What the broker needs to know about a pod on its node. */
export interface PodRecord {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** `metadata.uid`; tells a re-created pod of the same name apart. */
  readonly uid?: string;
  /** `status.phase`: only `Pending` and `Running` pods own their IPs. */
  readonly phase: string;
  /** `status.podIPs` (or `status.podIP`), IPv4 and IPv6. */
  readonly podIPs: readonly string[];
  /** `spec.hostNetwork`: such pods share the node's IP and are never identified by it. */
  readonly hostNetwork?: boolean;
  /** Labels; `aadpodidbinding` and the exception labels are read from here. */
  readonly labels: Readonly<Record<string, string>>;
  /** `spec.serviceAccountName` (federated mode: whose token the pod's identity is exchanged for). */
  readonly serviceAccountName?: string;
}

/** The outcome of {@link PodIndex.lookup}. */
export type PodLookupResult =
  | { readonly kind: 'pod'; readonly pod: PodRecord }
  /** No live pod has this IP (unknown caller, a terminated pod, or the informer has not seen it yet). */
  | { readonly kind: 'unknown' }
  /** Two or more live pods claim this IP; nobody may be served on its behalf. */
  | { readonly kind: 'shared'; readonly pods: readonly PodRecord[] };

/** Whether a pod is in a phase in which it owns its IP address. */
export function isLivePod(pod: Pick<PodRecord, 'phase'>): boolean {
  return LIVE_PHASES.has(pod.phase);
}

const UNKNOWN: PodLookupResult = Object.freeze({ kind: 'unknown' });

/**
 * The node's pods indexed by IP address (IPv4 and IPv6), the broker's way to identify a caller by
 * its source address. Only live (`Pending`/`Running`), non-host-network pods are indexed, so a
 * terminated pod whose IP was handed to a new pod is never matched, and an IP that two live pods claim
 * (an IP reused before the old pod's record was updated) is reported as `shared`, never resolved to
 * either. Fed by an informer's add/update/delete events; lookups are one map read.
 */
export class PodIndex {
  readonly #byKey = new Map<string, PodRecord>();
  readonly #byIp = new Map<string, PodRecord | PodRecord[]>();
  readonly #listeners = new Set<() => void>();

  /** Number of pods held (live or not). */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Adds or replaces a pod (keyed by namespace and name).
   * @param pod - the pod's current record
   */
  upsert(pod: PodRecord): void {
    const key = `${pod.namespace}/${pod.name}`;
    const old = this.#byKey.get(key);
    if (old !== undefined) this.#unindex(old);
    this.#byKey.set(key, pod);
    this.#index(pod);
    this.#notify();
  }

  /**
   * Removes a pod.
   * @param namespace - its namespace
   * @param name - its name
   */
  remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.#byKey.get(key);
    if (old === undefined) return;
    this.#byKey.delete(key);
    this.#unindex(old);
    this.#notify();
  }

  /**
   * The pod by namespace and name, live or not.
   * @param namespace - its namespace
   * @param name - its name
   */
  get(namespace: string, name: string): PodRecord | undefined {
    return this.#byKey.get(`${namespace}/${name}`);
  }

  /**
   * The live pod that owns an address.
   * @param address - the caller's address as the socket reports it (`::ffff:` forms included)
   */
  lookup(address: string): PodLookupResult {
    let hit = this.#byIp.get(address);
    if (hit === undefined) {
      const normalized = normalizeIpAddress(address);
      if (normalized === undefined || normalized === address) return UNKNOWN;
      hit = this.#byIp.get(normalized);
      if (hit === undefined) return UNKNOWN;
    }
    return Array.isArray(hit) ? { kind: 'shared', pods: hit.slice() } : { kind: 'pod', pod: hit };
  }

  /**
   * Calls `listener` after every change; used to wait for a pod the informer has not delivered yet.
   * @returns the unsubscribe function
   */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Empties the index. */
  clear(): void {
    this.#byKey.clear();
    this.#byIp.clear();
    this.#notify();
  }

  #ips(pod: PodRecord): string[] {
    if (pod.hostNetwork === true || !isLivePod(pod)) return [];
    const out = new Set<string>();
    for (const ip of pod.podIPs) {
      const normalized = normalizeIpAddress(ip);
      if (normalized !== undefined) out.add(normalized);
    }
    return [...out];
  }

  #index(pod: PodRecord): void {
    for (const ip of this.#ips(pod)) {
      const existing = this.#byIp.get(ip);
      if (existing === undefined) this.#byIp.set(ip, pod);
      else if (Array.isArray(existing)) existing.push(pod);
      else this.#byIp.set(ip, [existing, pod]);
    }
  }

  #unindex(pod: PodRecord): void {
    for (const ip of this.#ips(pod)) {
      const existing = this.#byIp.get(ip);
      if (existing === undefined) continue;
      if (!Array.isArray(existing)) {
        if (existing === pod) this.#byIp.delete(ip);
        continue;
      }
      const rest = existing.filter((p) => p !== pod);
      const [only] = rest;
      if (only === undefined) this.#byIp.delete(ip);
      else if (rest.length === 1) this.#byIp.set(ip, only);
      else this.#byIp.set(ip, rest);
    }
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}
