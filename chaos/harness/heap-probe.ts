// Loaded into a daemon under test with `--expose-gc --import`: on SIGUSR2 it collects garbage twice
// and prints the heap in use on stderr as one line the harness reads (`chaos-heap {"heapUsed":…}`).
// Only the chaos tier loads it; the daemons themselves know nothing of it.
import process from 'node:process';

const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  collect?.();
  collect?.();
  const { heapUsed, rss } = process.memoryUsage();
  process.stderr.write(`chaos-heap ${JSON.stringify({ heapUsed, rss })}\n`);
});
