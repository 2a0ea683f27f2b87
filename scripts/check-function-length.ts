// Lists the functions in packages/*/src longer than the style's limit (about 200 lines) and fails
// when there is one, so that `pnpm lint` keeps every function small enough to read as one job. A
// function's length counts its whole body, closures included: a 300-line factory made of ten
// 30-line closures is still one 300-line room. Tests kept beside their sources (`*.test.ts`) are
// not counted: a describe block is a list of cases, not a function that does several jobs.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { repoRoot } from './ensure-built.ts';

/** The longest a function in packages/ sources may be, in lines (first to last line, inclusive). */
export const MAX_FUNCTION_LINES = 200;

/**
 * Functions known to be over the limit and not yet split (issue #17), as `file#name`. The list only
 * shrinks: a function split below the limit must leave it (the check fails on a stale entry), and
 * a function not on it fails the check.
 */
export const NOT_YET_SPLIT: ReadonlySet<string> = new Set([
  'packages/core/src/arm/identity-assigner.ts#createIdentityAssigner',
  'packages/core/src/kubernetes/informer.ts#createInformer',
  'packages/core/src/kubernetes/leader-elector.ts#createLeaderElector',
  'packages/nmi/src/create-nmi.ts#createNmi',
  'packages/nmi/src/nmi-request-handler.ts#createNmiRequestHandler',
]);

/** One function over the limit. */
export interface LongFunction {
  readonly file: string;
  readonly name: string;
  /** 1-based line of the function's first line. */
  readonly line: number;
  readonly lines: number;
}

function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name !== undefined) return node.name.getText(source);
  // An anonymous function takes the name of what it is assigned to: `const x = () => …`,
  // `{ x: () => … }`, `x = function () …`.
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))
    return parent.name.getText(source);
  if (ts.isBinaryExpression(parent)) return parent.left.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return '(anonymous)';
}

/** The functions of one source text longer than `maxLines`, outermost first. */
export function longFunctionsIn(
  file: string,
  text: string,
  maxLines: number = MAX_FUNCTION_LINES,
): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const fn = node;
      const first = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      const lines = last - first + 1;
      if (lines > maxLines)
        found.push({ file, name: functionName(fn, source), line: first + 1, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    const counted =
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.d.ts') &&
      !entry.name.endsWith('.test.ts');
    return counted ? [path] : [];
  });
}

/** Every function over the limit in packages/<name>/src. */
export function longFunctions(root: string = repoRoot): LongFunction[] {
  const packages = join(root, 'packages');
  return readdirSync(packages, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const src = join(packages, entry.name, 'src');
      try {
        return sourceFiles(src);
      } catch {
        return []; // a package without src/ (none today) has nothing to check
      }
    })
    .flatMap((path) => longFunctionsIn(relative(root, path), readFileSync(path, 'utf8')));
}

/** What the check has to say: functions over the limit not on the list, and stale list entries. */
export function functionLengthProblems(
  found: readonly LongFunction[],
  notYetSplit: ReadonlySet<string> = NOT_YET_SPLIT,
): string[] {
  const key = (fn: LongFunction): string => `${fn.file}#${fn.name}`;
  const problems = found
    .filter((fn) => !notYetSplit.has(key(fn)))
    .map(
      (fn) =>
        `${fn.file}:${fn.line} ${fn.name} is ${fn.lines} lines (limit ${MAX_FUNCTION_LINES}): split it into parts with one job each`,
    );
  const over = new Set(found.map(key));
  for (const entry of notYetSplit)
    if (!over.has(entry))
      problems.push(
        `${entry} is no longer over ${MAX_FUNCTION_LINES} lines: remove it from NOT_YET_SPLIT in scripts/check-function-length.ts`,
      );
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const problems = functionLengthProblems(longFunctions());
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exitCode = 1;
}
