import { describe, expect, it } from 'vitest';
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
