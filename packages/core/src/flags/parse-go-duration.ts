const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`3600s`, `3m`, `1h30m`, `500ms`), as the original daemons' duration flags
 * take, to milliseconds. A bare number is seconds.
 *
 * @param value - the flag value
 * @returns the duration in milliseconds
 * @throws RangeError when it is not a duration
 * @internal The daemons' command lines (MIC, NMI); not for applications.
 */
export function parseGoDuration(value: string): number {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/u.test(trimmed)) return Number(trimmed) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/guy;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(re)) {
    total += Number(match[1]) * (UNITS[match[2] ?? ''] ?? Number.NaN);
    consumed += match[0].length;
  }
  if (trimmed === '' || consumed !== trimmed.length || !Number.isFinite(total)) {
    throw new RangeError(`invalid duration ${JSON.stringify(value)} (expected e.g. 15s, 3m, 1h)`);
  }
  return total;
}
