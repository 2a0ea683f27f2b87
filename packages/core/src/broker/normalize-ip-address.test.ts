import { describe, expect, it } from 'vitest';
import { normalizeIpAddress } from './normalize-ip-address.js';

describe('normalizeIpAddress', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['010.000.000.005', '10.0.0.5'],
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['::FFFF:0a00:0005', '10.0.0.5'],
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['FD00::0001', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['::1', '::1'],
    ['::', '::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ])('writes %s as %s', (input, expected) => {
    expect(normalizeIpAddress(input)).toBe(expected);
  });

  it.each([
    '',
    'x',
    '1.2.3',
    '1.2.3.256',
    '1::2::3',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8:9',
    '12345::1',
  ])('rejects %j', (input) => {
    expect(normalizeIpAddress(input)).toBeUndefined();
  });
});
