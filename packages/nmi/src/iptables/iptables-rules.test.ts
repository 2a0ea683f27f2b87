import { describe, expect, it } from 'vitest';
import { buildIptablesRules, isChainCurrent } from './iptables-rules.js';

describe('buildIptablesRules', () => {
  it('builds the original chain, jump and cleanup', () => {
    const rules = buildIptablesRules();
    expect(rules.expectedListing).toEqual([
      '-N aad-metadata',
      '-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579',
      '-A aad-metadata -j RETURN',
    ]);
    expect(rules.checkJump).toEqual(['-t', 'nat', '-C', 'PREROUTING', '-j', 'aad-metadata']);
    expect(rules.insertJump).toEqual(['-t', 'nat', '-I', 'PREROUTING', '1', '-j', 'aad-metadata']);
    expect(rules.cleanup).toEqual([
      ['-t', 'nat', '-D', 'PREROUTING', '-j', 'aad-metadata'],
      ['-t', 'nat', '-F', 'aad-metadata'],
      ['-t', 'nat', '-X', 'aad-metadata'],
    ]);
  });

  it('redirects to the listen address and port, and 0.0.0.0 to 127.0.0.1', () => {
    expect(
      buildIptablesRules({ targetIp: '10.0.0.4', targetPort: 3000, metadataPort: 8080 })
        .expectedListing[1],
    ).toBe(
      '-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.4:3000',
    );
    expect(buildIptablesRules({ targetIp: '0.0.0.0' }).expectedListing[1]).toContain(
      '--to-destination 127.0.0.1:2579',
    );
  });

  it('refuses values that would make a wrong or injected rule', () => {
    expect(() => buildIptablesRules({ targetIp: '127.0.0.1 -j ACCEPT' })).toThrow(TypeError);
    expect(() => buildIptablesRules({ metadataIp: '::1' })).toThrow(TypeError);
    expect(() => buildIptablesRules({ targetPort: 0 })).toThrow(TypeError);
    expect(() => buildIptablesRules({ chain: 'a b' })).toThrow(TypeError);
  });
});

describe('isChainCurrent', () => {
  const rules = buildIptablesRules();
  it('accepts exactly the expected listing', () => {
    expect(isChainCurrent(`${rules.expectedListing.join('\n')}\n`, rules)).toBe(true);
  });
  it('rejects a missing, extra, reordered or altered rule', () => {
    const [n, dnat, ret] = rules.expectedListing;
    expect(isChainCurrent([n, ret].join('\n'), rules)).toBe(false);
    expect(isChainCurrent([n, dnat, ret, '-A aad-metadata -j ACCEPT'].join('\n'), rules)).toBe(
      false,
    );
    expect(isChainCurrent([n, ret, dnat].join('\n'), rules)).toBe(false);
    expect(isChainCurrent([n, dnat?.replace('2579', '2580'), ret].join('\n'), rules)).toBe(false);
  });
});
