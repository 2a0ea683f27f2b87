// Finds and runs the helm binary that scripts/conformance/build-kube.sh builds from the Go module
// proxy into the cache directory outside the repository. The version is read from that script, so the
// two never disagree about which helm the chart is rendered with.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the repository (this file lives in scripts/deploy/). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The chart directory. */
export const CHART_DIR = join(REPO_ROOT, 'deploy/charts/pod-identity');

const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/conformance/build-kube.sh');

function pinnedVersion(variable: string): string {
  const script = readFileSync(BUILD_SCRIPT, 'utf8');
  const match = new RegExp(`^${variable}="(v\\d+\\.\\d+\\.\\d+)"`, 'm').exec(script);
  if (!match?.[1]) throw new Error(`no ${variable}="vX.Y.Z" line in ${BUILD_SCRIPT}`);
  return match[1];
}

/** The helm version pinned by scripts/conformance/build-kube.sh (for example `v3.19.5`). */
export function pinnedHelmVersion(): string {
  return pinnedVersion('HELM_VERSION');
}

/**
 * The Kubernetes version of the conformance tier's kube-apiserver, passed to `helm template` and
 * `helm lint` as `--kube-version`: a helm built with `go install` reports v1.20.0 as the cluster
 * version otherwise, and the rendered manifests must not depend on how helm was built.
 */
export function pinnedKubeVersion(): string {
  return pinnedVersion('KUBE_VERSION');
}

/**
 * Path of the helm binary: `$POD_IDENTITY_HELM` when set, else the cache that build-kube.sh fills
 * (`${POD_IDENTITY_CACHE:-$HOME/.cache/pod-identity}/helm-<version>/helm`). Throws with the command
 * that builds it when it is missing.
 */
export function findHelm(): string {
  const explicit = process.env.POD_IDENTITY_HELM;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`POD_IDENTITY_HELM=${explicit} does not exist`);
    return explicit;
  }
  const cache = process.env.POD_IDENTITY_CACHE ?? join(homedir(), '.cache/pod-identity');
  const path = join(cache, `helm-${pinnedHelmVersion()}`, 'helm');
  if (!existsSync(path)) {
    throw new Error(`helm not found at ${path}: build it with scripts/conformance/build-kube.sh`);
  }
  return path;
}

/** What a helm run printed. */
export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs helm with `args` in the repository root, with its state directories kept in a throwaway place
 * so no user configuration or repository cache changes what it renders. Never throws on a non-zero
 * exit: the caller decides what a failure means.
 */
export function runHelm(args: readonly string[], signal?: AbortSignal): Promise<HelmResult> {
  const helm = findHelm();
  const state = join(REPO_ROOT, 'node_modules/.cache/helm');
  return new Promise((resolve, reject) => {
    execFile(
      helm,
      [...args],
      {
        cwd: REPO_ROOT,
        signal,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: state,
          HELM_CACHE_HOME: join(state, 'cache'),
          HELM_CONFIG_HOME: join(state, 'config'),
          HELM_DATA_HOME: join(state, 'data'),
        },
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
        } else if (typeof error.code === 'number') {
          resolve({ code: error.code, stdout, stderr });
        } else {
          // Not an exit status: helm could not be started, or the signal aborted it.
          reject(new Error(`helm ${args.join(' ')} did not run`, { cause: error }));
        }
      },
    );
  });
}
