import { timingSafeEqual } from 'node:crypto';
import type { KubernetesEmulatorUser } from './kubernetes-emulator.js';
import type { KubernetesUser } from './service-account-token-api.js';

/** The emulator's users and how a request's `Authorization` header is authenticated. */
export interface EmulatorUsers {
  /** The administrator (`system:masters`). */
  readonly admin: KubernetesUser;
  /** Adds (or replaces, by name) a user with its own bearer token. */
  add(user: KubernetesEmulatorUser): void;
  /** The bearer token of a user, by name. */
  tokenOf(userName: string): string | undefined;
  /** The user a header authenticates; `undefined` when refused (401). */
  authenticate(header: string | undefined): KubernetesUser | undefined;
}

// Compares in constant time, as credential checks should; a missing header never matches.
function authorized(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Users authenticated by static bearer tokens. Without an administrator token every request not
 * carrying another user's token is the administrator's.
 */
export function createEmulatorUsers(adminToken: string | undefined): EmulatorUsers {
  const admin: KubernetesUser = { name: 'admin', groups: ['system:masters'] };
  const expectedAuthorization =
    adminToken === undefined ? undefined : Buffer.from(`Bearer ${adminToken}`);
  const users = new Map<string, { user: KubernetesUser; token: string; authorization: Buffer }>();
  return {
    admin,
    add(user) {
      if (user.token.trim() === '')
        throw new TypeError(`users: the token of ${user.name} is empty`);
      users.set(user.name, {
        user: { name: user.name, groups: [...user.groups] },
        token: user.token,
        authorization: Buffer.from(`Bearer ${user.token}`),
      });
    },
    tokenOf: (userName) => users.get(userName)?.token,
    authenticate(header) {
      for (const candidate of users.values())
        if (authorized(header, candidate.authorization)) return candidate.user;
      if (expectedAuthorization === undefined) return admin;
      return authorized(header, expectedAuthorization) ? admin : undefined;
    },
  };
}
