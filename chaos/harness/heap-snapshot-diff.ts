// Compares two V8 heap snapshots (as heap-probe.ts writes them): objects by type and constructor
// name, count and self size in each, largest growth first. A leak shows as a constructor whose count
// grows with the cycles run between the two snapshots.
//
//   node chaos/harness/heap-snapshot-diff.ts <before.heapsnapshot> <after.heapsnapshot> [rows]
import { readFileSync } from 'node:fs';

interface Snapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] };
  };
  readonly nodes: number[];
  readonly strings: string[];
}

interface Group {
  count: number;
  size: number;
}

/** Objects of a snapshot by `type:name`. */
export function groupSnapshot(file: string): Map<string, Group> {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = parsed.snapshot.meta.node_fields;
  const types = parsed.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  for (let i = 0; i < parsed.nodes.length; i += width) {
    const type = types[parsed.nodes[i + typeAt]!] ?? '?';
    const rawName = parsed.strings[parsed.nodes[i + nameAt]!] ?? '';
    // Strings and code are grouped by type only: their "names" are their contents.
    const name = type === 'object' || type === 'closure' ? rawName : '';
    const key = `${type}:${name}`;
    const group = groups.get(key) ?? { count: 0, size: 0 };
    group.count += 1;
    group.size += parsed.nodes[i + sizeAt]!;
    groups.set(key, group);
  }
  return groups;
}

const [before, after, rows = '25'] = process.argv.slice(2);
if (before !== undefined && after !== undefined) {
  const a = groupSnapshot(before);
  const b = groupSnapshot(after);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const diff = [...keys].map((key) => {
    const x = a.get(key) ?? { count: 0, size: 0 };
    const y = b.get(key) ?? { count: 0, size: 0 };
    return { key, count: y.count - x.count, size: y.size - x.size, countAfter: y.count };
  });
  diff.sort((l, r) => r.size - l.size);
  const total = (g: Map<string, Group>): number => [...g.values()].reduce((s, v) => s + v.size, 0);
  console.log(`self size: ${String(total(a))} → ${String(total(b))} bytes`);
  for (const row of diff.slice(0, Number(rows)))
    console.log(
      `${String(row.size).padStart(9)} B ${String(row.count).padStart(7)} objects (now ${String(row.countAfter)})  ${row.key}`,
    );
}
