import { canonicalImdsPath } from './canonical-imds-path.js';

/**
 * Which handler a request path belongs to:
 * - `token`: `/metadata/identity/oauth2/token` with or without the trailing slash (the SDKs send both;
 *   the first segment in any case, as the original's router took it);
 * - `invalid`: any other spelling of an identity endpoint, or of the host route, and any path not in
 *   canonical form (see {@link canonicalImdsPath}: percent-encoding, backslashes, `;` or `:` suffixes,
 *   trailing dots, empty or dot segments, a fragment): answered 400 so that no spelling IMDS might
 *   route to the token endpoint, or to instance metadata, can reach the real IMDS past NMI's rules;
 * - `malformed`: a request target that is no origin-form path (`*`, `http://…`, empty) or that no
 *   server would route (control or non-ASCII characters, broken percent-encoding): 400 in IMDS's JSON
 *   shape;
 * - `host-token`: `/host/token` or `/host/token/`, for node-level agents;
 * - `instance`: `/metadata/instance…` in canonical form, any letter case (403 when the broker blocks
 *   instance metadata, passed through otherwise);
 * - `proxy`: everything else in canonical form, passed through to the real IMDS; under
 *   `/metadata/identity` that is only `/metadata/identity/info`, which carries no token.
 */
export type ImdsRoute = 'token' | 'invalid' | 'malformed' | 'host-token' | 'instance' | 'proxy';

/** The longest request target (path and query) accepted; IMDS requests are a few hundred bytes. */
export const MAX_IMDS_REQUEST_TARGET_LENGTH = 4096;

// The token path as clients spell it: the first segment in any case (the original's gorilla/mux
// `(?i:metadata)`), the rest exact, one optional trailing slash.
const TOKEN_PATH = /^\/[mM][eE][tT][aA][dD][aA][tT][aA]\/identity\/oauth2\/token\/?$/;

// The original's lookalike rule (`/metadata/identity(.*?)oauth2(.*?)token`), applied to the canonical
// form anywhere in the path: `/foo/metadata/identity/oauth2/token` is refused too.
const TOKEN_LOOKALIKE = /metadata\/identity.*oauth2.*token/;

// Identity endpoints other than the token that may be passed through, in canonical form.
const PASSED_IDENTITY_PATHS: ReadonlySet<string> = new Set(['metadata/identity/info']);

/**
 * Resolves the route of a request path. Pure; it runs on every request.
 *
 * The path is judged by its canonical form (what a lenient server would route it as): every
 * spelling of an identity endpoint other than the exact token path is refused, and so is every
 * non-canonical spelling of anything else, so the real IMDS only ever sees paths it reads exactly as
 * NMI did. Differences from the original, which answered unclean paths with a 301 to the cleaned
 * form and let `/metadata/Identity/oauth2/token/` through to IMDS (where the node's identity would
 * have answered): both are refused.
 *
 * @param path - the path part of the request target, not decoded (`req.url` up to `?`)
 * @returns the route
 */
export function resolveImdsRoute(path: string): ImdsRoute {
  if (TOKEN_PATH.test(path)) return 'token';
  if (path.length === 0 || path.charCodeAt(0) !== 0x2f /* / */) return 'malformed';
  const canonical = canonicalImdsPath(path);
  if (canonical === undefined) return 'malformed';
  const [first, second] = canonical.segments;
  const joined = canonical.segments.join('/');
  if (TOKEN_LOOKALIKE.test(joined)) return 'invalid';
  const underMetadata = first === 'metadata' && second !== undefined;
  // A router may match by prefix (`/metadata/identityX`, `/metadata/instanceX`), as the original's did.
  if (underMetadata && second.startsWith('identity')) {
    return canonical.clean && PASSED_IDENTITY_PATHS.has(joined) ? 'proxy' : 'invalid';
  }
  if (joined === 'host/token') {
    return path === '/host/token' || path === '/host/token/' ? 'host-token' : 'invalid';
  }
  if (!canonical.clean) return 'invalid';
  if (underMetadata && second.startsWith('instance')) return 'instance';
  return 'proxy';
}
