import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  buildConntrackDeleteArgs,
  createConntrackRunner,
  deleteConntrackEntries,
  type ConntrackRunner,
} from './delete-conntrack-entries.js';

const summary = (count: number): string =>
  `conntrack v1.4.7 (conntrack-tools): ${String(count)} flow entries have been deleted.\n`;

function logger() {
  return { info: vi.fn(), warn: vi.fn() };
}

describe('buildConntrackDeleteArgs', () => {
  it('matches TCP by original destination address and port, IMDS by default', () => {
    expect(buildConntrackDeleteArgs()).toEqual([
      '-D',
      '-p',
      'tcp',
      '--orig-dst',
      '169.254.169.254',
      '--orig-port-dst',
      '80',
    ]);
    expect(buildConntrackDeleteArgs({ metadataIp: '10.0.0.9', metadataPort: 8080 })).toEqual([
      '-D',
      '-p',
      'tcp',
      '--orig-dst',
      '10.0.0.9',
      '--orig-port-dst',
      '8080',
    ]);
  });

  it('refuses what would make conntrack delete something else', () => {
    // An empty or odd address would widen or break the filter; the rule builder refuses the same.
    for (const metadataIp of ['', 'metadata.internal', '169.254.169', '::1', '1.2.3.256'])
      expect(() => buildConntrackDeleteArgs({ metadataIp })).toThrow(TypeError);
    for (const metadataPort of [0, 65536, 80.5, Number.NaN])
      expect(() => buildConntrackDeleteArgs({ metadataPort })).toThrow(TypeError);
  });
});

describe('deleteConntrackEntries', () => {
  it('reports and logs how many entries were deleted', async () => {
    const log = logger();
    const runner = vi.fn<ConntrackRunner>(() =>
      Promise.resolve({ code: 0, stdout: 'tcp 6 431999 ESTABLISHED …\n', stderr: summary(3) }),
    );
    expect(await deleteConntrackEntries({ runner, logger: log })).toEqual({
      outcome: 'deleted',
      count: 3,
    });
    expect(runner.mock.calls[0]?.[0]).toEqual(buildConntrackDeleteArgs());
    expect(log.info).toHaveBeenCalledWith(
      { endpoint: '169.254.169.254:80', count: 3 },
      'deleted conntrack entries of metadata connections',
    );
    expect(log.warn).not.toHaveBeenCalled();
  });

  it('treats conntrack’s exit 1 for “nothing matched” as success with 0', async () => {
    const log = logger();
    const runner: ConntrackRunner = () =>
      Promise.resolve({ code: 1, stdout: '', stderr: summary(0) });
    expect(await deleteConntrackEntries({ runner, logger: log })).toEqual({
      outcome: 'deleted',
      count: 0,
    });
    expect(log.warn).not.toHaveBeenCalled();
  });

  it('warns once, and does not throw, when conntrack fails', async () => {
    const log = logger();
    const runner: ConntrackRunner = () =>
      Promise.resolve({
        code: 1,
        stdout: '',
        stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n',
      });
    const result = await deleteConntrackEntries({ runner, logger: log });
    expect(result.outcome).toBe('failed');
    expect(result.outcome === 'failed' && result.message).toMatch(/Operation not permitted/);
    expect(log.warn).toHaveBeenCalledTimes(1);
  });

  it('warns once with a clear message when the conntrack program is missing', async () => {
    const log = logger();
    const result = await deleteConntrackEntries({
      runner: createConntrackRunner(join(tmpdir(), 'no-such-conntrack')),
      logger: log,
    });
    expect(result).toEqual({ outcome: 'not-installed' });
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn.mock.calls[0]?.[1]).toBe(
      'conntrack is not installed: connections to the metadata endpoint opened before the redirect keep bypassing nmi until they close',
    );
    expect(log.info).not.toHaveBeenCalled();
  });

  it('rejects with the abort reason when aborted', async () => {
    const controller = new AbortController();
    const runner: ConntrackRunner = (_args, abortSignal) =>
      new Promise((_resolve, reject) => {
        abortSignal?.addEventListener('abort', () => {
          reject(new Error('killed'));
        });
      });
    const pending = deleteConntrackEntries({ runner, abortSignal: controller.signal });
    const reason = new Error('nmi is stopping');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('checks the endpoint before running anything', async () => {
    const runner = vi.fn<ConntrackRunner>();
    await expect(deleteConntrackEntries({ runner, metadataIp: 'imds' })).rejects.toThrow(TypeError);
    expect(runner).not.toHaveBeenCalled();
  });
});
