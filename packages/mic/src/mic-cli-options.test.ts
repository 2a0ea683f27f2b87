import { describe, expect, it } from 'vitest';
import { parseMicArgs } from './mic-cli-options.js';

describe('parseMicArgs', () => {
  it('has the original defaults', () => {
    const o = parseMicArgs([], {});
    expect(o).toMatchObject({
      kubeconfig: '',
      cloudconfig: '',
      forceNamespaced: false,
      syncRetryDurationMs: 3_600_000,
      leaderElectionNamespace: 'default',
      leaderElectionName: 'aad-pod-identity-mic',
      leaderElectionDurationMs: 15_000,
      httpProbePort: 8080,
      prometheusPort: 8888,
      createDeleteBatch: 20,
      clientQps: 5,
      immutableUserMsis: [],
      enableTypeUpgrade: true,
      adoptGoMicAssignments: true,
      updateUserMsiMaxRetry: 2,
      updateUserMsiRetryIntervalMs: 1000,
      identityAssignmentReconcileIntervalMs: 180_000,
      logFormat: 'text',
    });
    expect(o.leaderElectionInstance).not.toBe('');
  });

  it('accepts kebab-case, the old camelCase spellings, single dashes and Go booleans', () => {
    const o = parseMicArgs(
      [
        '--forceNamespaced=true',
        '-syncRetryDuration=30s',
        '--createDeleteBatch',
        '7',
        '--immutable-user-msis=a, b',
        '--enable-type-upgrade=false',
        '--adopt-go-mic-assignments=false',
        '--identity-assignment-reconcile-interval=2m',
      ],
      {},
    );
    expect(o).toMatchObject({
      forceNamespaced: true,
      syncRetryDurationMs: 30_000,
      createDeleteBatch: 7,
      immutableUserMsis: ['a', 'b'],
      enableTypeUpgrade: false,
      adoptGoMicAssignments: false,
      identityAssignmentReconcileIntervalMs: 120_000,
    });
    expect(parseMicArgs(['--force-namespaced'], {}).forceNamespaced).toBe(true);
    expect(parseMicArgs(['--cloud-config=/etc/azure.json'], {}).cloudconfig).toBe(
      '/etc/azure.json',
    );
    expect(parseMicArgs(['-cloudconfig', '/a.json', '-v=4'], {})).toMatchObject({
      cloudconfig: '/a.json',
      verbosity: 4,
    });
  });

  it('takes FORCENAMESPACED=true from the environment, exactly', () => {
    expect(parseMicArgs([], { FORCENAMESPACED: 'true' }).forceNamespaced).toBe(true);
    expect(parseMicArgs([], { FORCENAMESPACED: 'TRUE' }).forceNamespaced).toBe(false);
  });

  it('refuses bad values with a clear message', () => {
    expect(() => parseMicArgs(['--leader-election-duration=soon'], {})).toThrow(
      /invalid duration "soon"/,
    );
    expect(() => parseMicArgs(['--http-probe-port=99999'], {})).toThrow(/0…65535/);
    expect(() => parseMicArgs(['--no-such-flag'], {})).toThrow(/unknown option/);
  });
});
