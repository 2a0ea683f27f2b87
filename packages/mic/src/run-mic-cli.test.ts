import { describe, expect, it } from 'vitest';
import { MIC_VERSION, runMicCli } from './run-mic-cli.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      stopRequested: new Promise<void>(() => undefined),
    },
  };
}

describe('runMicCli', () => {
  it('requires MIC_POD_NAMESPACE to run, but not for --help or --version', async () => {
    const x = io();
    expect(await runMicCli([], {}, x.io)).toBe(1);
    expect(x.err.join('')).toMatch(/MIC_POD_NAMESPACE must be set/);
    const help = io();
    expect(await runMicCli(['--help'], {}, help.io)).toBe(0);
    expect(help.out.join('')).toMatch(/--identity-assignment-reconcile-interval/);
    const version = io();
    expect(await runMicCli(['--version'], {}, version.io)).toBe(0);
    expect(version.out.join('')).toBe(`${MIC_VERSION}\n`);
  });

  it('prints help with every flag', async () => {
    const x = io();
    expect(await runMicCli(['--help'], { MIC_POD_NAMESPACE: 'kube-system' }, x.io)).toBe(0);
    expect(x.out.join('')).toMatch(/--identity-assignment-reconcile-interval/);
  });

  it('prints the version', async () => {
    const x = io();
    expect(await runMicCli(['--version'], { MIC_POD_NAMESPACE: 'kube-system' }, x.io)).toBe(0);
    expect(x.out.join('')).toBe(`${MIC_VERSION}\n`);
  });

  it('exits 2 on bad usage and 1 on a malformed azure.json', async () => {
    const usage = io();
    expect(await runMicCli(['--bogus'], { MIC_POD_NAMESPACE: 'kube-system' }, usage.io)).toBe(2);
    expect(usage.err.join('')).toMatch(/unknown option '--bogus'/);
    const bad = io();
    expect(
      await runMicCli(
        ['--cloudconfig', '/nonexistent/azure.json'],
        { MIC_POD_NAMESPACE: 'kube-system', LOG_LEVEL: 'silent' },
        bad.io,
      ),
    ).toBe(1);
  });
});
