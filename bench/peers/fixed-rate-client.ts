// Open-loop load at a fixed offered rate, for bench/peers' latency-at-half-capacity figure (wrk only
// drives a server as fast as it answers). Each keep-alive connection sends on its own schedule
// (offset so the connections interleave); latency runs from the moment a request was due, so a
// server that falls behind is charged for the wait (no coordinated omission). Prints one JSON line.
//
// Usage: node fixed-rate-client.ts <host> <port> <path> <requests/s> <connections> <durationMs>
import net from 'node:net';

const [
  host = '127.0.0.1',
  portText = '0',
  path = '/',
  rateText = '1000',
  connText = '16',
  msText = '4000',
] = process.argv.slice(2);
const rate = Number(rateText);
const connections = Number(connText);
const durationMs = Number(msText);
const intervalMs = (1000 * connections) / rate;
const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nMetadata: true\r\n\r\n`);
const capacity = Math.ceil((rate * durationMs) / 1000) + connections;
const latencies = new Float64Array(capacity);
let count = 0;
let errors = 0;
let non2xx = 0;

function connection(index: number, start: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(portText), noDelay: true });
    let due = start + (index * intervalMs) / connections;
    let sentFor = -1;
    let buffered = '';
    let timer: NodeJS.Timeout | undefined;
    const end = start + durationMs;
    const send = (): void => {
      timer = undefined;
      if (due >= end) {
        socket.end();
        resolve();
        return;
      }
      sentFor = due;
      socket.write(request);
    };
    const schedule = (): void => {
      const wait = due - performance.now();
      if (wait <= 0) send();
      else timer = setTimeout(send, wait);
    };
    socket.on('connect', schedule);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const headerEnd = buffered.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const head = buffered.slice(0, headerEnd);
        const match = /content-length:\s*(\d+)/i.exec(head);
        let total: number;
        if (match !== null) total = headerEnd + 4 + Number(match[1]);
        else if (/transfer-encoding:\s*chunked/i.test(head)) {
          const last = buffered.indexOf('\r\n0\r\n\r\n', headerEnd);
          if (last < 0) return;
          total = last + 7;
        } else total = headerEnd + 4;
        if (buffered.length < total) return;
        if (!buffered.startsWith('HTTP/1.1 2')) non2xx += 1;
        buffered = buffered.slice(total);
        if (count < capacity) latencies[count] = performance.now() - sentFor;
        count += 1;
        due += intervalMs;
        schedule();
      }
    });
    socket.on('error', () => {
      errors += 1;
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    });
  });
}

const start = performance.now() + 50;
await Promise.all(Array.from({ length: connections }, (_, i) => connection(i, start)));
const sorted = latencies.subarray(0, Math.min(count, capacity)).sort();
const at = (p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
const percentilesUs: Record<string, number> = {};
for (const p of [1, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97, 98, 99, 99.5, 99.9])
  percentilesUs[String(p)] = Math.round(at(p) * 1000);
process.stdout.write(
  `${JSON.stringify({ requests: count, offered: rate, durationMs, errors, non2xx, percentilesUs })}\n`,
);
