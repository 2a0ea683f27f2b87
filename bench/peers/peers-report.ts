import { writeFileSync } from 'node:fs';
export function writePeersReport(r: unknown): void { writeFileSync('/tmp/perf-peers-raw.json', JSON.stringify(r, null, 1)); console.log(JSON.stringify(r).slice(0, 3000)); }
