import { describe, expect, it } from 'vitest';
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
    'metadata/identity/oauth2/token',
    '',
    '/metadata/identity/oauth2/token\u0000',
    '/a b',
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
});
