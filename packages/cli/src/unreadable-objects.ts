import type { UnreadableObject } from './cluster-client.js';
import { formatTable } from './output-format.js';

/** An unreadable object as `-o json|yaml` prints it (without the raw object). */
export interface UnreadableObjectData {
  kind: string;
  namespace: string;
  name: string;
  problem: string;
}

/**
 * The data form of unreadable objects, sorted by kind, namespace and name.
 * @param objects - what the listing could not parse
 */
export function unreadableData(objects: readonly UnreadableObject[]): UnreadableObjectData[] {
  return objects
    .map(({ kind, namespace, name, problem }) => ({ kind, namespace, name, problem }))
    .sort((a, b) =>
      `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`),
    );
}

/**
 * The table section that follows a listing when some objects could not be read: each with its name
 * and why, so that one malformed object is named instead of failing the whole command.
 * @param objects - what the listing could not parse
 * @param title - the section's first line
 * @returns the section, or `''` when there is nothing to show
 */
export function renderUnreadable(
  objects: readonly UnreadableObject[],
  title = 'Could not read',
): string {
  if (objects.length === 0) return '';
  const rows = unreadableData(objects).map((o) => [o.kind, o.namespace, o.name, o.problem]);
  const table = formatTable(['kind', 'namespace', 'name', 'problem'], rows)
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return `${title} (${String(objects.length)}):\n${table}\n`;
}
