import { isLabelKey, isLabelValue } from '@pod-identity/core';
import { badRequestError } from './api-status-error.js';

/** A parsed label selector: a predicate over an object's labels. */
export interface LabelSelector {
  /** True when the selector has no requirements and matches everything. */
  readonly empty: boolean;
  /** Matches an object's `metadata.labels` (non-string values count as absent). */
  matches(labels: Readonly<Record<string, unknown>>): boolean;
}

type Operator = 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists' | 'gt' | 'lt';

interface Requirement {
  readonly key: string;
  readonly op: Operator;
  readonly values: readonly string[];
}

const everything: LabelSelector = { empty: true, matches: () => true };

function fail(why: string): never {
  throw badRequestError(`unable to parse requirement: ${why}`);
}

function checkKey(key: string): void {
  if (!isLabelKey(key)) {
    fail(
      `<nil>: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkValue(value: string): void {
  if (!isLabelValue(value)) {
    fail(
      `values[0]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

// The lexer follows apimachinery's: identifiers run until whitespace or one of `!=(),<>`.
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i += 1;
    } else if (c === '=' && text.charAt(i + 1) === '=') {
      tokens.push('==');
      i += 2;
    } else if (c === '!' && text.charAt(i + 1) === '=') {
      tokens.push('!=');
      i += 2;
    } else if ('=!(),<>'.includes(c)) {
      tokens.push(c);
      i += 1;
    } else {
      let j = i;
      while (j < text.length && !' \t\n\r=!(),<>'.includes(text.charAt(j))) j += 1;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const punctuation = new Set(['=', '==', '!=', '!', '(', ')', ',', '<', '>']);

/**
 * Parses a label selector in kube's string syntax (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, comma-separated). A malformed selector throws the 400
 * BadRequest kube-apiserver answers with.
 */
export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') return everything;
  const tokens = tokenize(text);
  const requirements: Requirement[] = [];
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const next = (): string | undefined => tokens[pos++];
  const identifier = (what: string): string => {
    const t = next();
    if (t === undefined || punctuation.has(t)) fail(`found '${t ?? ''}', expected: ${what}`);
    return t;
  };
  for (;;) {
    let requirement: Requirement;
    if (peek() === '!') {
      next();
      const key = identifier("identifier after '!'");
      checkKey(key);
      requirement = { key, op: 'notexists', values: [] };
    } else {
      const key = identifier('identifier');
      checkKey(key);
      const op = peek();
      if (op === undefined || op === ',') {
        requirement = { key, op: 'exists', values: [] };
      } else if (op === '=' || op === '==' || op === '!=') {
        next();
        // An empty value (`a=`) is legal: it selects objects whose label is the empty string.
        const t = peek();
        const value = t === undefined || t === ',' ? '' : identifier('identifier');
        checkValue(value);
        requirement = { key, op: op === '!=' ? 'neq' : 'eq', values: [value] };
      } else if (op === 'in' || op === 'notin') {
        next();
        if (next() !== '(') fail(`found '${tokens[pos - 1] ?? ''}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const t = peek();
          if (t === ')') {
            next();
            break;
          }
          const value = t === ',' ? '' : identifier('identifier');
          checkValue(value);
          values.push(value);
          const sep = next();
          if (sep === ')') break;
          if (sep !== ',') fail(`found '${sep ?? ''}', expected: ',' or ')'`);
        }
        if (values.length === 0) fail("for 'in', 'notin' operators, values set can't be empty");
        requirement = { key, op, values };
      } else if (op === '>' || op === '<') {
        next();
        const value = identifier('identifier');
        if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
        requirement = { key, op: op === '>' ? 'gt' : 'lt', values: [value] };
      } else {
        fail(`found '${op}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    requirements.push(requirement);
    const sep = next();
    if (sep === undefined) break;
    if (sep !== ',') fail(`found '${sep}', expected: ','`);
  }
  return { empty: false, matches: (labels) => requirements.every((r) => matchOne(r, labels)) };
}

function matchOne(r: Requirement, labels: Readonly<Record<string, unknown>>): boolean {
  const raw = labels[r.key];
  const has = typeof raw === 'string';
  const value = has ? raw : undefined;
  switch (r.op) {
    case 'eq':
    case 'in':
      return has && r.values.includes(value ?? '');
    case 'neq':
    case 'notin':
      return !has || !r.values.includes(value ?? '');
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value ?? '')) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}
