import { describe, expect, it } from 'vitest';
import { PodIndex, type PodRecord } from './pod-index.js';

const pod = (
  name: string,
  ip: string | string[],
  phase = 'Running',
  extra: Partial<PodRecord> = {},
): PodRecord => ({
  namespace: 'default',
  name,
  phase,
  podIPs: Array.isArray(ip) ? ip : [ip],
  labels: {},
  ...extra,
});

describe('PodIndex', () => {
  it('finds a live pod by its IPv4 and IPv6 addresses, in any spelling a socket reports', () => {
    const index = new PodIndex();
    const a = pod('a', ['10.0.0.5', 'fd00::0005']);
    index.upsert(a);
    expect(index.lookup('10.0.0.5')).toEqual({ kind: 'pod', pod: a });
    expect(index.lookup('::ffff:10.0.0.5')).toEqual({ kind: 'pod', pod: a });
    expect(index.lookup('fd00::5')).toEqual({ kind: 'pod', pod: a });
    expect(index.lookup('FD00:0:0:0:0:0:0:5')).toEqual({ kind: 'pod', pod: a });
    expect(index.lookup('10.0.0.6')).toEqual({ kind: 'unknown' });
  });

  it('never matches a terminated pod, even when it still holds the IP', () => {
    const index = new PodIndex();
    index.upsert(pod('done', '10.0.0.5', 'Succeeded'));
    index.upsert(pod('failed', '10.0.0.6', 'Failed'));
    index.upsert(pod('unknown', '10.0.0.7', 'Unknown'));
    expect(index.lookup('10.0.0.5').kind).toBe('unknown');
    expect(index.lookup('10.0.0.6').kind).toBe('unknown');
    expect(index.lookup('10.0.0.7').kind).toBe('unknown');
  });

  it('hands a reused IP to the new pod once the old one terminates, never before', () => {
    const index = new PodIndex();
    const old = pod('old', '10.0.0.5');
    const fresh = pod('new', '10.0.0.5', 'Pending');
    index.upsert(old);
    index.upsert(fresh);
    const shared = index.lookup('10.0.0.5');
    expect(shared.kind).toBe('shared');
    index.upsert({ ...old, phase: 'Succeeded' });
    expect(index.lookup('10.0.0.5')).toEqual({ kind: 'pod', pod: fresh });
    index.remove('default', 'new');
    expect(index.lookup('10.0.0.5').kind).toBe('unknown');
  });

  it('reports a shared IP until all but one claimant is gone', () => {
    const index = new PodIndex();
    index.upsert(pod('a', '10.0.0.5'));
    index.upsert(pod('b', '10.0.0.5'));
    index.upsert(pod('c', '10.0.0.5'));
    index.remove('default', 'a');
    expect(index.lookup('10.0.0.5').kind).toBe('shared');
    index.remove('default', 'b');
    expect(index.lookup('10.0.0.5')).toMatchObject({ kind: 'pod', pod: { name: 'c' } });
  });

  it('ignores host-network pods, which share the node IP', () => {
    const index = new PodIndex();
    index.upsert(pod('h', '10.240.0.4', 'Running', { hostNetwork: true }));
    expect(index.lookup('10.240.0.4').kind).toBe('unknown');
    expect(index.get('default', 'h')?.name).toBe('h');
  });

  it('re-indexes a pod whose IP changes and tells subscribers', () => {
    const index = new PodIndex();
    let changes = 0;
    const unsubscribe = index.subscribe(() => (changes += 1));
    index.upsert(pod('a', []));
    index.upsert(pod('a', '10.0.0.9'));
    expect(index.lookup('10.0.0.9').kind).toBe('pod');
    index.upsert(pod('a', '10.0.0.10'));
    expect(index.lookup('10.0.0.9').kind).toBe('unknown');
    unsubscribe();
    index.remove('default', 'a');
    expect(changes).toBe(3);
    expect(index.size).toBe(0);
  });
});
