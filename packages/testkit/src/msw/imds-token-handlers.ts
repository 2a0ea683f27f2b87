import {
  formatImdsError,
  formatTokenResponse,
  parseTokenRequest,
  type ImdsResponse,
  type IdentitySelector,
} from '@pod-identity/core';
import { delay, http, HttpResponse, type HttpHandler } from 'msw';
import { nmiRefusalResponse, type ImdsAnswer, type ImdsRefusalFormatter } from './imds-answer.js';

/** An identity the emulated pod may use. */
export interface ImdsIdentity {
  /** The identity's client (application) ID. */
  readonly clientId: string;
  /** Its ARM resource ID (`msi_res_id`/`mi_res_id` requests name it so). */
  readonly resourceId?: string;
  /** Its object (principal) ID (`object_id` requests). */
  readonly objectId?: string;
}

/** Options of {@link createImdsTokenHandlers}. */
export interface ImdsTokenHandlersOptions {
  /**
   * Where the application sends IMDS requests. Default `http://169.254.169.254`, where
   * `@pod-identity/client` and `@azure/identity` send them unless `AZURE_POD_IDENTITY_AUTHORITY_HOST`
   * says otherwise.
   */
  readonly endpoint?: string;
  /**
   * The identities the pod may use, the first being the one served when a request names none. A
   * request that names another identity is refused as not bound (NMI's final `400 Identity not
   * found`). Default: any identity is served.
   */
  readonly identities?: readonly ImdsIdentity[];
  /** Lifetime of issued tokens. Default 3600 s. */
  readonly expiresInSeconds?: number;
  /** The clock for `expires_on`, epoch milliseconds (a fake clock in tests). Default `Date.now`. */
  readonly now?: () => number;
  /**
   * The wire shape of refusals. Default {@link nmiRefusalResponse}, pod-identity's NMI's answers;
   * {@link originalNmiRefusalResponse} for NMI's `--refusal-style=original`, or another to emulate a
   * broker that answers differently.
   */
  readonly refusalResponse?: ImdsRefusalFormatter;
}

/** A token request the handlers received. */
export interface ImdsTokenRequestRecord {
  /** The `resource` parameter. */
  readonly resource: string;
  /** The identity selector the request carried. */
  readonly identity: IdentitySelector;
  /** The `api-version` parameter. */
  readonly apiVersion: string | undefined;
  /** What was answered: a token, or the refusal's status. */
  readonly answer: 'token' | number;
}

/** The handlers and what they saw; see {@link createImdsTokenHandlers}. */
export interface ImdsTokenHandlers {
  /** Pass to msw's `setupServer(...handlers)` or `server.use(...handlers)`. */
  readonly handlers: readonly HttpHandler[];
  /** Well-formed token requests received so far, oldest first (not the availability probes). */
  readonly requests: readonly ImdsTokenRequestRecord[];
  /**
   * Answers the next token requests with these, in order (one each); afterwards the default
   * behaviour resumes (tokens for the pod's identities, refusals for others).
   */
  answerNext(...answers: readonly ImdsAnswer[]): void;
  /** Forgets queued answers and recorded requests. */
  reset(): void;
}

const TOKEN_PATH = '/metadata/identity/oauth2/token';

/**
 * msw request handlers that emulate the Instance Metadata Service token endpoint as pod-identity's
 * node broker (NMI) answers it, so that code using `@pod-identity/client` or `@azure/identity`'s
 * `ManagedIdentityCredential` can be unit-tested without a cluster: tokens (JWT-shaped, naming the
 * resource and identity), refusals in NMI's shape (or one given), `Retry-After`, and slow answers.
 * Requests are checked as NMI checks them (the `Metadata: true` header, `GET`, `resource`, one
 * identity selector); the SDKs' availability probe gets its immediate 400.
 *
 * @param options - endpoint, the pod's identities, token lifetime, clock, refusal shape
 * @returns the handlers, the requests they saw, and a queue of scripted answers
 *
 * @example
 * ```ts
 * import { setupServer } from 'msw/node';
 * import { createImdsTokenHandlers, imdsAnswer } from '@pod-identity/testkit/msw';
 *
 * const imds = createImdsTokenHandlers({ identities: [{ clientId: 'my-client-id' }] });
 * const server = setupServer(...imds.handlers);
 * server.listen({ onUnhandledFrame: 'error' });
 * imds.answerNext(imdsAnswer.notAssigned({ retryAfterSeconds: 1 })); // then a token
 * ```
 */
export function createImdsTokenHandlers(options: ImdsTokenHandlersOptions = {}): ImdsTokenHandlers {
  const endpoint = options.endpoint ?? 'http://169.254.169.254';
  const now = options.now ?? Date.now;
  const refusalResponse = options.refusalResponse ?? nmiRefusalResponse;
  const identities = options.identities;
  const queue: ImdsAnswer[] = [];
  const requests: ImdsTokenRequestRecord[] = [];

  const respond = (response: ImdsResponse): HttpResponse<string> =>
    new HttpResponse(response.body, { status: response.status, headers: response.headers });

  const answerFor = (identity: IdentitySelector): ImdsAnswer => {
    const queued = queue.shift();
    if (queued !== undefined) return queued;
    return identities === undefined || findIdentity(identities, identity) !== undefined
      ? { kind: 'token' }
      : { kind: 'refusal', reason: 'not-bound' };
  };

  const resolver = async ({ request }: { request: Request }): Promise<HttpResponse<string>> => {
    const url = new URL(request.url);
    const parsed = parseTokenRequest({
      method: request.method,
      url: `${url.pathname}${url.search}`,
      metadata: request.headers.get('metadata') ?? undefined,
    });
    if (!parsed.ok) return respond(formatImdsError(parsed.error));
    const { resource, identity, apiVersion } = parsed.request;
    const answer = answerFor(identity);
    requests.push({
      resource,
      identity,
      apiVersion,
      answer: answer.kind === 'token' ? 'token' : refusalResponse(answer).status,
    });
    if (answer.delayMs !== undefined) await delay(answer.delayMs);
    if (answer.kind === 'refusal') return respond(refusalResponse(answer));
    const served = identities === undefined ? undefined : findIdentity(identities, identity);
    const issuedMs = now();
    const expiresOnTimestamp =
      issuedMs + (answer.expiresInSeconds ?? options.expiresInSeconds ?? 3600) * 1000;
    const clientId =
      served?.clientId ?? (identity.kind === 'clientId' ? identity.clientId : undefined);
    const body = formatTokenResponse(
      [
        {
          accessToken:
            answer.accessToken ??
            fakeJwt({ resource, identity, served, issuedMs, expiresOnTimestamp }),
          expiresOnTimestamp,
          notBeforeTimestamp: issuedMs,
          resource,
          ...(clientId === undefined ? {} : { clientId }),
        },
      ],
      issuedMs,
    );
    return new HttpResponse(body, {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };

  return {
    handlers: [
      http.all(new URL(TOKEN_PATH, endpoint).href, resolver),
      http.all(new URL(`${TOKEN_PATH}/`, endpoint).href, resolver),
    ],
    requests,
    answerNext(...answers) {
      queue.push(...answers);
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
    },
  };
}

/** The pod's identity a request asks for: the first when it names none, else the one it names. */
function findIdentity(
  identities: readonly ImdsIdentity[],
  requested: IdentitySelector,
): ImdsIdentity | undefined {
  switch (requested.kind) {
    case 'none':
      return identities[0];
    case 'clientId':
      return identities.find((i) => i.clientId.toLowerCase() === requested.clientId.toLowerCase());
    case 'objectId':
      return identities.find((i) => i.objectId?.toLowerCase() === requested.objectId.toLowerCase());
    case 'resourceId':
      return identities.find(
        (i) => i.resourceId?.toLowerCase() === requested.resourceId.toLowerCase(),
      );
  }
}

/** An unsigned JWT-shaped token whose claims name the audience and identity (`aud`, `appid`, …). */
function fakeJwt(input: {
  resource: string;
  identity: IdentitySelector;
  served: ImdsIdentity | undefined;
  issuedMs: number;
  expiresOnTimestamp: number;
}): string {
  const { identity, served } = input;
  const claims = {
    aud: input.resource,
    appid: served?.clientId ?? (identity.kind === 'clientId' ? identity.clientId : undefined),
    oid: served?.objectId ?? (identity.kind === 'objectId' ? identity.objectId : undefined),
    xms_mirid:
      served?.resourceId ?? (identity.kind === 'resourceId' ? identity.resourceId : undefined),
    iat: Math.floor(input.issuedMs / 1000),
    nbf: Math.floor(input.issuedMs / 1000),
    exp: Math.floor(input.expiresOnTimestamp / 1000),
  };
  const encode = (value: object): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ typ: 'JWT', alg: 'none' })}.${encode(claims)}.msw`;
}
