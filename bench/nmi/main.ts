// bench/nmi: NMI's cache-hit throughput and latency against a bare node:http server (the ceiling),
// the overhead of a cache miss over the upstream IMDS's own latency, and memory with 1,000 pods and
// 200 identities. The servers run in a child process pinned to one core; the load generator runs here
// (on the other core when there is one). Results: bench/results/nmi.json.
import '@pod-identity/test-support/source-hooks';

const role = process.argv[2];
await (role === 'server' ? import('./nmi-bench-server.ts') : import('./nmi-bench-client.ts'));
