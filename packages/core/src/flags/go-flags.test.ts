import { describe, expect, it } from 'vitest';
import { normalizeGoFlags } from './normalize-go-flags.js';
import { parseGoBool } from './parse-go-bool.js';
import { parseGoDuration } from './parse-go-duration.js';
import { parseIntegerFlag } from './parse-integer-flag.js';

describe('normalizeGoFlags', () => {
  const aliases = { forceNamespaced: 'force-namespaced', MICNamespace: 'mic-namespace' };

  it('turns Go single-dash long flags into double-dash ones and old spellings into kebab-case', () => {
    expect(
      normalizeGoFlags(
        ['-node=aks-1', '-nmi-port', '3000', '--forceNamespaced=true', '-MICNamespace', 'x'],
        aliases,
      ),
    ).toEqual([
      '--node=aks-1',
      '--nmi-port',
      '3000',
      '--force-namespaced=true',
      '--mic-namespace',
      'x',
    ]);
  });

  it('keeps short options, values and everything after --', () => {
    expect(normalizeGoFlags(['-v', '2', '-h', '-v=4', '-3', 'value', '--', '-node'])).toEqual([
      '-v',
      '2',
      '-h',
      '--v=4',
      '-3',
      'value',
      '--',
      '-node',
    ]);
  });

  it('does not treat inherited object keys as aliases', () => {
    expect(normalizeGoFlags(['--toString', '--constructor=1'], aliases)).toEqual([
      '--toString',
      '--constructor=1',
    ]);
  });
});

describe('parseGoDuration', () => {
  it('reads Go durations; a bare number is seconds', () => {
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(parseGoDuration('90')).toBe(90_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
  });

  it.each(['3 minutes', '', '5x', '1h-2m'])('refuses %j', (value) => {
    expect(() => parseGoDuration(value)).toThrow(RangeError);
  });
});

describe('parseGoBool', () => {
  it('reads what strconv.ParseBool reads', () => {
    for (const v of ['true', 'TRUE', 't', '1', 'yes']) expect(parseGoBool(v)).toBe(true);
    for (const v of ['false', 'False', 'f', '0', 'no']) expect(parseGoBool(v)).toBe(false);
    expect(() => parseGoBool('maybe')).toThrow(/invalid boolean "maybe"/);
  });
});

describe('parseIntegerFlag', () => {
  it('takes integers in range and refuses the rest', () => {
    expect(parseIntegerFlag('8080', 0, 65535)).toBe(8080);
    expect(parseIntegerFlag('0', 0, 65535)).toBe(0);
    for (const v of ['70000', '-1', 'abc', '1.5', '', '1e3']) {
      expect(() => parseIntegerFlag(v, 0, 65535)).toThrow(/expected an integer 0…65535/);
    }
  });
});
