import type { Clock } from '../work-queue/clock.js';

/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds (digits only) or an HTTP-date. Any
 * other text is unreadable and so ignored, including a negative number such as `-3`, which
 * `Date.parse` alone would take for a year; an HTTP-date always names its day or month.
 *
 * @param value - the header value as received, if any (a repeated header counts by its first value)
 * @param clock - the time an HTTP-date is measured from
 * @returns the delay in milliseconds (a date in the past is 0), or `undefined` when absent or unreadable
 */
export function parseRetryAfter(
  value: string | readonly string[] | null | undefined,
  clock: Pick<Clock, 'now'>,
): number | undefined {
  const first = typeof value === 'string' ? value : value?.[0];
  const text = first?.trim() ?? '';
  if (text === '') return undefined;
  if (/^\d+$/u.test(text)) return Number(text) * 1000;
  if (!/[a-z]{3}/iu.test(text)) return undefined;
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - clock.now());
}
