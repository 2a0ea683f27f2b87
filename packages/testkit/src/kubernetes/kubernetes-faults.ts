import { reasonFor, statusObject } from './api-status-error.js';
import type { JsonObject } from './json.js';

/** The Kubernetes API verbs a request maps to, as in RBAC. */
export type KubernetesVerb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** Which requests a fault applies to; every given field must match, absent fields match all. */
export interface KubernetesRequestMatcher {
  /** One verb or several. */
  readonly verb?: KubernetesVerb | readonly KubernetesVerb[];
  /**
   * Resource plural, with `/status` for the subresource (`pods` matches only the main resource,
   * `pods/status` only the subresource).
   */
  readonly resource?: string;
  /** API group (`''` for core). */
  readonly group?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** A rule that fails matching requests with a `Status` error. */
export interface KubernetesFailureRule extends KubernetesRequestMatcher {
  /** HTTP status code to answer with (e.g. 409, 429, 500, 503). */
  readonly code: number;
  /** How many matching requests fail (default 1). */
  readonly count?: number;
  /** `Status.reason` (default: kube's reason for the code). */
  readonly reason?: string;
  readonly message?: string;
  /** Sent as `Retry-After` and `details.retryAfterSeconds` (typical with 429). */
  readonly retryAfterSeconds?: number;
}

/** A rule that delays matching requests before they are served. */
export interface KubernetesDelayRule extends KubernetesRequestMatcher {
  readonly delayMs: number;
  /** How many matching requests are delayed (default: until removed). */
  readonly count?: number;
}

/** Options of {@link KubernetesFaults.dropWatches}. */
export interface DropWatchesOptions {
  /** Only watches of this resource plural. */
  readonly resource?: string;
  readonly group?: string;
  /**
   * Destroy the connections instead of ending the streams cleanly. A clean end makes client-node's
   * ListWatch resume from its last resourceVersion; a destroyed socket surfaces as an error.
   */
  readonly abrupt?: boolean;
}

/** Fault injection on a running Kubernetes emulator. */
export interface KubernetesFaults {
  /** Fails the next `count` matching requests with `code`, answered as a kube `Status`. */
  failNext(rule: KubernetesFailureRule): void;
  /** Delays matching requests; returns a function that removes the rule. */
  delay(rule: KubernetesDelayRule): () => void;
  /** Ends the open watch streams (all, or of one resource); returns how many were ended. */
  dropWatches(options?: DropWatchesOptions): number;
  /** Removes every failure and delay rule. */
  reset(): void;
}

/** The request attributes faults match on. */
export interface RequestAttributes {
  readonly verb: KubernetesVerb;
  readonly group: string;
  /** Plural, or `plural/subresource`. */
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

interface Counted<T> {
  readonly rule: T;
  remaining: number;
}

function matches(m: KubernetesRequestMatcher, req: RequestAttributes): boolean {
  if (m.verb !== undefined) {
    const verbs: readonly KubernetesVerb[] = typeof m.verb === 'string' ? [m.verb] : m.verb;
    if (!verbs.includes(req.verb)) return false;
  }
  if (m.resource !== undefined && m.resource !== req.resource) return false;
  if (m.group !== undefined && m.group !== req.group) return false;
  if (m.namespace !== undefined && m.namespace !== req.namespace) return false;
  return m.name === undefined || m.name === req.name;
}

/** A planned failure response. */
export interface InjectedFailure {
  readonly code: number;
  readonly body: JsonObject;
  readonly headers: Readonly<Record<string, string>>;
}

/** The fault rules of one emulator; the HTTP layer consults it on every resource request. */
export class FaultRules {
  readonly #failures: Counted<KubernetesFailureRule>[] = [];
  readonly #delays: Counted<KubernetesDelayRule>[] = [];

  /** Adds a failure rule (see {@link KubernetesFaults.failNext}). */
  addFailure(rule: KubernetesFailureRule): void {
    if (!Number.isInteger(rule.code) || rule.code < 400 || rule.code > 599) {
      throw new RangeError(`failure code must be an HTTP error status (400-599), got ${rule.code}`);
    }
    const count = rule.count ?? 1;
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`count must be a positive integer, got ${count}`);
    this.#failures.push({ rule, remaining: count });
  }

  /** Adds a delay rule (see {@link KubernetesFaults.delay}). */
  addDelay(rule: KubernetesDelayRule): () => void {
    if (!Number.isFinite(rule.delayMs) || rule.delayMs < 0) {
      throw new RangeError(`delayMs must be a non-negative number, got ${rule.delayMs}`);
    }
    const entry = { rule, remaining: rule.count ?? Number.POSITIVE_INFINITY };
    this.#delays.push(entry);
    return () => {
      const i = this.#delays.indexOf(entry);
      if (i >= 0) this.#delays.splice(i, 1);
    };
  }

  /** Drops all rules. */
  reset(): void {
    this.#failures.length = 0;
    this.#delays.length = 0;
  }

  /** Total delay for a request, consuming counted delay rules. */
  takeDelay(req: RequestAttributes): number {
    let total = 0;
    for (const entry of [...this.#delays]) {
      if (!matches(entry.rule, req)) continue;
      total += entry.rule.delayMs;
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.#delays.splice(this.#delays.indexOf(entry), 1);
    }
    return total;
  }

  /** The failure to answer a request with, consuming one use of the first matching rule. */
  takeFailure(req: RequestAttributes): InjectedFailure | undefined {
    const entry = this.#failures.find((e) => matches(e.rule, req));
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#failures.splice(this.#failures.indexOf(entry), 1);
    const { rule } = entry;
    const reason = rule.reason ?? reasonFor(rule.code);
    const message = rule.message ?? `injected failure: ${reason}`;
    const details: Record<string, unknown> = {};
    if (req.name !== '') details.name = req.name;
    if (req.group !== '') details.group = req.group;
    details.kind = req.resource.split('/')[0];
    if (rule.retryAfterSeconds !== undefined) details.retryAfterSeconds = rule.retryAfterSeconds;
    const headers: Record<string, string> = {};
    if (rule.retryAfterSeconds !== undefined)
      headers['Retry-After'] = String(rule.retryAfterSeconds);
    return { code: rule.code, body: statusObject(rule.code, reason, message, details), headers };
  }
}
