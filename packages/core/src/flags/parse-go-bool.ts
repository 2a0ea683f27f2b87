/**
 * Parses a boolean flag value the way Go's `strconv.ParseBool` (and so the original daemons' flags)
 * reads it: `1`, `t`, `true` and `0`, `f`, `false` in any case; `yes` and `no` are taken too.
 *
 * @param value - the flag value
 * @returns the boolean
 * @throws RangeError when it is not a boolean
 * @internal The daemons' command lines (MIC, NMI); not for applications.
 */
export function parseGoBool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1' || v === 't' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'f' || v === 'no') return false;
  throw new RangeError(`invalid boolean ${JSON.stringify(value)} (expected true or false)`);
}
