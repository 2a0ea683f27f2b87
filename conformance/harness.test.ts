/**
 * The harness itself: compaction makes every handed-out resourceVersion 410 Gone on the real server
 * (what the contract tests' compact() relies on), and stop() leaves nothing running or on disk.
 */
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  connectRealCluster,
  locateKubeBinaries,
  startRealCluster,
  type RealCluster,
} from './harness.ts';

let cluster: RealCluster;
const ns = `harness-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  cluster = await connectRealCluster();
  expect(
    (await cluster.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } }))
      .status,
  ).toBe(201);
});

/** The first event line of a watch (the stream stays open, so it is read up to one newline). */
function firstWatchEvent(path: string): Promise<{
  type: string;
  object: { code?: number; reason?: string; metadata?: { name?: string } };
}> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, cluster.server),
      { ca: cluster.caPem, headers: { Authorization: `Bearer ${cluster.tokens.admin}` } },
      (res) => {
        let buffered = '';
        res.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const newline = buffered.indexOf('\n');
          if (newline >= 0) {
            req.destroy();
            resolve(JSON.parse(buffered.slice(0, newline)) as never);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

describe('compact()', () => {
  it('turns every earlier resourceVersion into 410 for watches and continue tokens', async () => {
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const created = await cluster.request('POST', base, { body: { metadata: { name: 'a' } } });
    const createdRv = (created.body as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion;
    await cluster.request('POST', base, { body: { metadata: { name: 'b' } } });
    const updated = await cluster.request('PUT', `${base}/a`, {
      body: { metadata: { name: 'a' }, data: { x: 'y' } },
    });
    const latestRv = (updated.body as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion;
    const page = await cluster.request('GET', `${base}?limit=1`);
    const token = (page.body as { metadata: { continue?: string } }).metadata.continue;
    expect(token).toBeTruthy();

    const compactedAt = await cluster.compact();
    expect(compactedAt).toBeGreaterThan(Number(latestRv));

    // The revision right before the update too: not 500 "PrevKv=nil", but 410 Expired.
    const stale = await firstWatchEvent(`${base}?watch=true&resourceVersion=${createdRv}`);
    expect(stale.type).toBe('ERROR');
    expect(stale.object).toMatchObject({ code: 410, reason: 'Expired' });
    const staleContinue = await cluster.request(
      'GET',
      `${base}?limit=1&continue=${encodeURIComponent(token!)}`,
    );
    expect(staleContinue.status).toBe(410);
    expect((staleContinue.body as { reason: string }).reason).toBe('Expired');

    // A watch from the newest resourceVersion still works and sees what happens next.
    const next = firstWatchEvent(`${base}?watch=true&resourceVersion=${latestRv}`);
    await cluster.request('DELETE', `${base}/b`);
    expect(await next).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'b' } } });
  });
});

describe('startRealCluster()', () => {
  it('serves the pinned version and stop() leaves no process listening and no files behind', async () => {
    const own = await startRealCluster();
    try {
      expect(own.version).toBe((await locateKubeBinaries()).kubeVersion);
      expect(cluster.version).toBe(own.version);
      expect(own.server).not.toBe(cluster.server);
      expect(await portOpen(own.server)).toBe(true);
      expect(await portOpen(own.etcdUrl)).toBe(true);
      // Static tokens only: no token, no access.
      const anonymous = await new Promise<number>((resolve, reject) => {
        httpsRequest(new URL('/api/v1/namespaces', own.server), { ca: own.caPem }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(anonymous).toBe(401);
    } finally {
      await own.stop();
    }
    expect(await portOpen(own.server)).toBe(false);
    expect(await portOpen(own.etcdUrl)).toBe(false);
    await expect(access(own.dir)).rejects.toThrow();
  }, 180_000);
});
