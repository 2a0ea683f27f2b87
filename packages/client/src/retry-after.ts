/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): a number of seconds or an HTTP date.
 *
 * @param value - the header value, if present
 * @param nowMs - the current time, for the date form
 * @returns the delay in milliseconds (never negative), or `undefined` when absent or unreadable
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone would
  // also take "-3" as a year.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}
