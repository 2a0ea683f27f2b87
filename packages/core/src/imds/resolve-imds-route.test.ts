import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalImdsPath } from './canonical-imds-path.js';
import { resolveImdsRoute } from './resolve-imds-route.js';

describe('resolveImdsRoute', () => {
  it.each([
    ['/metadata/identity/oauth2/token', 'token'],
    ['/metadata/identity/oauth2/token/', 'token'],
    ['/METADATA/identity/oauth2/token/', 'token'],
    ['/Metadata/identity/oauth2/token', 'token'],
  ])('routes the token path %s to the token handler', (path, route) => {
    expect(resolveImdsRoute(path)).toBe(route);
  });

  it.each([
    // lookalikes the original proxied to the real IMDS, where the node identity would answer
    '/metadata/Identity/oauth2/token/',
    '/metadata/identity/OAuth2/token',
    '/metadata/identity/oauth2/tokenX',
    '/metadata/identity/oauth2/token//',
    '/metadata/identity\\oauth2/token',
    '/metadata/identity%2Foauth2/token',
    '/metadata/identity/oauth2/%74oken',
    '/metadata/identity/./oauth2/token',
    '/x/../metadata/identity/oauth2/token',
    '/metadata//identity/oauth2/token',
    '/metadata/instance/../identity/oauth2/token',
    '/foo/metadata/identity/oauth2/token',
    '//metadata/instance',
    '/metadata/instance%2f',
  ])('refuses the unclean or lookalike path %j', (path) => {
    expect(resolveImdsRoute(path)).toBe('invalid');
  });

  it('routes the host endpoint, with or without the slash', () => {
    expect(resolveImdsRoute('/host/token')).toBe('host-token');
    expect(resolveImdsRoute('/host/token/')).toBe('host-token');
    expect(resolveImdsRoute('/host/tokens')).toBe('proxy');
  });

  it('routes instance metadata case-insensitively, as the original did', () => {
    expect(resolveImdsRoute('/metadata/instance')).toBe('instance');
    expect(resolveImdsRoute('/Metadata/instance/')).toBe('instance');
    expect(resolveImdsRoute('/metadata/INSTANCE/compute')).toBe('instance');
  });

  it('passes everything else through', () => {
    expect(resolveImdsRoute('/')).toBe('proxy');
    expect(resolveImdsRoute('/doesnotexist')).toBe('proxy');
    expect(resolveImdsRoute('/metadata/scheduledevents')).toBe('proxy');
    expect(resolveImdsRoute('/metadata/identity/info')).toBe('proxy');
  });

  // Spellings a lenient server (IMDS's is not documented) may route to the token endpoint. None may
  // be passed through: each is refused (400), and only the exact spelling reaches the broker.
  it.each([
    ['/metadata./identity/oauth2/token', 'invalid'],
    ['/metadata/identity./oauth2/token', 'invalid'],
    ['/metadata/identity/oauth2/token.', 'invalid'],
    ['/metadata/identity/oauth2/token..', 'invalid'],
    ['/metadata/identity/oauth2/token%20', 'invalid'],
    ['/metadata;/identity/oauth2/token', 'invalid'],
    ['/metadata;x=1/identity/oauth2/token', 'invalid'],
    ['/metadata/identity;/oauth2/token', 'invalid'],
    ['/metadata/identity/oauth2/token;', 'invalid'],
    ['/metadata/identity/oauth2/token;.css', 'invalid'],
    ['/metadata/identity/oauth2/token::$DATA', 'invalid'],
    ['/metadata/IDENTITY/oauth2/token', 'invalid'],
    ['/METADATA/IDENTITY/OAUTH2/TOKEN', 'invalid'],
    ['/metadata/identity/oauth2/TOKEN/', 'invalid'],
    ['/%6detadata/identity/oauth2/token', 'invalid'],
    ['/metadata%2fidentity%2foauth2%2ftoken', 'invalid'],
    ['/metadata/identity/oauth2/token%2f', 'invalid'],
    ['/metadata/identity/oauth2/token%252f', 'invalid'],
    ['/%252e/metadata/identity/oauth2/token', 'invalid'],
    ['/metadata/identity/oauth2/./token', 'invalid'],
    ['/metadata/identity/oauth2/x/../token', 'invalid'],
    ['/metadata/identity/oauth2/x/..;/token', 'invalid'],
    ['/metadata/instance/..;/identity/oauth2/token', 'invalid'],
    ['/metadata/identity/oauth2/%2e%2e/oauth2/token', 'invalid'],
    ['/metadata\\identity\\oauth2\\token', 'invalid'],
    ['/metadata/identity/oauth2/token#', 'invalid'],
    ['/metadata/identity/oauth2/token#x', 'invalid'],
    ['/metadata/identity/oauth2/token/.', 'invalid'],
    ['/metadata/identityx/oauth2/token', 'invalid'],
    ['/metadata/identity', 'invalid'],
    ['/metadata/identity/', 'invalid'],
    ['/metadata/identity/info/../oauth2/token', 'invalid'],
    ['/metadata/identity/info;/../oauth2/token', 'invalid'],
    ['/metadata/identity/INFO/', 'proxy'],
    ['/metadata/identity/info.', 'invalid'],
    ['/metadata/identity/oauth2/token%00', 'malformed'],
    ['/metadata/identity/oauth2/token%', 'malformed'],
    ['/metadata/identity/oauth2/token%zz', 'malformed'],
    ['/metadata/identity/oauth2/token%2525252f', 'malformed'],
    ['http://169.254.169.254/metadata/identity/oauth2/token', 'malformed'],
  ])('routes the token spelling %j to %s', (path, route) => {
    expect(resolveImdsRoute(path)).toBe(route);
  });

  // Spellings of instance metadata: blocked (403) or passed through only when spelled canonically;
  // any other spelling is refused, so `--block-instance-metadata` cannot be walked around.
  it.each([
    ['/metadata/instance', 'instance'],
    ['/Metadata/Instance/compute', 'instance'],
    ['/metadata/instance/', 'instance'],
    ['/metadata/instancex', 'instance'],
    ['/metadata;/instance', 'invalid'],
    ['/metadata./instance', 'invalid'],
    ['/metadata/instance.', 'invalid'],
    ['/metadata/%69nstance', 'invalid'],
    ['/metadata//instance', 'invalid'],
    ['/x/../metadata/instance', 'invalid'],
    ['/metadata/instance;x', 'invalid'],
    ['/metadata\\instance', 'invalid'],
    ['/metadata/instance#', 'invalid'],
    ['/metadata/instance::$DATA', 'invalid'],
    ['/metadata/identity/../instance', 'invalid'],
    ['http://169.254.169.254/metadata/instance', 'malformed'],
    ['*', 'malformed'],
  ])('routes the instance spelling %j to %s', (path, route) => {
    expect(resolveImdsRoute(path)).toBe(route);
  });

  it('never passes through a spelling of the token or instance endpoints (random spellings)', () => {
    const mangle = fc.constantFrom(
      (s: string) => s.toUpperCase(),
      (s: string) => `${s}.`,
      (s: string) => `${s};x=1`,
      (s: string) => `${s}:`,
      (s: string) => `${s}%20`,
      (s: string) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`,
      (s: string) => `%25${s.charCodeAt(0).toString(16)}${s.slice(1)}`,
      (s: string) => `./${s}`,
      (s: string) => `x/../${s}`,
      (s: string) => `x/..;/${s}`,
      (s: string) => `/${s}`,
      (s: string) => s,
    );
    const spelling = fc.record({
      target: fc.constantFrom(
        ['metadata', 'identity', 'oauth2', 'token'],
        ['metadata', 'instance'],
      ),
      mangles: fc.array(mangle, { minLength: 4, maxLength: 4 }),
      separator: fc.constantFrom('/', '\\', '%2f', '%5c', '/./'),
      trailer: fc.constantFrom('', '/', '#', '?', '/.', ';'),
    });
    fc.assert(
      fc.property(spelling, ({ target, mangles, separator, trailer }) => {
        const segments = target.map((segment, i) => (mangles[i] ?? ((s: string) => s))(segment));
        const path = `/${segments.join(separator)}${trailer === '?' ? '' : trailer}`;
        const route = resolveImdsRoute(path);
        const canonical = canonicalImdsPath(path);
        expect(route).not.toBe('proxy');
        expect(route).not.toBe('host-token');
        if (route === 'token') expect(path).toMatch(/^\/metadata\/identity\/oauth2\/token\/?$/i);
        if (route === 'instance') expect(canonical?.clean).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
