import type { KubernetesEmulatorStore } from './emulator-store.js';
import { asObject, asString, type JsonObject } from './json.js';
import type { ServiceAccountTokenSigner } from './service-account-token-signer.js';
import { getPod, stringsOf, tokenPodView } from './service-account-token-pod.js';

/** What {@link serveTokenReview} reads. */
export interface TokenReviewOptions {
  readonly store: KubernetesEmulatorStore;
  readonly signer: ServiceAccountTokenSigner;
  readonly now: Date;
}

/**
 * A TokenReview's answer: a token is valid while signed by the issuer, unexpired, for one of the
 * audiences (default the issuer), and its bound pod still exists with the same uid and is not being
 * deleted. A valid token authenticates as its service account, with the pod and node in `extra`.
 */
export function serveTokenReview(options: TokenReviewOptions, body: unknown): unknown {
  const { signer, now } = options;
  const request = asObject(body) ?? {};
  const spec = asObject(request.spec) ?? {};
  const token = asString(spec.token) ?? '';
  const given = stringsOf(spec.audiences);
  const wanted = given ?? [signer.issuer];
  const answer = (status: JsonObject): unknown => ({
    kind: 'TokenReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: { token, ...(given === undefined ? {} : { audiences: wanted }) },
    status,
  });
  const claims = signer.verify(token, now);
  if (claims === undefined) return answer({ user: {}, error: 'invalid bearer token' });
  const audiences = claims.aud.filter((a) => wanted.includes(a));
  if (audiences.length === 0)
    return answer({
      user: {},
      error: `[invalid bearer token, token audiences ${JSON.stringify(claims.aud)} is invalid for the target audiences ${JSON.stringify(wanted)}]`,
    });
  const binding = claims['kubernetes.io'];
  if (binding.pod !== undefined) {
    const pod = getPod(options.store, binding.namespace, binding.pod.name);
    if (pod === undefined)
      return answer({
        user: {},
        error: `[invalid bearer token, pods "${binding.pod.name}" not found]`,
      });
    const view = tokenPodView(pod);
    if (view.uid !== binding.pod.uid)
      return answer({
        user: {},
        error: `[invalid bearer token, pod UID (${view.uid}) does not match claim (${binding.pod.uid})]`,
      });
    if (view.deletionTimestamp !== undefined && new Date(view.deletionTimestamp) <= now)
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
}
