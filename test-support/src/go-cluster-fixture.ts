/**
 * Cluster states as the Go original (AAD Pod Identity) leaves them, kept as JSON under
 * `test-support/fixtures/` so that they read as the objects a real cluster holds. Each file names
 * the Go release it mirrors in its `about` lines; the shapes are described in this project's words.
 */
import { readFileSync } from 'node:fs';
import type { GoObject } from './go-original-objects.js';

/** One fixture file: the objects, and what the test must set up around them. */
export interface GoClusterFixture {
  /** What the state is and which Go release it mirrors. */
  about: string[];
  /** The user-assigned identities the state names (placeholder names), all to create in ARM. */
  identities: string[];
  /** Identities (by placeholder name) the Go MIC put on the scale set; records account for them. */
  assignedByGoMic: string[];
  /** Identities (by placeholder name) an administrator put on the scale set; no record names them. */
  assignedByHand: string[];
  /** Pods that run when the Go MIC stops. */
  runningPods: { name: string; labels: Record<string, string> }[];
  /** The custom resources, in the order to write them (records last). */
  objects: GoObject[];
}

/**
 * Reads a fixture file of `test-support/fixtures/`.
 * @param file - file name, e.g. `go-mic-v1.8.17-upgrade.json`
 */
export function readGoClusterFixture(file: string): GoClusterFixture {
  const url = new URL(`../fixtures/${file}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as GoClusterFixture;
}

/**
 * Replaces every `{{key}}` in an object's strings with `values(key)`.
 * @param object - a fixture object
 * @param values - the value of each placeholder
 * @throws Error naming a placeholder `values` does not know
 */
export function fillPlaceholders<T>(object: T, values: (key: string) => string | undefined): T {
  const text = JSON.stringify(object).replace(/\{\{([^}]+)\}\}/gu, (_match, key: string) => {
    const value = values(key);
    if (value === undefined) throw new Error(`fixture placeholder {{${key}}} has no value`);
    // The value goes inside a JSON string.
    return JSON.stringify(value).slice(1, -1);
  });
  return JSON.parse(text) as T;
}
