// The function-length check that `pnpm lint` runs: what it measures and when it fails.
import { describe, expect, it } from 'vitest';
import {
  functionLengthProblems,
  longFunctions,
  longFunctionsIn,
  type LongFunction,
} from '../check-function-length.ts';

const body = (lines: number): string =>
  Array.from({ length: lines }, (_, i) => `  f(${i});`).join('\n');

describe('longFunctionsIn', () => {
  it('measures a function from its first to its last line, closures included', () => {
    // 3 lines of wrapper + 198 body lines = 201 lines.
    const text = `export function outer() {\n  const inner = () => {\n${body(197)}\n  };\n}\n`;
    expect(longFunctionsIn('x.ts', text)).toEqual([
      { file: 'x.ts', name: 'outer', line: 1, lines: 201 },
    ]);
    expect(longFunctionsIn('x.ts', text, 201)).toEqual([]);
  });

  it('names arrow functions and methods by what holds them', () => {
    const text = [
      `const arrow = () => {\n${body(3)}\n};`,
      `class C {\n  method() {\n${body(3)}\n  }\n}`,
      `const o = { prop: function () {\n${body(3)}\n} };`,
    ].join('\n');
    expect(longFunctionsIn('x.ts', text, 2).map((fn) => fn.name)).toEqual([
      'arrow',
      'method',
      'prop',
    ]);
  });
});

describe('functionLengthProblems', () => {
  const fn: LongFunction = { file: 'packages/a/src/a.ts', name: 'big', line: 3, lines: 250 };

  it('fails a long function that is not on the not-yet-split list', () => {
    expect(functionLengthProblems([fn], new Set())).toEqual([
      expect.stringContaining('packages/a/src/a.ts:3 big is 250 lines'),
    ]);
    expect(functionLengthProblems([fn], new Set(['packages/a/src/a.ts#big']))).toEqual([]);
  });

  it('fails a list entry that is no longer over the limit, so the list only shrinks', () => {
    expect(functionLengthProblems([], new Set(['packages/a/src/a.ts#big']))).toEqual([
      expect.stringContaining('remove it from NOT_YET_SPLIT'),
    ]);
  });

  // Parses every source file of packages/: seconds on a loaded machine.
  it('passes on the repository as it is', { timeout: 60_000 }, () => {
    expect(functionLengthProblems(longFunctions())).toEqual([]);
  });
});
