import type { KubernetesWireObject } from '@pod-identity/core/kubernetes';

/** A core `safeParse…` function. */
export type SafeParse<T> = (input: unknown) => { ok: true; value: T } | { ok: false; error: Error };

/**
 * Informer projections for MIC's custom resources that keep what the strict parsers refuse. An
 * object that does not parse is still cached as it came (when it has a name), and why it was
 * refused is remembered, so that the planner can leave it out and report it with a Warning event
 * naming it, instead of it vanishing from view or, worse, being planned with.
 */
export interface LenientProjection {
  /** The projection for one kind: the parsed object, or the raw one with its problem remembered. */
  project<T>(kind: string, parse: SafeParse<T>): (raw: KubernetesWireObject) => T | undefined;
  /** Why the parser refused an object this projection returned, or `undefined` if it parsed. */
  parseProblem(object: object): string | undefined;
}

/**
 * Creates a {@link LenientProjection}.
 * @param onInvalid - told of every refused object (for a log line)
 * @returns the projection
 */
export function createLenientProjection(
  onInvalid: (kind: string, raw: KubernetesWireObject, message: string) => void,
): LenientProjection {
  // Keyed by the cached object itself: an informer replaces an object when it changes, so the entry
  // goes with the object.
  const problems = new WeakMap<object, string>();
  return {
    project:
      <T>(kind: string, parse: SafeParse<T>) =>
      (raw: KubernetesWireObject): T | undefined => {
        // Custom resources arrive as plain JSON from both the list (untyped) and the watch.
        const json: unknown = raw;
        const result = parse(json);
        if (result.ok) return result.value;
        onInvalid(kind, raw, result.error.message);
        if (typeof raw.metadata?.name !== 'string') return undefined;
        problems.set(raw, result.error.message);
        return json as T;
      },
    parseProblem: (object) => problems.get(object),
  };
}
