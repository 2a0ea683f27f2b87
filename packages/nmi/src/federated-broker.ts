import {
  TOKEN_EXCHANGE_AUDIENCE,
  TokenAcquisitionError,
  decideFederated,
  federatedIdentityOf,
  tokenCacheKey,
  type AcquiredToken,
  type AzureIdentity,
  type FederatedDecision,
  type FederatedIdentity,
  type PodRecord,
  type IdentitySelector,
  type TokenCache,
} from '@pod-identity/core';
import {
  DEFAULT_AUTHORITY_HOST,
  createFederatedTokenSource,
  type ServicePrincipalTokenSourceOptions,
} from '@pod-identity/core/azure';
import {
  KubernetesApiError,
  type ServiceAccountTokenRequester,
} from '@pod-identity/core/kubernetes';
import type { FederatedServiceAccounts } from './federated-service-accounts.js';
import type { NmiMetrics } from './nmi-metrics.js';
import {
  DEFAULT_UPSTREAM_WAIT,
  tokenFailureOutcome,
  type BrokerOutcome,
  type BrokerPod,
  type CallerRecheck,
  type FederatedIdentityTokens,
} from './token-broker.js';

/** Settings of federated mode (see docs/federated.md). */
export interface FederatedModeOptions {
  /**
   * Requests the pods' service-account tokens, with the node's own credentials so that kube-apiserver
   * allows it for this node's pods only (`--token-request-kubeconfig`).
   */
  readonly tokenRequester: ServiceAccountTokenRequester;
  /** The tenant of service accounts without `azure.workload.identity/tenant-id` (`--federated-tenant-id`). */
  readonly defaultTenantId?: string;
  /** Entra authority host; default the public cloud's. */
  readonly authorityHost?: string;
  /** Extra `@azure/identity` options (e.g. `tlsOptions` for a private CA). */
  readonly credentialOptions?: ServicePrincipalTokenSourceOptions['credentialOptions'];
  /** Lifetime asked for the service-account tokens; default 600 s (the least the API server allows). */
  readonly tokenExpirationSeconds?: number;
  /**
   * `Retry-After` (seconds) of the 503 when Entra or the API server is unavailable
   * (`--upstream-retry-after`, as the standard path's); default 2.
   */
  readonly retryAfterSeconds?: number;
}

/** Dependencies of {@link FederatedBroker}. */
export interface FederatedBrokerOptions extends FederatedModeOptions {
  readonly serviceAccounts: FederatedServiceAccounts;
  readonly cache: TokenCache;
  readonly metrics?: NmiMetrics;
}

const OPERATION = 'adal_token_federated';

/**
 * The federated half of NMI: for a pod labelled `azure.workload.identity/use: "true"`, a
 * service-account token bound to that pod is exchanged at Entra for the identity its service account
 * names. Tokens go through the same cache as the other modes, keyed by tenant, client id, service
 * account and pod uid, so no pod is answered from another pod's entry.
 */
export class FederatedBroker implements FederatedIdentityTokens {
  readonly #options: FederatedBrokerOptions;
  readonly #authorityHost: string;

  /** @param options - requester, service accounts, cache, tenant and authority */
  constructor(options: FederatedBrokerOptions) {
    this.#options = options;
    this.#authorityHost = options.authorityHost ?? DEFAULT_AUTHORITY_HOST;
  }

  /**
   * Decides a pod's request from its labels and its service account as the informer has it now.
   * @param pod - the caller
   * @param requested - the identity the request names
   */
  decide(pod: PodRecord, requested: IdentitySelector): FederatedDecision {
    const account = this.#options.serviceAccounts.get(
      pod.namespace,
      pod.serviceAccountName ?? 'default',
    );
    return decideFederated(pod, requested, account, this.#options.defaultTenantId);
  }

  /**
   * The whole answer for a request of a federated pod: the decision, then the tokens.
   * @param pod - the caller (labelled `azure.workload.identity/use: "true"`)
   * @param requested - the identity the request names
   * @param resource - the resource
   * @param abortSignal - the request's signal
   * @param recheck - reads the caller again before tokens go out
   */
  async answerRequest(
    pod: PodRecord,
    requested: IdentitySelector,
    resource: string,
    abortSignal: AbortSignal,
    recheck?: CallerRecheck,
  ): Promise<BrokerOutcome> {
    const decision = this.decide(pod, requested);
    if (decision.kind === 'identity') {
      const outcome = await this.answer(pod, decision.identity, resource, abortSignal);
      if (outcome.kind !== 'tokens' || recheck === undefined) return outcome;
      // The exchange took time: the tokens go out only if the caller is still this pod (same uid) and
      // still federated to the same identity (its label and its service account's annotation).
      // The handler's recheck reads the node's pod index, whose entries are pod records.
      const current = recheck() as PodRecord | undefined;
      const now = current === undefined ? undefined : this.decide(current, requested);
      if (
        now?.kind === 'identity' &&
        now.identity.clientId.toLowerCase() === decision.identity.clientId.toLowerCase() &&
        now.identity.subject === decision.identity.subject
      )
        return outcome;
      return {
        kind: 'refused',
        status: 404,
        message:
          now?.kind === 'deny'
            ? now.message
            : `pod ${pod.namespace}/${pod.name} changed while its token was fetched`,
        reason: now?.kind === 'deny' ? now.reason : 'pod-changed',
        nature: 'permanent',
      };
    }
    // A federated pod's identity comes from its own label and service account, nothing MIC writes
    // later: a refusal is final.
    if (decision.kind === 'deny')
      return {
        kind: 'refused',
        status: decision.status,
        message: decision.message,
        reason: decision.reason,
        nature: 'permanent',
      };
    return {
      kind: 'refused',
      status: 500,
      message: `pod ${pod.namespace}/${pod.name} is not federated`,
      reason: 'internal',
      nature: 'internal',
    };
  }

  /**
   * The fast path of {@link FederatedBroker.answerRequest}: fresh cached tokens, or `undefined` when
   * the request must take the full path (a refusal, a miss, a refresh due).
   * @param pod - the caller
   * @param requested - the identity the request names
   * @param resource - the resource
   */
  peekRequest(
    pod: PodRecord,
    requested: IdentitySelector,
    resource: string,
  ): readonly AcquiredToken[] | undefined {
    const decision = this.decide(pod, requested);
    if (decision.kind !== 'identity') return undefined;
    const tokens = this.peek(pod, decision.identity, resource);
    if (tokens !== undefined) this.#options.metrics?.cacheRequests.inc({ result: 'hit' });
    return tokens;
  }

  /**
   * Fresh cached tokens of the pod's identity, without fetching (the fast path).
   * @param pod - the caller
   * @param identity - its federated identity
   * @param resource - the resource
   */
  peek(
    pod: PodRecord,
    identity: FederatedIdentity,
    resource: string,
  ): readonly AcquiredToken[] | undefined {
    return this.#options.cache.peek(cacheKeyOf(pod, identity, resource));
  }

  /**
   * The answer for a federated pod: tokens, or the refusal with the status IMDS clients understand.
   * @param pod - the caller
   * @param identity - its federated identity
   * @param resource - the resource
   * @param abortSignal - the request's signal
   */
  async answer(
    pod: PodRecord,
    identity: FederatedIdentity,
    resource: string,
    abortSignal: AbortSignal,
  ): Promise<BrokerOutcome> {
    const uid = pod.uid ?? '';
    // Bound to the pod by uid: without one the token could outlive the pod under a reused name.
    if (uid === '')
      return {
        kind: 'refused',
        status: 500,
        message: `pod ${pod.namespace}/${pod.name} has no uid yet`,
        reason: 'internal',
        nature: 'in-flight',
      };
    try {
      const tokens = await this.#options.cache.lookup(
        cacheKeyOf(pod, identity, resource),
        (signal) => this.#fetch(pod, uid, identity, resource, signal),
        { abortSignal },
      );
      return { kind: 'tokens', tokens };
    } catch (error) {
      // Every 503 says when to come back, as the standard path's do.
      return tokenFailureOutcome(
        error,
        this.#options.retryAfterSeconds ?? DEFAULT_UPSTREAM_WAIT.retryAfterSeconds,
        'failed to get a federated token',
      );
    }
  }

  /**
   * Tokens of an AzureIdentity federated by annotation, for a pod its binding selects: the pod's own
   * service-account token exchanged for the identity's client id in its tenant (`spec.tenantID`, else
   * the default tenant), cached in the pod's own entry.
   * @param pod - the caller
   * @param identity - the identity (`aadpodidentity.k8s.io/federated: "true"`)
   * @param resource - the resource
   * @param abortSignal - the request's signal
   */
  tokensFor(
    pod: BrokerPod,
    identity: AzureIdentity,
    resource: string,
    abortSignal: AbortSignal,
  ): readonly AcquiredToken[] | Promise<readonly AcquiredToken[]> {
    const decision = federatedIdentityOf(identity, pod, this.#options.defaultTenantId);
    if (decision.kind === 'deny')
      return Promise.reject(
        new TokenAcquisitionError('refused', decision.message, { status: decision.status }),
      );
    const uid = pod.uid ?? '';
    if (uid === '')
      return Promise.reject(
        new TokenAcquisitionError('unavailable', `pod ${pod.namespace}/${pod.name} has no uid yet`),
      );
    const federated = decision.identity;
    return this.#options.cache.lookup(
      cacheKeyOf(pod, federated, resource),
      (signal) => this.#fetch(pod, uid, federated, resource, signal),
      { abortSignal },
    );
  }

  /**
   * The fast path of {@link FederatedBroker.tokensFor}.
   * @param pod - the caller
   * @param identity - the identity (`aadpodidentity.k8s.io/federated: "true"`)
   * @param resource - the resource
   */
  peekFor(
    pod: BrokerPod,
    identity: AzureIdentity,
    resource: string,
  ): readonly AcquiredToken[] | undefined {
    const decision = federatedIdentityOf(identity, pod, this.#options.defaultTenantId);
    if (decision.kind === 'deny') return undefined;
    const tokens = this.#options.cache.peek(cacheKeyOf(pod, decision.identity, resource));
    if (tokens !== undefined) this.#options.metrics?.cacheRequests.inc({ result: 'hit' });
    return tokens;
  }

  async #fetch(
    pod: Pick<PodRecord, 'namespace' | 'name'>,
    uid: string,
    identity: FederatedIdentity,
    resource: string,
    signal: AbortSignal,
  ): Promise<readonly AcquiredToken[]> {
    const end = this.#options.metrics?.upstreamDuration.startTimer({ operation_type: OPERATION });
    try {
      let assertion: string;
      try {
        assertion = (
          await this.#options.tokenRequester.request({
            namespace: pod.namespace,
            serviceAccountName: identity.serviceAccountName,
            podName: pod.name,
            podUid: uid,
            audience: TOKEN_EXCHANGE_AUDIENCE,
            expirationSeconds: this.#options.tokenExpirationSeconds ?? 600,
            abortSignal: signal,
          })
        ).token;
      } catch (error) {
        throw serviceAccountTokenError(error, identity);
      }
      // One credential per exchange: the assertion is this pod's, and a miss is rare (once per
      // token lifetime), so nothing is kept between exchanges but the cached access token.
      const source = createFederatedTokenSource({
        tenantId: identity.tenantId,
        clientId: identity.clientId,
        authorityHost: this.#authorityHost,
        ...(this.#options.credentialOptions === undefined
          ? {}
          : { credentialOptions: this.#options.credentialOptions }),
        credentialRef: `${pod.namespace}/${pod.name}/${uid}`,
        getAssertion: () => Promise.resolve(assertion),
      });
      return await source.getTokens(resource, { abortSignal: signal });
    } catch (error) {
      this.#options.metrics?.upstreamErrors.inc({ operation_type: OPERATION });
      throw error;
    } finally {
      end?.();
    }
  }
}

function cacheKeyOf(
  pod: Pick<PodRecord, 'uid'>,
  identity: FederatedIdentity,
  resource: string,
): string {
  return tokenCacheKey(
    `federated/${identity.tenantId.toLowerCase()}/${identity.clientId.toLowerCase()}/${identity.subject}/${pod.uid ?? ''}`,
    resource,
  );
}

// The API server refusing the pod's token (403 from the Node authorizer or NodeRestriction, 404 for
// a pod or service account that is gone) is a refusal; anything else may pass.
function serviceAccountTokenError(
  error: unknown,
  identity: FederatedIdentity,
): TokenAcquisitionError {
  const status = KubernetesApiError.is(error) ? error.statusCode : undefined;
  const refused = status !== undefined && status >= 400 && status < 500 && status !== 429;
  const detail = error instanceof Error ? error.message : String(error);
  return new TokenAcquisitionError(
    refused ? 'refused' : 'unavailable',
    `could not get a token of service account ${identity.namespace}/${identity.serviceAccountName}: ${detail}`,
    { ...(status === undefined ? {} : { status }), cause: error },
  );
}
