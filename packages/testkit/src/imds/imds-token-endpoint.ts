import type { IncomingMessage } from 'node:http';
import type { ArmEmulator, MachineDescription } from '../arm/start-arm-emulator.js';
import type { TokenEndpointFaults } from '../http/token-endpoint-faults.js';
import type { TokenIssuer } from '../entra/token-issuer.js';
import { IMDS_IDENTITY_SINCE, isImdsApiVersion } from './imds-api-versions.js';
import { ImdsError } from './imds-error.js';
import { throwInjectedImdsFailure, type ImdsRetryableStatus } from './imds-faults.js';
import { resolveImdsIdentity, type ImdsSelector } from './resolve-imds-identity.js';

/** What {@link createImdsTokenEndpoint} needs. */
export interface ImdsTokenEndpointOptions {
  readonly arm: ArmEmulator;
  readonly machine: MachineDescription;
  readonly issuer: TokenIssuer;
  readonly lifetimeMs: number;
  readonly faults: TokenEndpointFaults<ImdsRetryableStatus>;
}

/** The answer to one token request, with the selector it used and the client id it served. */
export interface ImdsTokenAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly selector: ImdsSelector;
  readonly clientId?: string;
}

const SELECTORS = ['client_id', 'object_id', 'msi_res_id', 'mi_res_id'] as const;

/**
 * Checks a token request as IMDS does (method, the `Metadata: true` SSRF guard, api-version,
 * resource, at most one selector), in that order, and returns the selector it names.
 */
function checkTokenRequest(url: URL, request: IncomingMessage): ImdsSelector {
  if (request.method !== 'GET')
    throw new ImdsError(405, 'method_not_allowed', 'Method not allowed');
  // The SSRF guard comes first: the SDK's availability probe (no header, no query) gets this 400 at once.
  if (request.headers.metadata !== 'true')
    throw new ImdsError(400, 'invalid_request', 'Required metadata header not specified');
  const query = url.searchParams;
  const apiVersion = query.get('api-version');
  if (!apiVersion)
    throw new ImdsError(400, 'invalid_request', 'Required query variable api-version is missing');
  if (!isImdsApiVersion(apiVersion) || apiVersion < IMDS_IDENTITY_SINCE)
    throw new ImdsError(
      400,
      'invalid_request',
      `api-version ${apiVersion} does not serve managed identity tokens`,
    );
  if (!query.get('resource'))
    throw new ImdsError(400, 'invalid_request', 'Required query variable resource is missing');
  const given = SELECTORS.filter((name) => query.get(name));
  if (given.length > 1) {
    throw new ImdsError(
      400,
      'invalid_request',
      'Only one of client_id, object_id or msi_res_id may be specified',
    );
  }
  return given[0] ?? 'none';
}

/**
 * The managed-identity token endpoint (`/metadata/identity/oauth2/token`): a token for the named
 * identity if the machine holds it in the ARM emulator's current state, IMDS's errors otherwise.
 */
export function createImdsTokenEndpoint(
  options: ImdsTokenEndpointOptions,
): (url: URL, request: IncomingMessage) => Promise<ImdsTokenAnswer> {
  const { faults } = options;
  return async (url, request) => {
    let selector: ImdsSelector = 'none';
    try {
      selector = checkTokenRequest(url, request);
      const query = url.searchParams;
      const resource = query.get('resource') ?? '';
      await faults.delay();
      throwInjectedImdsFailure(faults);
      const identity = resolveImdsIdentity(
        options.arm,
        options.machine,
        selector,
        selector === 'none' ? '' : (query.get(selector) ?? ''),
      );
      const issued = options.issuer.issue({
        audience: resource,
        tenantId: options.arm.tenantId,
        clientId: identity.clientId,
        objectId: identity.objectId,
        managedIdentityResourceId: identity.resourceId,
        lifetimeMs: options.lifetimeMs,
      });
      return {
        status: 200,
        selector,
        clientId: identity.clientId,
        // IMDS answers every numeric field as a string.
        body: {
          access_token: issued.accessToken,
          // The documented answer carries an empty refresh token (IMDS never issues one).
          refresh_token: '',
          client_id: identity.clientId,
          expires_in: String(issued.expiresIn),
          expires_on: String(issued.expiresOn),
          ext_expires_in: String(issued.expiresIn),
          not_before: String(issued.notBefore),
          resource,
          token_type: 'Bearer',
        },
      };
    } catch (error) {
      if (!(error instanceof ImdsError)) throw error;
      return {
        status: error.status,
        selector,
        body: { error: error.error, error_description: error.description },
        headers: error.headers,
      };
    }
  };
}
