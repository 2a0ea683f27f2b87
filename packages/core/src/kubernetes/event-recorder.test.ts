import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../work-queue/clock.js';
import { createManualClock } from '../work-queue/manual-clock.js';
import { createEventRecorder, type EventObjectReference } from './event-recorder.js';
import { createRateLimiter } from './rate-limiter.js';

// A loopback stand-in for the API server's event writes: it records each POST body.
async function startEventSink(): Promise<{
  kubeConfig: KubeConfig;
  posted: { reason: string; message: string; involvedObject: { name: string } }[];
  whenPosted: (count: number) => Promise<void>;
  close: () => Promise<void>;
}> {
  const posted: { reason: string; message: string; involvedObject: { name: string } }[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  const wake = (): void => {
    for (const w of waiters.filter((x) => posted.length >= x.count)) w.resolve();
    waiters = waiters.filter((x) => posted.length < x.count);
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'POST') posted.push(JSON.parse(body) as (typeof posted)[number]);
      wake();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(body === '' ? '{}' : body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return {
    kubeConfig,
    posted,
    whenPosted: (count) =>
      new Promise<void>((resolve) => {
        waiters.push({ count, resolve });
        wake();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

const binding = (name: string): EventObjectReference => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentityBinding',
  namespace: 'default',
  name,
});

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('createEventRecorder spam filter', () => {
  it('writes the first `burst` events per object and type, drops the rest, and refills over time', async () => {
    const sink = await startEventSink();
    close = sink.close;
    let now = 1_000_000;
    const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };
    const dropped: string[] = [];
    const recorder = createEventRecorder({
      kubeConfig: sink.kubeConfig,
      component: 'test',
      clock,
      spamFilter: { burst: 3, refillIntervalMs: 60_000 },
      onDropped: (object, type) => dropped.push(`${object.name}/${type}`),
    });
    for (let i = 0; i < 5; i += 1)
      recorder.event(binding('a'), 'Normal', 'binding applied', `pod ${i}`);
    // Another object, and a Warning on the same object, have budgets of their own.
    recorder.event(binding('b'), 'Normal', 'binding applied', 'pod x');
    recorder.event(binding('a'), 'Warning', 'binding apply error', 'boom');
    await recorder.flush();
    expect(sink.posted.map((e) => `${e.involvedObject.name}:${e.message}`).sort()).toEqual(
      ['a:pod 0', 'a:pod 1', 'a:pod 2', 'a:boom', 'b:pod x'].sort(),
    );
    expect(dropped).toEqual(['a/Normal', 'a/Normal']);
    now += 60_000;
    recorder.event(binding('a'), 'Normal', 'binding applied', 'pod 5');
    recorder.event(binding('a'), 'Normal', 'binding applied', 'pod 6');
    await recorder.flush();
    expect(sink.posted.map((e) => e.message)).toContain('pod 5');
    expect(sink.posted.map((e) => e.message)).not.toContain('pod 6');
  });

  it('refuses a spam filter that is not a positive budget', async () => {
    const sink = await startEventSink();
    close = sink.close;
    expect(() =>
      createEventRecorder({
        kubeConfig: sink.kubeConfig,
        component: 'test',
        spamFilter: { burst: 0, refillIntervalMs: 1 },
      }),
    ).toThrow(/spamFilter/);
  });

  it('waits for the rate limiter before each write', async () => {
    const sink = await startEventSink();
    close = sink.close;
    const clock = createManualClock();
    const recorder = createEventRecorder({
      kubeConfig: sink.kubeConfig,
      component: 'test',
      rateLimiter: createRateLimiter({ qps: 20, burst: 1, clock }),
    });
    for (let i = 0; i < 4; i += 1) recorder.event(binding('a'), 'Normal', 'r', `m${i}`);
    // One at once, then one more each time 50 ms pass.
    for (let written = 1; written <= 3; written += 1) {
      await clock.whenSleeping(1);
      await sink.whenPosted(written);
      const waiting = clock.pendingSleeps();
      await clock.advance(49);
      // The next writes still wait for the limiter, and nothing else went out.
      expect(clock.pendingSleeps()).toBe(waiting);
      expect(sink.posted).toHaveLength(written);
      await clock.advance(1);
    }
    await recorder.flush();
    expect(sink.posted.map((e) => e.message)).toEqual(['m0', 'm1', 'm2', 'm3']);
  });
});
