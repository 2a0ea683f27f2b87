/**
 * A request path in the form a lenient HTTP server routes it by, and whether the request spelled it
 * that way. See {@link canonicalImdsPath}.
 */
export interface CanonicalImdsPath {
  /**
   * Lower-case segments after percent-decoding, backslashes read as `/`, `;` and `:` suffixes
   * dropped from each segment, trailing dots and spaces trimmed, empty and `.` segments dropped, `..`
   * applied: `/metadata/identity/oauth2/token` for `/METADATA./identity;x/%2e/oauth2\token`.
   */
  readonly segments: readonly string[];
  /**
   * Whether the raw path is already in that form, letter case and one trailing slash aside: no
   * percent-encoding, backslash, `;`, `:`, trailing dot or space, empty, `.` or `..` segment.
   */
  readonly clean: boolean;
}

/** More rounds of percent-decoding than this and the path is refused (`%252e` is two rounds). */
const MAX_DECODE_ROUNDS = 3;

/**
 * Reads a request path the way a lenient server may route it, so that every spelling that could
 * reach an endpoint is judged as that endpoint. IMDS's own front end is not documented, so this takes
 * the union of what common servers do: percent-decoding (more than once), `\` as a separator,
 * path parameters (`;jsessionid=…`) and alternate data streams (`::$DATA`) dropped, Windows' trailing
 * dots and spaces trimmed, case folded, duplicate slashes collapsed, dot segments resolved
 * (RFC 3986 §5.2.4: `..` never climbs above the root). A fragment (`#…`) is cut off.
 *
 * Pure and linear in the path's length.
 *
 * @param path - the path part of an origin-form request target (`req.url` up to `?`), not decoded
 * @returns the canonical segments and whether the path was spelled canonically; `undefined` for a
 *   path no server should route: not starting with `/`, malformed or too deeply nested
 *   percent-encoding, control characters, or anything outside printable ASCII once decoded
 */
export function canonicalImdsPath(path: string): CanonicalImdsPath | undefined {
  const hash = path.indexOf('#');
  let decoded = hash === -1 ? path : path.slice(0, hash);
  let clean = hash === -1;
  if (decoded.length === 0 || decoded.charCodeAt(0) !== 0x2f /* / */) return undefined;
  for (let round = 0; decoded.includes('%'); round += 1) {
    if (round === MAX_DECODE_ROUNDS) return undefined;
    const next = decodePercentEscapes(decoded);
    if (next === undefined) return undefined;
    decoded = next;
    clean = false;
  }
  for (let i = 0; i < decoded.length; i += 1) {
    const c = decoded.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return undefined;
  }
  if (decoded.includes('\\')) clean = false;
  const segments: string[] = [];
  const parts = decoded.split(/[/\\]/);
  for (let i = 1; i < parts.length; i += 1) {
    const raw = parts[i] ?? '';
    const cut = firstIndexOf(raw, ';', ':');
    const base = cut === -1 ? raw : raw.slice(0, cut);
    // `..;x` and `.. ` climb like `..` (a classic way past a prefix check).
    if (base.trimEnd() === '..') {
      segments.pop();
      clean = false;
      continue;
    }
    const segment = trimTrailingDotsAndSpaces(base);
    if (segment !== raw) clean = false;
    if (segment === '') {
      // `.`, `…`, `;x`, or an empty segment: nothing. Only a single trailing slash (`/`,
      // `/metadata/instance/`) is how clients spell a path anyway.
      if (raw !== '' || i !== parts.length - 1) clean = false;
      continue;
    }
    // A space inside a segment is no spelling of any endpoint.
    if (segment.includes(' ')) return undefined;
    segments.push(segment.toLowerCase());
  }
  return { segments, clean };
}

function decodePercentEscapes(path: string): string | undefined {
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', from)) {
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    out += path.slice(from, i) + String.fromCharCode(Number.parseInt(hex, 16));
    from = i + 3;
  }
  return out + path.slice(from);
}

function firstIndexOf(text: string, a: string, b: string): number {
  const i = text.indexOf(a);
  const j = text.indexOf(b);
  if (i === -1) return j;
  if (j === -1) return i;
  return Math.min(i, j);
}

function trimTrailingDotsAndSpaces(segment: string): string {
  let end = segment.length;
  while (end > 0) {
    const c = segment.charCodeAt(end - 1);
    if (c !== 0x2e /* . */ && c !== 0x20) break;
    end -= 1;
  }
  return end === segment.length ? segment : segment.slice(0, end);
}
