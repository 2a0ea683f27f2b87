import type { KubernetesEmulatorStore } from './emulator-store.js';
import type { RequestAttributes } from './kubernetes-faults.js';
import type { ServiceAccountTokenSigner } from './service-account-token-signer.js';
import { serveTokenRequest, type KubernetesUser } from './token-request.js';
import { serveTokenReview } from './token-review.js';

export type { KubernetesUser } from './token-request.js';

/** Dependencies of {@link createServiceAccountTokenApi}. */
export interface ServiceAccountTokenApiOptions {
  readonly store: KubernetesEmulatorStore;
  /** Known only once the server listens (the issuer defaults to its URL). */
  readonly signer: () => ServiceAccountTokenSigner;
  /** Base URL that `jwks_uri` points under (the emulator's own URL). */
  readonly externalUrl: () => string;
  /**
   * Audiences nodes may request tokens for beyond those their pods mount: what RBAC grants group
   * `system:nodes` with verb `request-serviceaccounts-token-audience` (ServiceAccountNodeAudienceRestriction).
   */
  readonly nodeAudiences: readonly string[];
  /** `--service-account-max-token-expiration` in seconds; default none. */
  readonly maxExpirationSeconds?: number;
  readonly now: () => Date;
}

/** One request this API serves. */
export interface ServiceAccountTokenRoute {
  /** For fault rules; `undefined` for the unauthenticated discovery documents. */
  readonly attributes: RequestAttributes | undefined;
  /** Whether the route needs an authenticated user (discovery documents do not). */
  readonly authenticated: boolean;
  serve(body: unknown, user: KubernetesUser): { readonly status: number; readonly body: unknown };
}

/** The TokenRequest, TokenReview and OIDC discovery endpoints of the Kubernetes emulator. */
export interface ServiceAccountTokenApi {
  /** The route for a method and decoded path segments, or `undefined` when the path is not one of these. */
  route(method: string, segments: readonly string[]): ServiceAccountTokenRoute | undefined;
}

/**
 * Serves what kube-apiserver serves for bound service-account tokens:
 *
 * - `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` (TokenRequest): audiences (default the
 *   issuer), `expirationSeconds` (at least 600, default 3600), `boundObjectRef` to a Pod (which must
 *   exist, match the `uid` when given and run as that service account). A node user
 *   (`system:node:<n>` in `system:nodes`) is held to the Node authorizer and NodeRestriction: the pod
 *   must be bound with its uid, run on that node, and the audience be mounted by the pod or granted to
 *   nodes.
 * - `POST /apis/authentication.k8s.io/v1/tokenreviews`: a token is valid while signed by the issuer,
 *   unexpired, for one of the audiences, and its bound pod still exists with the same uid and is not
 *   being deleted.
 * - `GET /.well-known/openid-configuration` and `GET /openid/v1/jwks` without authentication, as a
 *   cluster serves them to an identity provider once `system:service-account-issuer-discovery` is
 *   bound to `system:unauthenticated`.
 */
export function createServiceAccountTokenApi(
  options: ServiceAccountTokenApiOptions,
): ServiceAccountTokenApi {
  const signed = () => ({ store: options.store, signer: options.signer(), now: options.now() });
  return {
    route(method, segments) {
      const path = segments.join('/');
      if (method === 'GET' && path === '.well-known/openid-configuration')
        return {
          attributes: undefined,
          authenticated: false,
          serve: () => ({
            status: 200,
            body: options.signer().discoveryDocument(options.externalUrl()),
          }),
        };
      if (method === 'GET' && path === 'openid/v1/jwks')
        return {
          attributes: undefined,
          authenticated: false,
          serve: () => ({ status: 200, body: options.signer().jwks }),
        };
      if (method === 'POST' && path === 'apis/authentication.k8s.io/v1/tokenreviews')
        return {
          attributes: {
            verb: 'create',
            group: 'authentication.k8s.io',
            resource: 'tokenreviews',
            namespace: '',
            name: '',
          },
          authenticated: true,
          serve: (body) => ({ status: 201, body: serveTokenReview(signed(), body) }),
        };
      const [api, version, namespaces, namespace, resource, name, subresource, ...extra] = segments;
      if (
        method === 'POST' &&
        api === 'api' &&
        version === 'v1' &&
        namespaces === 'namespaces' &&
        resource === 'serviceaccounts' &&
        subresource === 'token' &&
        extra.length === 0 &&
        namespace !== undefined &&
        name !== undefined
      )
        return {
          attributes: {
            verb: 'create',
            group: '',
            resource: 'serviceaccounts/token',
            namespace,
            name,
          },
          authenticated: true,
          serve: (body, user) => ({
            status: 201,
            body: serveTokenRequest(
              {
                ...signed(),
                nodeAudiences: options.nodeAudiences,
                maxExpirationSeconds: options.maxExpirationSeconds,
              },
              { namespace, name, body, user },
            ),
          }),
        };
      return undefined;
    },
  };
}
