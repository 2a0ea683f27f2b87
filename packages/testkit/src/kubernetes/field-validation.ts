// kube-apiserver's field validation and write warnings, as v1.34 applies them to custom resources:
// the `fieldValidation` query parameter (Ignore, Warn — the default since v1.27 — or Strict), the
// `unknown field "<path>"` of every field that schema pruning drops, and the advice on finalizer
// names (apiextensions-apiserver's `validateKubeFinalizerName`). Warnings travel as HTTP `Warning`
// headers, `299 - "<text>"`, one per warning.
import { ApiStatusError, badRequestError } from './api-status-error.js';

/** How a write treats fields the schema does not declare. */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** What a write request carries besides its body, and where its warnings go. */
export interface WriteOptions {
  /** The `fieldValidation` query parameter. Default `Warn`. */
  readonly fieldValidation?: FieldValidation;
  /** Collects the warnings the write produces, in the order kube sends them. */
  readonly warnings?: string[];
}

/**
 * The directive of a request's `fieldValidation` parameter. kube defaults to `Warn`, and refuses an
 * unknown value with 422 on the request's options kind (`CreateOptions`, `UpdateOptions`,
 * `PatchOptions`).
 * @param value - the query parameter, if any
 * @param optionsKind - the options kind of the verb
 */
export function parseFieldValidation(
  value: string | null | undefined,
  optionsKind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
): FieldValidation {
  if (value === null || value === undefined || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  const detail = `Unsupported value: ${JSON.stringify(value)}: supported values: "Ignore", "Strict", "Warn"`;
  throw new ApiStatusError(
    422,
    'Invalid',
    `${optionsKind}.meta.k8s.io "" is invalid: fieldValidation: ${detail}`,
    {
      group: 'meta.k8s.io',
      kind: optionsKind,
      causes: [{ reason: 'FieldValueNotSupported', message: detail, field: 'fieldValidation' }],
    },
  );
}

function strictDecodingMessage(unknownFields: readonly string[]): string {
  return `strict decoding error: ${unknownFields.map((path) => `unknown field "${path}"`).join(', ')}`;
}

/**
 * Reports the fields schema pruning dropped from a write: warnings under `Warn`, nothing under
 * `Ignore`, and under `Strict` the error kube sends: 400 for a create or update (the body could not
 * be decoded as the kind), 422 naming the field `patch` for a patch.
 *
 * @param unknownFields - dropped paths, e.g. `spec.ClientID`, sorted
 * @param options - the request's directive and warning sink
 * @param target - the kind, version and verb, and for a patch the patched object
 */
export function reportUnknownFields(
  unknownFields: readonly string[],
  options: WriteOptions,
  target: { kind: string; version: string; patched?: unknown },
): void {
  if (unknownFields.length === 0) return;
  const directive = options.fieldValidation ?? 'Warn';
  if (directive === 'Ignore') return;
  if (directive === 'Warn') {
    for (const path of unknownFields) options.warnings?.push(`unknown field "${path}"`);
    return;
  }
  const message = strictDecodingMessage(unknownFields);
  if (target.patched === undefined) {
    throw badRequestError(
      `${target.kind} in version "${target.version}" cannot be handled as a ${target.kind}: ${message}`,
    );
  }
  const detail = `Invalid value: ${JSON.stringify(JSON.stringify(target.patched))}: ${message}`;
  throw new ApiStatusError(422, 'Invalid', ` "" is invalid: patch: ${detail}`, {
    causes: [{ reason: 'FieldValueInvalid', message: detail, field: 'patch' }],
  });
}

/** Finalizers kube knows by their bare names. */
export const STANDARD_FINALIZERS: ReadonlySet<string> = new Set([
  'orphan',
  'foregroundDeletion',
  'kubernetes',
]);

/**
 * The advice kube gives on finalizer names a custom resource gains (all of them on create, the new
 * ones on update): a name without a `/` path should be domain-qualified with one.
 * @param added - the finalizers the write adds
 * @returns one warning per finalizer that deserves one, sorted by finalizer
 */
export function finalizerWarnings(added: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const finalizer of [...new Set(added)].sort()) {
    if (finalizer.includes('/') || STANDARD_FINALIZERS.has(finalizer)) continue;
    warnings.push(
      `metadata.finalizers: ${JSON.stringify(finalizer)}: prefer a domain-qualified finalizer name${
        finalizer.includes('.') ? ' including a path (/)' : ''
      } to avoid accidental conflicts with other finalizer writers`,
    );
  }
  return warnings;
}

/**
 * The `Warning` header value of one warning, as kube writes it: code 299, agent `-`, quoted text.
 * @param text - the warning
 */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}
