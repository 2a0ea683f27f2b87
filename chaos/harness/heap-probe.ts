// Loaded into a daemon under test with `--expose-gc --import`: on SIGUSR2 it collects garbage twice
// and prints the heap in use on stderr as one line the harness reads (`chaos-heap {"heapUsed":…}`).
// Only the chaos tier loads it; the daemons themselves know nothing of it.
//
// For a leak hunt, CHAOS_HEAP_SNAPSHOT_DIR=<dir> with CHAOS_HEAP_SNAPSHOT_AT=<n>,<m>… also writes a
// heap snapshot after the n-th, m-th… reading (counted from 1) to <dir>/<pid>-<n>.heapsnapshot;
// chaos/harness/heap-snapshot-diff.ts compares two of them.
import process from 'node:process';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const collect = (globalThis as { gc?: () => void }).gc;
const snapshotDir = process.env.CHAOS_HEAP_SNAPSHOT_DIR;
const snapshotAt = new Set(
  (process.env.CHAOS_HEAP_SNAPSHOT_AT ?? '').split(',').filter(Boolean).map(Number),
);
let readings = 0;
process.on('SIGUSR2', () => {
  readings += 1;
  collect?.();
  collect?.();
  const { heapUsed, rss } = process.memoryUsage();
  if (snapshotDir !== undefined && snapshotAt.has(readings)) {
    writeHeapSnapshot(join(snapshotDir, `${String(process.pid)}-${String(readings)}.heapsnapshot`));
  }
  process.stderr.write(`chaos-heap ${JSON.stringify({ heapUsed, rss })}\n`);
});
