import { randomUUID } from 'node:crypto';

/**
 * The `identity.type` values ARM accepts on Microsoft.Compute resources. ARM also accepts
 * `SystemAssigned,UserAssigned` without the space and any letter case; it answers with these spellings.
 */
export const ArmIdentityType = {
  None: 'None',
  SystemAssigned: 'SystemAssigned',
  UserAssigned: 'UserAssigned',
  SystemAndUserAssigned: 'SystemAssigned, UserAssigned',
} as const;

/** One of {@link ArmIdentityType}. */
export type ArmIdentityType = (typeof ArmIdentityType)[keyof typeof ArmIdentityType];

/** A user-assigned identity as the emulator stores it on a VM or scale set. */
export interface AssignedUserIdentity {
  /** The resource id with the letter case of the request that first assigned it. */
  readonly resourceId: string;
  readonly clientId: string;
  readonly principalId: string;
}

/** A system-assigned identity (its service principal). */
export interface SystemIdentity {
  readonly principalId: string;
  /** The application (client) id of the system-assigned service principal, used as `appid` in its tokens. */
  readonly clientId: string;
}

/** The identity state of one VM or scale set. */
export interface ResourceIdentityState {
  system: SystemIdentity | undefined;
  /** Keyed by lower-cased resource id: ARM compares identity ids case-insensitively. */
  readonly user: Map<string, AssignedUserIdentity>;
}

/** An error the emulator answers with, in ARM's `{ error: { code, message } }` shape. */
export class ArmHttpError extends Error {
  override readonly name = 'ArmHttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Parses an `identity.type` as ARM does: case-insensitive, with or without the space after the comma. */
export function parseIdentityType(value: unknown): ArmIdentityType {
  if (typeof value !== 'string') {
    throw new ArmHttpError(
      400,
      'InvalidParameter',
      `The value of parameter identity.type is invalid: ${JSON.stringify(value)}.`,
    );
  }
  const normalized = value.replace(/\s+/g, '').toLowerCase();
  switch (normalized) {
    case 'none':
      return ArmIdentityType.None;
    case 'systemassigned':
      return ArmIdentityType.SystemAssigned;
    case 'userassigned':
      return ArmIdentityType.UserAssigned;
    case 'systemassigned,userassigned':
    case 'userassigned,systemassigned':
      return ArmIdentityType.SystemAndUserAssigned;
    default:
      throw new ArmHttpError(
        400,
        'InvalidParameter',
        `The value '${value}' of parameter identity.type is invalid.`,
      );
  }
}

/** The `identity.type` that describes a state. */
export function identityTypeOf(state: ResourceIdentityState): ArmIdentityType {
  const hasSystem = state.system !== undefined;
  const hasUser = state.user.size > 0;
  if (hasSystem && hasUser) return ArmIdentityType.SystemAndUserAssigned;
  if (hasSystem) return ArmIdentityType.SystemAssigned;
  if (hasUser) return ArmIdentityType.UserAssigned;
  return ArmIdentityType.None;
}

/** Creates a new system-assigned identity with fresh GUIDs. */
export function newSystemIdentity(): SystemIdentity {
  return { principalId: randomUUID(), clientId: randomUUID() };
}

/** The ARM JSON of a resource's `identity`, or `undefined` for type None (ARM then omits the property). */
export function identityToJson(
  state: ResourceIdentityState,
  tenantId: string,
): Record<string, unknown> | undefined {
  const type = identityTypeOf(state);
  if (type === ArmIdentityType.None) return undefined;
  const json: Record<string, unknown> = { type };
  if (state.system) {
    json.principalId = state.system.principalId;
    json.tenantId = tenantId;
  }
  if (state.user.size > 0) {
    json.userAssignedIdentities = Object.fromEntries(
      [...state.user.values()].map((identity) => [
        identity.resourceId,
        { principalId: identity.principalId, clientId: identity.clientId },
      ]),
    );
  }
  return json;
}

/** Looks up a user-assigned identity to be added: its client and principal ids, or undefined if it does not exist. */
export type UserIdentityResolver = (
  resourceId: string,
) => { clientId: string; principalId: string } | undefined;

/** The parsed delta of a PATCH body's `identity`. */
export interface IdentityPatch {
  readonly type: ArmIdentityType | undefined;
  /** Ids to add (`{}` values), as written in the request. */
  readonly add: readonly string[];
  /** Ids to remove (`null` values), as written in the request. */
  readonly remove: readonly string[];
}

const USER_IDENTITY_ID =
  /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/i;

/** Parses and validates `body.identity` of a PATCH; `undefined` when the body has no identity. */
export function parseIdentityPatch(identity: unknown): IdentityPatch | undefined {
  if (identity === undefined) return undefined;
  if (identity === null || typeof identity !== 'object' || Array.isArray(identity)) {
    throw new ArmHttpError(400, 'InvalidParameter', 'The value of parameter identity is invalid.');
  }
  const record = identity as Record<string, unknown>;
  const type = record.type === undefined ? undefined : parseIdentityType(record.type);
  const map = record.userAssignedIdentities;
  const add: string[] = [];
  const remove: string[] = [];
  if (map !== undefined && map !== null) {
    if (typeof map !== 'object' || Array.isArray(map)) {
      throw new ArmHttpError(
        400,
        'InvalidParameter',
        'The value of parameter identity.userAssignedIdentities is invalid.',
      );
    }
    for (const [id, value] of Object.entries(map as Record<string, unknown>)) {
      if (!USER_IDENTITY_ID.test(id)) {
        throw new ArmHttpError(
          400,
          'InvalidIdentityValues',
          `Invalid value for the identities '${id}'. The 'UserAssignedIdentities' property keys should only be empty or be valid resource ids.`,
        );
      }
      if (value === null) remove.push(id);
      else if (typeof value === 'object' && !Array.isArray(value)) add.push(id);
      else
        throw new ArmHttpError(
          400,
          'InvalidParameter',
          `The value of identity.userAssignedIdentities['${id}'] is invalid.`,
        );
    }
  }
  return { type, add, remove };
}

/**
 * Applies an identity PATCH to a state, as ARM does:
 * - `type` is taken literally: a type without `SystemAssigned` deletes the system-assigned identity
 *   (which is why MIC keeps `SystemAssigned` in the type it sends), and one with it creates one.
 * - map entries `{}` add, `null` remove; ids compare case-insensitively; entries not mentioned stay.
 * - A type without `UserAssigned` clears every user-assigned identity; `UserAssigned` with none left is an error.
 * - With no `type`, the type follows from what remains.
 *
 * Returns the ids that do not exist (for `FailedIdentityOperation`); on success the state is changed.
 */
export function applyIdentityPatch(
  state: ResourceIdentityState,
  patch: IdentityPatch,
  resolve: UserIdentityResolver,
): { readonly missing: readonly string[] } {
  const missing = patch.add.filter((id) => resolve(id) === undefined);
  if (missing.length > 0) return { missing };
  const type = patch.type;
  const wantsUser =
    type === undefined ||
    type === ArmIdentityType.UserAssigned ||
    type === ArmIdentityType.SystemAndUserAssigned;
  if (!wantsUser && patch.add.length > 0) {
    throw new ArmHttpError(
      400,
      'InvalidIdentityValues',
      `Invalid value for the identities '${patch.add.join(',')}'. The 'UserAssignedIdentities' property keys should only be empty when identity type is '${type}'.`,
    );
  }
  const next = new Map(state.user);
  for (const id of patch.remove) next.delete(id.toLowerCase());
  for (const id of patch.add) {
    const key = id.toLowerCase();
    if (next.has(key)) continue; // keep the stored spelling of an identity already assigned
    const found = resolve(id);
    if (found)
      next.set(key, { resourceId: id, clientId: found.clientId, principalId: found.principalId });
  }
  if (!wantsUser) next.clear();
  if (
    (type === ArmIdentityType.UserAssigned || type === ArmIdentityType.SystemAndUserAssigned) &&
    next.size === 0
  ) {
    throw new ArmHttpError(
      400,
      'InvalidIdentityValues',
      `Invalid value for the identities. The 'UserAssignedIdentities' property must not be empty when identity type is '${type}'.`,
    );
  }
  if (type !== undefined) {
    const wantsSystem =
      type === ArmIdentityType.SystemAssigned || type === ArmIdentityType.SystemAndUserAssigned;
    if (wantsSystem) state.system ??= newSystemIdentity();
    else state.system = undefined;
  }
  state.user.clear();
  for (const [key, value] of next) state.user.set(key, value);
  return { missing: [] };
}
