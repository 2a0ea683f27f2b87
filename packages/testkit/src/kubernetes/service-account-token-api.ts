import {
  ApiStatusError,
  badRequestError,
  conflictError,
  invalidError,
  notFoundError,
} from './api-status-error.js';
import type { KubernetesEmulatorStore } from './emulator-store.js';
import { asObject, asString, kubeTimestamp, type JsonObject } from './json.js';
import type { RequestAttributes } from './kubernetes-faults.js';
import type {
  KubernetesTokenBinding,
  ServiceAccountTokenSigner,
} from './service-account-token-signer.js';

/** Who sent a request, as the emulator authenticated it. */
export interface KubernetesUser {
  readonly name: string;
  readonly groups: readonly string[];
}

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

const NODE_PREFIX = 'system:node:';
const MIN_EXPIRATION_SECONDS = 600;
const DEFAULT_EXPIRATION_SECONDS = 3600;

function nodeNameOf(user: KubernetesUser): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith(NODE_PREFIX)) return undefined;
  return user.name.slice(NODE_PREFIX.length);
}

function forbidden(resource: string, name: string, why: string): ApiStatusError {
  return new ApiStatusError(403, 'Forbidden', `${resource} "${name}" is forbidden: ${why}`, {
    name,
    kind: resource,
  });
}

interface PodView {
  readonly uid: string;
  readonly nodeName: string;
  readonly serviceAccountName: string;
  readonly deletionTimestamp: string | undefined;
  readonly audiencesMounted: readonly string[];
}

function podView(pod: JsonObject): PodView {
  const meta = asObject(pod.metadata) ?? {};
  const spec = asObject(pod.spec) ?? {};
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const audiencesMounted: string[] = [];
  for (const volume of volumes) {
    const sources = asObject(asObject(volume)?.projected)?.sources;
    if (!Array.isArray(sources)) continue;
    for (const source of sources) {
      const audience = asString(asObject(asObject(source)?.serviceAccountToken)?.audience);
      if (audience !== undefined) audiencesMounted.push(audience);
    }
  }
  return {
    uid: asString(meta.uid) ?? '',
    nodeName: asString(spec.nodeName) ?? '',
    serviceAccountName: asString(spec.serviceAccountName) ?? 'default',
    deletionTimestamp: asString(meta.deletionTimestamp),
    audiencesMounted,
  };
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
  const { store } = options;

  const getPod = (namespace: string, name: string): JsonObject | undefined =>
    store.get({ apiVersion: 'v1', kind: 'Pod', namespace, name });

  const tokenRequest = (
    namespace: string,
    name: string,
    body: unknown,
    user: KubernetesUser,
  ): unknown => {
    const request = asObject(body) ?? {};
    const spec = asObject(request.spec) ?? {};
    const audiences = Array.isArray(spec.audiences)
      ? spec.audiences.filter((a): a is string => typeof a === 'string')
      : [];
    const requested =
      typeof spec.expirationSeconds === 'number'
        ? spec.expirationSeconds
        : DEFAULT_EXPIRATION_SECONDS;
    if (requested < MIN_EXPIRATION_SECONDS) {
      throw invalidError({ group: 'authentication.k8s.io', kind: 'TokenRequest' }, '', [
        {
          type: 'FieldValueInvalid',
          field: 'spec.expirationSeconds',
          value: requested,
          detail: 'may not specify a duration less than 10 minutes',
        },
      ]);
    }
    const ref = asObject(spec.boundObjectRef);
    const refKind = asString(ref?.kind);
    const refName = asString(ref?.name) ?? '';
    const refUid = asString(ref?.uid) ?? '';
    const nodeName = nodeNameOf(user);
    const serviceAccountResource = 'serviceaccounts';
    let pod: JsonObject | undefined;
    if (nodeName !== undefined) {
      // The Node authorizer: a node may create tokens only for service accounts its pods run as.
      const related = store
        .list({ apiVersion: 'v1', kind: 'Pod', namespace })
        .map(podView)
        .some((view) => view.nodeName === nodeName && view.serviceAccountName === name);
      if (!related)
        throw forbidden(
          serviceAccountResource,
          name,
          `User "${user.name}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${namespace}": no relationship found between node '${nodeName}' and this object`,
        );
      // NodeRestriction: only tokens bound to one of the node's pods, named with its uid.
      if (
        ref === undefined ||
        refKind !== 'Pod' ||
        asString(ref.apiVersion) !== 'v1' ||
        refName === ''
      )
        throw forbidden(serviceAccountResource, name, 'node requested token not bound to a pod');
      if (refUid === '')
        throw forbidden(
          serviceAccountResource,
          name,
          'node requested token with a pod binding without a uid',
        );
      pod = getPod(namespace, refName);
      if (pod === undefined) throw notFoundError({ group: '', resource: 'pods' }, refName);
      const view = podView(pod);
      if (view.uid !== refUid)
        throw forbidden(
          serviceAccountResource,
          name,
          `the UID in the bound object reference (${refUid}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      if (view.nodeName !== nodeName)
        throw forbidden(
          serviceAccountResource,
          name,
          'node requested token bound to a pod scheduled on a different node',
        );
      if (audiences.length > 1)
        throw forbidden(serviceAccountResource, name, 'node may only request 0 or 1 audiences');
      const audience = audiences[0] ?? '';
      if (!view.audiencesMounted.includes(audience) && !options.nodeAudiences.includes(audience))
        throw forbidden(
          serviceAccountResource,
          name,
          `audience ${JSON.stringify(audience)} not found in pod spec volume, ${user.name} is not authorized to request tokens for this audience`,
        );
    }
    const serviceAccount = store.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace, name });
    if (serviceAccount === undefined)
      throw notFoundError({ group: '', resource: 'serviceaccounts' }, name);
    const serviceAccountUid = asString(asObject(serviceAccount.metadata)?.uid) ?? '';
    let binding: KubernetesTokenBinding = {
      namespace,
      serviceaccount: { name, uid: serviceAccountUid },
    };
    if (ref !== undefined) {
      if (refKind !== 'Pod' || (asString(ref.apiVersion) ?? 'v1') !== 'v1')
        throw badRequestError(
          `cannot bind token to object of type ${asString(ref.apiVersion) ?? ''}, Kind=${refKind ?? ''}`,
        );
      pod ??= getPod(namespace, refName);
      if (pod === undefined) throw notFoundError({ group: '', resource: 'pods' }, refName);
      const view = podView(pod);
      if (view.serviceAccountName !== name)
        throw badRequestError(
          `cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`,
        );
      if (refUid !== '' && refUid !== view.uid)
        throw conflictError(
          { group: '', resource: 'Pod' },
          refName,
          `the UID in the bound object reference (${refUid}) does not match the UID in record (${view.uid}). The object might have been deleted and then recreated`,
        );
      const node =
        view.nodeName === ''
          ? undefined
          : store.get({ apiVersion: 'v1', kind: 'Node', name: view.nodeName });
      binding = {
        ...binding,
        pod: { name: refName, uid: view.uid },
        ...(node === undefined
          ? {}
          : { node: { name: view.nodeName, uid: asString(asObject(node.metadata)?.uid) ?? '' } }),
      };
    }
    const signer = options.signer();
    const expirationSeconds =
      options.maxExpirationSeconds === undefined
        ? requested
        : Math.min(requested, options.maxExpirationSeconds);
    const effectiveAudiences = audiences.length > 0 ? audiences : [signer.issuer];
    const { token, claims } = signer.sign({
      audiences: effectiveAudiences,
      expirationSeconds,
      binding,
      now: options.now(),
    });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: null },
      spec: {
        audiences: effectiveAudiences,
        expirationSeconds,
        boundObjectRef: ref ?? null,
      },
      status: { token, expirationTimestamp: kubeTimestamp(new Date(claims.exp * 1000)) },
    };
  };

  const tokenReview = (body: unknown): unknown => {
    const request = asObject(body) ?? {};
    const spec = asObject(request.spec) ?? {};
    const token = asString(spec.token) ?? '';
    const signer = options.signer();
    const wanted = Array.isArray(spec.audiences)
      ? spec.audiences.filter((a): a is string => typeof a === 'string')
      : [signer.issuer];
    const answer = (status: JsonObject): unknown => ({
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { token, ...(Array.isArray(spec.audiences) ? { audiences: wanted } : {}) },
      status,
    });
    const claims = signer.verify(token, options.now());
    if (claims === undefined) return answer({ user: {}, error: 'invalid bearer token' });
    const audiences = claims.aud.filter((a) => wanted.includes(a));
    if (audiences.length === 0)
      return answer({
        user: {},
        error: `[invalid bearer token, token audiences ${JSON.stringify(claims.aud)} is invalid for the target audiences ${JSON.stringify(wanted)}]`,
      });
    const binding = claims['kubernetes.io'];
    if (binding.pod !== undefined) {
      const pod = getPod(binding.namespace, binding.pod.name);
      if (pod === undefined)
        return answer({
          user: {},
          error: `[invalid bearer token, pods "${binding.pod.name}" not found]`,
        });
      const view = podView(pod);
      if (view.uid !== binding.pod.uid)
        return answer({
          user: {},
          error: `[invalid bearer token, pod UID (${view.uid}) does not match claim (${binding.pod.uid})]`,
        });
      if (view.deletionTimestamp !== undefined && new Date(view.deletionTimestamp) <= options.now())
        return answer({ user: {}, error: '[invalid bearer token, token has been invalidated]' });
    }
    const extra: Record<string, string[]> = {
      'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`],
    };
    if (binding.pod !== undefined) {
      extra['authentication.kubernetes.io/pod-name'] = [binding.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [binding.pod.uid];
    }
    if (binding.node !== undefined) {
      extra['authentication.kubernetes.io/node-name'] = [binding.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [binding.node.uid];
    }
    return answer({
      authenticated: true,
      user: {
        username: claims.sub,
        uid: binding.serviceaccount.uid,
        groups: [
          'system:serviceaccounts',
          `system:serviceaccounts:${binding.namespace}`,
          'system:authenticated',
        ],
        extra,
      },
      audiences,
    });
  };

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
          serve: (body) => ({ status: 201, body: tokenReview(body) }),
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
          serve: (body, user) => ({ status: 201, body: tokenRequest(namespace, name, body, user) }),
        };
      return undefined;
    },
  };
}
