import type { IncomingMessage } from 'node:http';
import type { ArmOperation } from './arm-faults.js';
import type { ArmResult } from './arm-http.js';

/** A request path split into decoded segments, as written and lower-cased (ARM paths are case-insensitive). */
export interface ArmPath {
  readonly raw: readonly string[];
  readonly lower: readonly string[];
}

/** Splits a URL path into {@link ArmPath} segments. */
export function parseArmPath(pathname: string): ArmPath {
  const raw = pathname
    .split('/')
    .filter((segment) => segment.length > 0)
    .map((segment) => decodeURIComponent(segment));
  return { raw, lower: raw.map((segment) => segment.toLowerCase()) };
}

/** What a route gets once the router has checked authentication, `api-version` and faults. */
export interface ArmRequestContext {
  readonly request: IncomingMessage;
  /** `https://<host>`, for URLs the answer points back to (operation status). */
  readonly baseUrl: string;
  readonly apiVersion: string;
  /** The parsed JSON body of a PUT or PATCH (`{}` when empty); `undefined` for other methods. */
  readonly body: unknown;
}

/** A request one resource family recognised. */
export interface ArmRoute {
  /** The operation, or `undefined` when the path is the family's but the method is not served (405). */
  readonly operation: ArmOperation | undefined;
  /** Lower-cased id of the resource addressed (its scale set for an instance); absent for lists and polls. */
  readonly target: string | undefined;
  /** An update of a VM or scale set: one at a time per target, 409 while another is in progress. */
  readonly exclusiveUpdate?: boolean;
  readonly serve: (context: ArmRequestContext) => ArmResult | Promise<ArmResult>;
}

/** One resource family of the emulator: it recognises its paths and serves them. */
export interface ArmResourceFamily {
  /** The route of a request, or `undefined` if the path is not this family's. */
  route(path: ArmPath, method: string): ArmRoute | undefined;
}

/** A route for a path whose method is not served: the router answers 405. */
export const methodNotAllowed = (target: string | undefined): ArmRoute => ({
  operation: undefined,
  target,
  serve: () => {
    throw new Error('unreachable: the router answers 405 before serving');
  },
});

/**
 * Matches `/subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}/…`: the subscription, the
 * resource group and the segments after the namespace; `undefined` for any other path.
 */
export function matchResourceGroupProvider(
  path: ArmPath,
  namespace: string,
):
  | {
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly raw: readonly string[];
      readonly lower: readonly string[];
    }
  | undefined {
  const { raw, lower } = path;
  const subscriptionId = raw[1];
  const resourceGroup = raw[3];
  if (lower[0] !== 'subscriptions' || subscriptionId === undefined) return undefined;
  if (lower[2] !== 'resourcegroups' || resourceGroup === undefined || lower[4] !== 'providers')
    return undefined;
  if (lower[5] !== namespace.toLowerCase()) return undefined;
  return { subscriptionId, resourceGroup, raw: raw.slice(6), lower: lower.slice(6) };
}

/**
 * Matches `/subscriptions/{s}/providers/{namespace}/…` (subscription-wide lists, operation status):
 * the subscription and the segments after the namespace.
 */
export function matchSubscriptionProvider(
  path: ArmPath,
  namespace: string,
):
  | {
      readonly subscriptionId: string;
      readonly raw: readonly string[];
      readonly lower: readonly string[];
    }
  | undefined {
  const { raw, lower } = path;
  const subscriptionId = raw[1];
  if (lower[0] !== 'subscriptions' || subscriptionId === undefined) return undefined;
  if (lower[2] !== 'providers' || lower[3] !== namespace.toLowerCase()) return undefined;
  return { subscriptionId, raw: raw.slice(4), lower: lower.slice(4) };
}
