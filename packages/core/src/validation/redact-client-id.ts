/** What stands between the kept ends of a redacted client ID; the original's exact marker. */
const MARKER = '##### REDACTED #####';

function isWhitespace(char: string): boolean {
  return /^\s$/u.test(char);
}

/**
 * Redacts a client ID for logs the way the original NMI did: the first and last four characters are
 * kept around a marker, so `7eb6e5b8-…-…-a6a9` becomes `7eb6##### REDACTED #####a6a9`, which is
 * enough to tell identities apart without printing the ID.
 *
 * The original returned a value it could not match (shorter than eight characters, or starting or
 * ending with whitespace) unchanged; this returns the bare marker instead, so nothing is ever logged
 * unredacted.
 *
 * @param clientId - the client ID to redact
 * @returns the redacted form, safe for a log line
 */
export function redactClientId(clientId: string): string {
  // Code points, not UTF-16 units, so a surrogate pair is never cut in half.
  const chars = Array.from(clientId);
  if (chars.length < 8) {
    return MARKER;
  }
  const head = chars.slice(0, 4);
  const tail = chars.slice(-4);
  if ([...head, ...tail].some(isWhitespace)) {
    return MARKER;
  }
  return `${head.join('')}${MARKER}${tail.join('')}`;
}
