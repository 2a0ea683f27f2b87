import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn, startDaemonHttpServers, type DaemonHttpServers } from './daemon-http-servers.js';

const host = '127.0.0.1';
let servers: DaemonHttpServers | undefined;

afterEach(async () => {
  await servers?.close();
  servers = undefined;
});

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${host}:${String(port)}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('startDaemonHttpServers', () => {
  it('answers /healthz with the current readiness and /metrics from the source, nothing else', async () => {
    let active = false;
    servers = await startDaemonHttpServers({
      isActive: () => active,
      metrics: {
        metrics: () => Promise.resolve('up 1\n'),
        contentType: 'text/plain; version=0.0.4',
      },
      probePort: 0,
      metricsPort: 0,
      host,
    });
    expect(await get(servers.probePort, '/healthz')).toEqual({ status: 200, body: 'Not Active' });
    active = true;
    expect(await get(servers.probePort, '/healthz?x=1')).toEqual({ status: 200, body: 'Active' });
    expect(await get(servers.probePort, '/debug/pprof/')).toEqual({
      status: 404,
      body: '404 page not found\n',
    });
    expect(await get(servers.probePort, '/metrics')).toMatchObject({ status: 404 });
    expect(await get(servers.metricsPort, '/metrics')).toEqual({ status: 200, body: 'up 1\n' });
    expect(await get(servers.metricsPort, '/healthz')).toMatchObject({ status: 404 });
  });

  it('answers 500 and reports it when the metrics cannot be rendered', async () => {
    const errors: unknown[] = [];
    servers = await startDaemonHttpServers({
      isActive: () => true,
      metrics: { metrics: () => Promise.reject(new Error('boom')), contentType: 'text/plain' },
      probePort: 0,
      metricsPort: 0,
      host,
      logger: { error: (fields) => errors.push(fields.err) },
    });
    expect((await get(servers.metricsPort, '/metrics')).status).toBe(500);
    expect(errors).toEqual([new Error('boom')]);
  });

  it('rejects when a port is taken', async () => {
    const taken = createServer();
    const { port } = await listenOn(taken, 0, host);
    try {
      await expect(
        startDaemonHttpServers({
          isActive: () => true,
          metrics: { metrics: () => Promise.resolve(''), contentType: 'text/plain' },
          probePort: 0,
          metricsPort: port,
          host,
        }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
