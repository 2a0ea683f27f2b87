import { badRequestError } from './api-status-error.js';

/** One `field=value` / `field!=value` term of a field selector. */
export interface FieldRequirement {
  readonly field: string;
  readonly value: string;
  readonly negate: boolean;
}

/** Reads the selectable field values of one object (`spec.nodeName` → `"node-1"`). */
export type FieldGetter = (obj: Record<string, unknown>) => Readonly<Record<string, string>>;

/** A parsed field selector bound to the fields a resource supports. */
export interface FieldSelector {
  readonly empty: boolean;
  readonly requirements: readonly FieldRequirement[];
  matches(fields: Readonly<Record<string, string>>): boolean;
}

const everything: FieldSelector = { empty: true, requirements: [], matches: () => true };

// Splits on an unescaped separator; kube escapes `\`, `,` and `=` in field selector values.
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charAt(i);
    if (c === '\\' && i + 1 < text.length) {
      current += c + text.charAt(i + 1);
      i += 1;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(text: string, whole: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charAt(i);
    if (c === '\\') {
      const n = text.charAt(i + 1);
      if (n !== '\\' && n !== ',' && n !== '=') {
        throw badRequestError(`invalid field selector: invalid escape sequence: ${whole}`);
      }
      out += n;
      i += 1;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Parses a field selector (`a=b`, `a==b`, `a!=b`, comma-separated) and checks every field against
 * `supported`. Unknown fields throw the 400 kube answers with (`field label not supported: x`, or
 * for custom resources kube's "is not a known field selector" wording when `customResource` is set).
 */
export function parseFieldSelector(
  text: string | undefined,
  supported: ReadonlySet<string>,
  customResource = false,
): FieldSelector {
  if (text === undefined || text.trim() === '') return everything;
  const requirements: FieldRequirement[] = [];
  for (const term of splitUnescaped(text, ',')) {
    // A term's operator is the first `=`, `==` or `!=`; an escaped `=` in a field name is not legal.
    const match = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
    if (match === null) {
      throw badRequestError(`invalid selector: '${text}'; can't understand '${term}'`);
    }
    const rawField = match[1] ?? '';
    const op = match[2] ?? '=';
    const rawValue = match[3] ?? '';
    const field = rawField.trim();
    const value = unescape(rawValue, text);
    if (!supported.has(field)) {
      throw badRequestError(
        customResource
          ? `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`
          : `field label not supported: ${field}`,
      );
    }
    requirements.push({ field, value, negate: op === '!=' });
  }
  return {
    empty: false,
    requirements,
    matches: (fields) =>
      requirements.every((r) => ((fields[r.field] ?? '') === r.value) !== r.negate),
  };
}
