import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, startLoopbackServer } from './start-loopback-server.js';

describe('startLoopbackServer', () => {
  it('refuses to listen on a non-loopback address', async () => {
    await expect(
      startLoopbackServer({ host: '0.0.0.0', handler: () => undefined }),
    ).rejects.toThrow(RangeError);
    expect(isLoopbackAddress('127.3.9.2')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
    expect(isLoopbackAddress('localhost')).toBe(false);
  });

  it('answers 500 when the handler throws, so a bug never hangs a client', async () => {
    const server = await startLoopbackServer({
      handler: () => {
        throw new Error('boom');
      },
    });
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(500);
    } finally {
      await server.close();
    }
  });
});
