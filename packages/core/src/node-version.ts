// The Node.js version check every pod-identity program makes before loading anything else.

/**
 * The oldest Node.js the pod-identity programs (`pod-identity`, `pod-identity-mic`,
 * `pod-identity-nmi`) run on: 22.19, the oldest undici 8 declares in its `engines`; undici is the
 * HTTP client of `@kubernetes/client-node` 2, which all three use. (22.12 is the first 22.x that
 * loads ES modules with `require()` unflagged; core and the client, which have no such dependency,
 * declare that.)
 */
export const MINIMUM_NODE_VERSION = '22.19.0';

/**
 * Why this Node.js cannot run a pod-identity program, as one line, or `undefined` when it can.
 *
 * @param program - the program's name, which starts the line
 * @param version - the running version (`process.versions.node`)
 */
export function unsupportedNodeMessage(
  program: string,
  version: string = process.versions.node,
): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [minMajor = 0, minMinor = 0] = MINIMUM_NODE_VERSION.split('.').map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return `${program} needs Node.js ${MINIMUM_NODE_VERSION} or newer (24 recommended); this is Node.js ${version}`;
}
