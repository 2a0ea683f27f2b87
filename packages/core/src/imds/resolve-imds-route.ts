/**
 * Which handler a request path belongs to, in the order the original NMI's router tried them:
 * - `token`: `/metadata/identity/oauth2/token` with or without the trailing slash (the SDKs send both);
 * - `invalid`: a path that is not clean (percent-encoding, backslashes, empty or dot segments) or that
 *   spells the token path any other way (`/metadata/Identity/oauth2/token`, `/metadata/identity\oauth2/token`,
 *   `/metadata/identity/oauth2/tokenX`): answered 400 so it can never reach the real IMDS;
 * - `host-token`: `/host/token` or `/host/token/`, for node-level agents;
 * - `instance`: `/metadata/instance…` (blocked with 403 when the broker is configured to);
 * - `proxy`: everything else, passed through to the real IMDS.
 */
export type ImdsRoute = 'token' | 'invalid' | 'host-token' | 'instance' | 'proxy';

/** The longest request target (path and query) accepted; IMDS requests are a few hundred bytes. */
export const MAX_IMDS_REQUEST_TARGET_LENGTH = 4096;

// The token path: the first segment is case-insensitive as in the original (gorilla/mux `(?i:metadata)`),
// the rest exact. Anything that merely resembles it is `invalid`.
const TOKEN_PATH = /^\/[mM][eE][tT][aA][dD][aA][tT][aA]\/identity\/oauth2\/token\/?$/;
// The original's `invalidTokenPathHandler` regex, made case-insensitive throughout: a token path with
// other separators or casing. The original let `/metadata/Identity/oauth2/token/` through to IMDS,
// which would have served the node's identity; here it is refused.
const TOKEN_LOOKALIKE = /\/metadata\/identity.*oauth2.*token/i;

/**
 * Resolves the route of a request path. Pure and allocation-light: it runs on every request.
 *
 * @param path - the path part of the request target, not decoded (`req.url` up to `?`)
 * @returns the route
 */
export function resolveImdsRoute(path: string): ImdsRoute {
  if (TOKEN_PATH.test(path)) return 'token';
  if (!isCleanPath(path)) return 'invalid';
  if (TOKEN_LOOKALIKE.test(path)) return 'invalid';
  if (path === '/host/token' || path === '/host/token/') return 'host-token';
  if (path.length >= 18 && path.slice(0, 18).toLowerCase() === '/metadata/instance')
    return 'instance';
  return 'proxy';
}

/**
 * Whether a path is in the clean form every IMDS path has: starts with `/`, no percent-encoding (which
 * could hide a separator or a dot segment), no backslash, no empty, `.` or `..` segments, no control
 * characters. The original answered unclean paths with a 301 to the cleaned form; refusing them is
 * simpler and leaves no way to smuggle a token path past the route table.
 */
function isCleanPath(path: string): boolean {
  if (path.length === 0 || path.charCodeAt(0) !== 0x2f) return false;
  for (let i = 0; i < path.length; i += 1) {
    const c = path.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x5c /* \ */ || c <= 0x20 || c === 0x7f) return false;
  }
  // Segments between slashes; a single trailing slash is allowed (`/metadata/instance/`).
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i += 1) {
    const segment = segments[i];
    if (segment === '.' || segment === '..') return false;
    if (segment === '' && i !== segments.length - 1) return false;
  }
  return true;
}
