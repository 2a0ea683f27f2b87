import { describe, expect, it } from 'vitest';
import {
  createTokenIssuer,
  decodeToken,
  getSharedTokenIssuer,
  TokenVerificationError,
  verifyToken,
} from './token-issuer.js';

describe('token issuer', () => {
  const issuer = getSharedTokenIssuer();
  const input = {
    audience: 'https://management.azure.com/',
    tenantId: 't',
    clientId: 'c',
    objectId: 'o',
    managedIdentityResourceId: '/x',
  };

  it('signs RS256 tokens whose claims name the identity and verify with its key', () => {
    const issued = issuer.issue(input);
    const { header, claims } = decodeToken(issued.accessToken);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: issuer.keyId });
    expect(claims).toMatchObject({
      aud: input.audience,
      appid: 'c',
      oid: 'o',
      tid: 't',
      xms_mirid: '/x',
      iss: 'https://sts.windows.net/t/',
    });
    expect(claims.exp - claims.iat).toBe(86_400);
    expect(
      verifyToken(issued.accessToken, issuer.publicKeyPem, {
        audience: 'https://management.azure.com',
      }).appid,
    ).toBe('c');
  });

  it('refuses a token of another issuer, a tampered one, an expired one, and a wrong audience', () => {
    const issued = issuer.issue(input);
    expect(() => verifyToken(issued.accessToken, createTokenIssuer())).toThrow(
      TokenVerificationError,
    );
    const [head, , signature] = issued.accessToken.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...decodeToken(issued.accessToken).claims, appid: 'other' }),
    ).toString('base64url');
    expect(() => issuer.verify(`${head ?? ''}.${forged}.${signature ?? ''}`)).toThrow(/signature/);
    expect(() =>
      issuer.verify(issued.accessToken, { now: new Date(Date.now() + 2 * 86_400_000) }),
    ).toThrow(/expired/);
    expect(() =>
      issuer.verify(issued.accessToken, { audience: 'https://vault.azure.net' }),
    ).toThrow(/audience/);
    expect(() => decodeToken('not-a-jwt')).toThrow(TokenVerificationError);
  });
});
