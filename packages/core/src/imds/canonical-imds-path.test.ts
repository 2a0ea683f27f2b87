import { describe, expect, it } from 'vitest';
import { canonicalImdsPath } from './canonical-imds-path.js';

describe('canonicalImdsPath', () => {
  it.each([
    ['/', '', true],
    ['/metadata/instance', 'metadata/instance', true],
    ['/metadata/instance/', 'metadata/instance', true],
    ['/Metadata/INSTANCE/compute', 'metadata/instance/compute', true],
    ['/metadata./identity/oauth2/token', 'metadata/identity/oauth2/token', false],
    ['/metadata/identity/oauth2/token...', 'metadata/identity/oauth2/token', false],
    ['/metadata/identity/oauth2/token%20', 'metadata/identity/oauth2/token', false],
    ['/metadata;/instance', 'metadata/instance', false],
    ['/metadata;v=1/identity/oauth2/token;.css', 'metadata/identity/oauth2/token', false],
    ['/metadata/identity/oauth2/token::$DATA', 'metadata/identity/oauth2/token', false],
    ['/%6Detadata/identity/oauth2/%74oken', 'metadata/identity/oauth2/token', false],
    ['/metadata%2fidentity%2Foauth2%2ftoken', 'metadata/identity/oauth2/token', false],
    ['/metadata/identity/oauth2/%252e%252e/oauth2/token', 'metadata/identity/oauth2/token', false],
    ['/metadata\\identity\\oauth2\\token', 'metadata/identity/oauth2/token', false],
    ['//metadata///identity/oauth2/token', 'metadata/identity/oauth2/token', false],
    ['/metadata/./identity/oauth2/x/../token', 'metadata/identity/oauth2/token', false],
    ['/metadata/instance/..;/identity/oauth2/token', 'metadata/identity/oauth2/token', false],
    ['/metadata/instance/.. /identity/oauth2/token', 'metadata/identity/oauth2/token', false],
    ['/../../metadata/instance', 'metadata/instance', false],
    ['/metadata/instance#compute', 'metadata/instance', false],
  ])('reads %j as /%s (clean: %s)', (path, canonical, clean) => {
    expect(canonicalImdsPath(path)).toEqual({
      segments: canonical === '' ? [] : canonical.split('/'),
      clean,
    });
  });

  it.each([
    '',
    'metadata/instance',
    '*',
    'http://169.254.169.254/metadata/instance',
    '/metadata/instance%',
    '/metadata/instance%zz',
    '/metadata/instance%2',
    '/metadata/%2525252e%2525252e/identity', // four rounds of encoding
    '/metadata/instance%00',
    '/metadata/instance\u0000',
    '/metadata/inst ance',
    '/metadata/instance%0d%0a',
    '/metadata/instance\u00a0',
    '/metadata/%c2%a0instance',
  ])('refuses %j', (path) => {
    expect(canonicalImdsPath(path)).toBeUndefined();
  });
});
