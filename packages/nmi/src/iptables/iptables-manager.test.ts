import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createConntrackRunner, type ConntrackRunner } from './delete-conntrack-entries.js';
import { createIptablesManager, type IptablesRunner } from './iptables-manager.js';

// A fake iptables holding the nat table's custom chains and PREROUTING, enough to check that the
// manager creates, detects drift, repairs and removes.
function fakeIptables() {
  const chains = new Map<string, string[]>();
  const prerouting: string[] = [];
  const calls: string[] = [];
  const runner: IptablesRunner = (args) => {
    calls.push(args.join(' '));
    const [, , op = '', chain, ...rest] = args;
    const ok = (stdout = '') => Promise.resolve({ code: 0, stdout, stderr: '' });
    const fail = () =>
      Promise.resolve({ code: 1, stdout: '', stderr: 'No chain/target/match by that name.' });
    if (chain === 'PREROUTING') {
      const rule = rest.filter((a) => a !== '1').join(' ');
      if (op === '-C') return prerouting.includes(rule) ? ok() : fail();
      if (op === '-I') return (prerouting.unshift(rule), ok());
      if (op === '-D') {
        const i = prerouting.indexOf(rule);
        return i === -1 ? fail() : (prerouting.splice(i, 1), ok());
      }
    }
    if (chain === undefined) return fail();
    const rules = chains.get(chain);
    switch (op) {
      case '-N':
        return rules === undefined ? (chains.set(chain, []), ok()) : fail();
      case '-S':
        return rules === undefined ? fail() : ok([`-N ${chain}`, ...rules].join('\n') + '\n');
      case '-F':
        return rules === undefined ? fail() : (rules.splice(0), ok());
      case '-X':
        return rules === undefined || rules.length > 0 ? fail() : (chains.delete(chain), ok());
      case '-A':
        return rules === undefined ? fail() : (rules.push(['-A', chain, ...rest].join(' ')), ok());
      default:
        return fail();
    }
  };
  return { chains, prerouting, calls, runner };
}

describe('createIptablesManager', () => {
  it('installs the chain and the jump once, then finds them current', async () => {
    const fake = fakeIptables();
    const manager = createIptablesManager({ runner: fake.runner });
    expect(manager.installed).toBe(false);
    expect(await manager.ensure()).toBe(true);
    expect(manager.installed).toBe(true);
    expect(fake.chains.get('aad-metadata')).toEqual(manager.rules.expectedListing.slice(1));
    expect(fake.prerouting).toEqual(['-j aad-metadata']);
    expect(await manager.ensure()).toBe(false);
  });

  it('repairs a tampered chain and a removed jump', async () => {
    const fake = fakeIptables();
    const manager = createIptablesManager({ runner: fake.runner });
    await manager.ensure();
    fake.chains.get('aad-metadata')?.unshift('-A aad-metadata -j ACCEPT');
    fake.prerouting.splice(0);
    expect(await manager.ensure()).toBe(true);
    expect(fake.chains.get('aad-metadata')).toEqual(manager.rules.expectedListing.slice(1));
    expect(fake.prerouting).toEqual(['-j aad-metadata']);
  });

  it('removes everything on cleanup, and says so when a step fails', async () => {
    const fake = fakeIptables();
    const manager = createIptablesManager({ runner: fake.runner });
    await manager.ensure();
    expect(await manager.cleanup()).toBe(true);
    expect(fake.chains.size).toBe(0);
    expect(fake.prerouting).toEqual([]);
    expect(await manager.cleanup()).toBe(false);
  });

  it('fails the first ensure loudly when iptables cannot add a rule', async () => {
    const failing: IptablesRunner = () =>
      Promise.resolve({ code: 4, stdout: '', stderr: 'Permission denied (you must be root)' });
    await expect(createIptablesManager({ runner: failing }).start()).rejects.toThrow(
      /Permission denied/,
    );
  });
});

describe('createIptablesManager with conntrackDeletion', () => {
  it('deletes the metadata connections’ entries once, right after the first install', async () => {
    const fake = fakeIptables();
    const conntrackCalls: { args: string; jumpInPlace: boolean }[] = [];
    const conntrack: ConntrackRunner = (args) => {
      conntrackCalls.push({ args: args.join(' '), jumpInPlace: fake.prerouting.length === 1 });
      return Promise.resolve({
        code: 0,
        stdout: '',
        stderr: 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n',
      });
    };
    const manager = createIptablesManager({
      runner: fake.runner,
      metadataIp: '169.254.169.254',
      metadataPort: 80,
      conntrackDeletion: { runner: conntrack },
    });
    await manager.ensure();
    expect(conntrackCalls).toEqual([
      { args: '-D -p tcp --orig-dst 169.254.169.254 --orig-port-dst 80', jumpInPlace: true },
    ]);
    // Later repairs do not delete again: only connections from before NMI started need it.
    fake.prerouting.splice(0);
    expect(await manager.ensure()).toBe(true);
    expect(conntrackCalls).toHaveLength(1);
  });

  it('does not delete before the rules are in place', async () => {
    const failing: IptablesRunner = () =>
      Promise.resolve({ code: 4, stdout: '', stderr: 'Permission denied (you must be root)' });
    const conntrack = vi.fn<ConntrackRunner>();
    const manager = createIptablesManager({
      runner: failing,
      conntrackDeletion: { runner: conntrack },
    });
    await expect(manager.start()).rejects.toThrow(/Permission denied/);
    expect(conntrack).not.toHaveBeenCalled();
  });

  it('warns once and keeps going when conntrack is not installed', async () => {
    const fake = fakeIptables();
    const warn = vi.fn();
    const manager = createIptablesManager({
      runner: fake.runner,
      updateIntervalMs: 60_000,
      conntrackDeletion: { runner: createConntrackRunner(join(tmpdir(), 'no-such-conntrack')) },
      logger: { info: vi.fn(), warn, error: vi.fn() },
    });
    await manager.start();
    manager.stop();
    expect(manager.installed).toBe(true);
    expect(fake.prerouting).toEqual(['-j aad-metadata']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatch(/^conntrack is not installed/);
    expect(await manager.ensure()).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
