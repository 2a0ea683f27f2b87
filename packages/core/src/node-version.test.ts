import { describe, expect, it } from 'vitest';
import { MINIMUM_NODE_VERSION, unsupportedNodeMessage } from './node-version.js';

describe('unsupportedNodeMessage', () => {
  it("draws the line at 22.19, the oldest Node.js the Kubernetes client's undici declares", () => {
    expect(unsupportedNodeMessage('x', '22.18.0')).toBe(
      'x needs Node.js 22.19.0 or newer (24 recommended); this is Node.js 22.18.0',
    );
    expect(unsupportedNodeMessage('x', '22.12.0')).toContain('needs Node.js 22.19.0');
    expect(unsupportedNodeMessage('x', '18.20.4')).toContain('this is Node.js 18.20.4');
    for (const version of ['22.19.0', '22.20.1', '23.0.0', '24.21.0']) {
      expect(unsupportedNodeMessage('x', version), version).toBeUndefined();
    }
  });

  it('names the minimum the programs declare in engines', () => {
    expect(MINIMUM_NODE_VERSION).toBe('22.19.0');
  });
});
