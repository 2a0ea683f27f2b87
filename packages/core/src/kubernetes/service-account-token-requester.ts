import type { KubeConnection } from './kube-connection.js';
import { kubeHttpClientFor } from './kube-http-client.js';
import { toKubernetesApiError } from './kubernetes-api-error.js';

/** The pod a service-account token is requested for, and what the token is for. */
export interface PodTokenRequest {
  readonly namespace: string;
  /** The pod's `spec.serviceAccountName`. */
  readonly serviceAccountName: string;
  readonly podName: string;
  /** The pod's `metadata.uid`: the token is bound to this pod and no other of the same name. */
  readonly podUid: string;
  readonly audience: string;
  /** Default 3600; the API server refuses less than 600. */
  readonly expirationSeconds?: number;
  readonly abortSignal?: AbortSignal;
}

/** A service-account token and when it expires. */
export interface ServiceAccountToken {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresOnTimestamp: number;
}

/** Requests service-account tokens bound to pods (the TokenRequest API). */
export interface ServiceAccountTokenRequester {
  /** @throws KubernetesApiError when the API server refuses (403 from the Node authorizer or NodeRestriction, 404, 409) or cannot be reached */
  request(request: PodTokenRequest): Promise<ServiceAccountToken>;
}

/** The TokenRequest answer, as far as it is read. */
interface WireTokenRequest {
  status?: { token?: string; expirationTimestamp?: string };
}

/**
 * A {@link ServiceAccountTokenRequester} on the lean client: `POST
 * /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` with one audience and a `boundObjectRef` to the
 * pod by name and uid, so the token stops authenticating when that pod is deleted. With a node's own
 * credentials (`system:node:<name>`), kube-apiserver allows this only for pods bound to that node.
 * @param kubeConfig - the connection, e.g. the node's kubelet kubeconfig (a client-node `KubeConfig`
 *   or a `KubeConnection`)
 */
export function createServiceAccountTokenRequester(
  kubeConfig: KubeConnection,
): ServiceAccountTokenRequester {
  const client = kubeHttpClientFor(kubeConfig);
  return {
    async request(request) {
      const what = `request a token of service account ${request.namespace}/${request.serviceAccountName} for pod ${request.podName}`;
      request.abortSignal?.throwIfAborted();
      try {
        const answer = await client.request<WireTokenRequest | undefined>(
          'POST',
          `/api/v1/namespaces/${encodeURIComponent(request.namespace)}/serviceaccounts/${encodeURIComponent(request.serviceAccountName)}/token`,
          {
            body: {
              apiVersion: 'authentication.k8s.io/v1',
              kind: 'TokenRequest',
              spec: {
                audiences: [request.audience],
                expirationSeconds: request.expirationSeconds ?? 3600,
                boundObjectRef: {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name: request.podName,
                  uid: request.podUid,
                },
              },
            },
            ...(request.abortSignal === undefined ? {} : { abortSignal: request.abortSignal }),
          },
        );
        const token = answer?.status?.token;
        const expires = answer?.status?.expirationTimestamp;
        if (token === undefined || token === '') throw new Error('the answer holds no token');
        return {
          token,
          expiresOnTimestamp:
            expires === undefined ? Date.now() + 600_000 : new Date(expires).getTime(),
        };
      } catch (error) {
        throw toKubernetesApiError(error, what);
      }
    },
  };
}
