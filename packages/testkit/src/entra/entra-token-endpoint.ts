import type { IncomingMessage } from 'node:http';
import { checkClientAssertion } from './check-client-assertion.js';
import {
  EntraError,
  entraErrorBody,
  missingClientCredential,
  missingParameter,
  requireJwtBearerAssertion,
} from './entra-error.js';
import { throwInjectedEntraFailure } from './entra-faults.js';
import type { TokenEndpointFaults } from '../http/token-endpoint-faults.js';
import {
  validateFederatedAssertion,
  type FederatedApplication,
  type IssuerKeyResolver,
} from './federated-assertion.js';
import type { ServicePrincipalDirectory, StoredPrincipal } from './service-principal-directory.js';
import type { IssuedToken, TokenIssuer } from './token-issuer.js';

/** What {@link createEntraTokenEndpoint} needs. */
export interface EntraTokenEndpointOptions {
  readonly principals: ServicePrincipalDirectory;
  readonly faults: TokenEndpointFaults<number>;
  readonly tokenIssuer: TokenIssuer;
  readonly lifetimeMs: number;
  readonly issuerKeys: IssuerKeyResolver;
  /** The application with federated credentials for this client id, if there is one. */
  readonly findFederated: (tenantId: string, clientId: string) => FederatedApplication | undefined;
  /** The emulator's own URL, which client assertions name as their audience. */
  readonly baseUrl: () => string;
}

/** The answer to one token request, with what the request log records of it. */
export interface TokenAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly clientId: string | undefined;
  readonly kind: 'secret' | 'assertion' | 'federated';
}

/** Answers one token request of a tenant (the request's body is read here). */
export type EntraTokenEndpoint = (
  request: IncomingMessage,
  tenant: string,
  version: 'v1' | 'v2.0',
) => Promise<TokenAnswer>;

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The resource a client-credentials request asks for: v2.0's one `<resource>/.default` scope, v1's `resource`. */
function tokenAudience(form: URLSearchParams, version: 'v1' | 'v2.0'): string {
  if (version === 'v1') {
    const resource = form.get('resource');
    if (!resource) throw missingParameter('resource');
    return resource;
  }
  const scope = form.get('scope') ?? '';
  const scopes = scope
    .split(' ')
    .filter((item) => item.length > 0 && !['openid', 'profile', 'offline_access'].includes(item));
  if (scopes.length !== 1 || !scopes[0]?.endsWith('/.default')) {
    throw new EntraError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  return scopes[0].slice(0, -'/.default'.length);
}

/** v2.0 answers numbers, v1 answers strings (and adds expires_on / not_before / resource). */
function tokenBody(
  version: 'v1' | 'v2.0',
  issued: IssuedToken,
  audience: string,
): Record<string, unknown> {
  return version === 'v2.0'
    ? {
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        ext_expires_in: issued.expiresIn,
        access_token: issued.accessToken,
      }
    : {
        token_type: 'Bearer',
        expires_in: String(issued.expiresIn),
        ext_expires_in: String(issued.expiresIn),
        expires_on: String(issued.expiresOn),
        not_before: String(issued.notBefore),
        resource: audience,
        access_token: issued.accessToken,
      };
}

/** A service principal authenticates with its certificate's client assertion or its secret. */
function authenticatePrincipal(
  principal: StoredPrincipal,
  form: URLSearchParams,
  assertionAudiences: readonly string[],
): void {
  if (form.has('client_assertion')) {
    requireJwtBearerAssertion(form);
    checkClientAssertion(principal, form.get('client_assertion') ?? '', assertionAudiences);
    return;
  }
  const secret = form.get('client_secret');
  if (!secret) throw missingClientCredential();
  if (principal.secret === undefined || secret !== principal.secret) {
    throw new EntraError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${form.get('client_id') ?? ''}'.`,
    );
  }
}

/**
 * The token endpoint (`/{tenant}/oauth2/v2.0/token`, `/{tenant}/oauth2/token`), grant
 * `client_credentials`: a registered service principal signs in with its secret or certificate, an
 * application with federated credentials with an external issuer's token (a cluster's
 * service-account token), checked against those credentials. Refusals carry Entra's AADSTS codes.
 */
export function createEntraTokenEndpoint(options: EntraTokenEndpointOptions): EntraTokenEndpoint {
  const { principals, faults, tokenIssuer, lifetimeMs } = options;

  const issueFederated = async (
    application: FederatedApplication,
    form: URLSearchParams,
    audience: string,
  ): Promise<IssuedToken> => {
    if (!form.has('client_assertion')) throw missingClientCredential();
    requireJwtBearerAssertion(form);
    const refused = await validateFederatedAssertion(
      form.get('client_assertion') ?? '',
      application,
      options.issuerKeys,
      Math.floor(Date.now() / 1000),
    );
    if (refused !== undefined)
      throw new EntraError(refused.status, refused.error, refused.code, refused.description);
    return tokenIssuer.issue({
      audience,
      tenantId: application.tenantId,
      clientId: application.clientId,
      objectId: application.objectId,
      ...(application.managedIdentityResourceId === undefined
        ? {}
        : { managedIdentityResourceId: application.managedIdentityResourceId }),
      lifetimeMs,
    });
  };

  const issue = async (
    form: URLSearchParams,
    tenant: string,
    version: 'v1' | 'v2.0',
    federated: FederatedApplication | undefined,
  ): Promise<IssuedToken & { audience: string }> => {
    if (!principals.hasTenant(tenant) && federated === undefined) {
      throw new EntraError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
    await faults.delay();
    throwInjectedEntraFailure(faults);
    if (form.get('grant_type') !== 'client_credentials') {
      throw new EntraError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${form.get('grant_type') ?? ''}'.`,
      );
    }
    const clientId = form.get('client_id');
    if (!clientId) throw missingParameter('client_id');
    const audience = tokenAudience(form, version);
    if (federated !== undefined)
      return { ...(await issueFederated(federated, form, audience)), audience };
    const principal = principals.get(tenant, clientId);
    if (!principal) {
      throw new EntraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );
    }
    const baseUrl = options.baseUrl();
    authenticatePrincipal(principal, form, [
      `${baseUrl}/${tenant}/oauth2/v2.0/token`,
      `${baseUrl}/${tenant}/oauth2/token`,
    ]);
    const issued = tokenIssuer.issue({
      audience,
      tenantId: principal.tenantId,
      clientId: principal.clientId,
      objectId: principal.objectId,
      lifetimeMs,
    });
    return { ...issued, audience };
  };

  return async (request, tenant, version) => {
    const form = await readForm(request);
    const clientId = form.get('client_id') ?? undefined;
    const federated =
      clientId === undefined || principals.get(tenant, clientId) !== undefined
        ? undefined
        : options.findFederated(tenant, clientId);
    const kind = form.has('client_assertion')
      ? federated === undefined
        ? 'assertion'
        : 'federated'
      : 'secret';
    try {
      const issued = await issue(form, tenant, version, federated);
      return { status: 200, body: tokenBody(version, issued, issued.audience), clientId, kind };
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      return {
        status: error.status,
        headers: error.headers,
        body: entraErrorBody(error),
        clientId,
        kind,
      };
    }
  };
}
