// The Node.js version check every pod-identity program makes before loading anything else.

/**
 * The oldest Node.js the packages run on: 22.12 is the first 22.x that loads ES modules with
 * `require()` without a flag, which the Azure and Kubernetes SDKs' dependencies rely on (on Node 20
 * they fail deep inside undici with a TypeError that says nothing about the version).
 */
export const MINIMUM_NODE_VERSION = '22.12.0';

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
  if (major > 22 || (major === 22 && minor >= 12)) return undefined;
  return `${program} needs Node.js ${MINIMUM_NODE_VERSION} or newer (22.12+, 24 recommended); this is Node.js ${version}`;
}
