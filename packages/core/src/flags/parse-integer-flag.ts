/**
 * Parses an integer flag value (a port, a count) and checks its range.
 *
 * @param value - the flag value
 * @param min - the smallest value allowed
 * @param max - the largest value allowed
 * @returns the integer
 * @throws RangeError when it is not an integer from `min` to `max`
 * @internal The daemons' command lines (MIC, NMI); not for applications.
 */
export function parseIntegerFlag(value: string, min: number, max: number): number {
  const n = /^-?\d+$/u.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new RangeError(
      `invalid value ${JSON.stringify(value)} (expected an integer ${String(min)}…${String(max)})`,
    );
  }
  return n;
}
