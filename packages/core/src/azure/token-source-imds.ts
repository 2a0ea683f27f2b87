import http from 'node:http';
import { readJwtClaims, type AcquiredToken } from '../broker/acquired-token.js';
import { TokenAcquisitionError } from '../broker/token-acquisition-error.js';
import { systemClock, type Clock } from '../work-queue/clock.js';
import { parseRetryAfter } from '../retry/parse-retry-after.js';
import type { IdentitySelector } from '../imds/identity-selector.js';
import { redactClientId } from '../validation/redact-client-id.js';
import type { GetTokensOptions, TokenSource } from './token-source.js';

/**
 * The identity selector sent to IMDS.
 * @deprecated The same type as `IdentitySelector` (core's root), whose `none` asks IMDS for the
 * machine's system-assigned identity; use that name.
 */
export type ImdsIdentitySelector = IdentitySelector;

/** Options of {@link createImdsTokenSource}. */
export interface ImdsTokenSourceOptions {
  /** Which identity of the machine (`none`: its system-assigned identity). */
  selector: IdentitySelector;
  /** IMDS base URL. Default `http://169.254.169.254` (reached from the host network, never redirected). */
  endpoint?: string;
  /** `api-version`. Default `2018-02-01`, as the original and the Azure SDKs send. */
  apiVersion?: string;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs?: number;
  /** Attempts in all (IMDS documents retrying 404, 408, 410, 429 and 5xx). Default 3. */
  maxAttempts?: number;
  /** Delay before retry `n` (1-based) when the answer has no `Retry-After`. Default 1 s doubling, at most 8 s. */
  retryDelayMs?: (retry: number) => number;
  /** `User-Agent` header. */
  userAgent?: string;
  /** Keep-alive agent shared by the sources of one node. Default a private keep-alive agent. */
  agent?: http.Agent;
  /** Time source for retry delays and token times. */
  clock?: Clock;
}

const RETRYABLE = (status: number): boolean =>
  status === 404 || status === 408 || status === 410 || status === 429 || status >= 500;
const MAX_RETRY_AFTER_MS = 30_000;
const MAX_BODY_BYTES = 64 * 1024;

/**
 * A token source that asks the node's IMDS, over plain http from the host network, for a token of one
 * of the machine's identities, the way the original NMI did for user-assigned identities
 * (`GET /metadata/identity/oauth2/token?api-version=2018-02-01&client_id=…&resource=…`, `Metadata: true`).
 * It retries what IMDS documents as transient, honouring `Retry-After`.
 *
 * @param options - selector, endpoint, retry policy
 * @returns the source
 */
export function createImdsTokenSource(options: ImdsTokenSourceOptions): TokenSource {
  const endpoint = new URL(options.endpoint ?? 'http://169.254.169.254');
  if (endpoint.protocol !== 'http:') throw new TypeError('IMDS endpoint must be an http:// URL');
  const apiVersion = options.apiVersion ?? '2018-02-01';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new RangeError('maxAttempts must be at least 1');
  const retryDelayMs = options.retryDelayMs ?? ((n: number) => Math.min(8000, 1000 * 2 ** (n - 1)));
  const clock = options.clock ?? systemClock;
  const agent = options.agent ?? new http.Agent({ keepAlive: true, maxSockets: 5 });
  const selector = options.selector;
  const [selectorName, selectorValue] = selectorParam(selector);
  const describe =
    selector.kind === 'clientId'
      ? `user-assigned identity ${redactClientId(selector.clientId)}`
      : selector.kind === 'none'
        ? 'the system-assigned identity'
        : `identity by ${selectorName}`;

  const getTokens = async (
    resource: string,
    callOptions: GetTokensOptions = {},
  ): Promise<readonly AcquiredToken[]> => {
    // Parameters in sorted order, as adal sent them.
    const query = new URLSearchParams();
    query.set('api-version', apiVersion);
    if (selectorName !== undefined) query.set(selectorName, selectorValue);
    query.set('resource', resource);
    const path = `${endpoint.pathname.replace(/\/$/, '')}/metadata/identity/oauth2/token?${query.toString()}`;
    let last: TokenAcquisitionError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      callOptions.abortSignal?.throwIfAborted();
      let response: RawResponse;
      try {
        response = await send(
          agent,
          endpoint,
          path,
          options.userAgent,
          timeoutMs,
          callOptions.abortSignal,
        );
      } catch (error) {
        if (callOptions.abortSignal?.aborted === true) throw error;
        last = new TokenAcquisitionError('unavailable', `IMDS request for ${describe} failed`, {
          cause: error,
        });
        if (attempt < maxAttempts)
          await clock.sleep(retryDelayMs(attempt), callOptions.abortSignal);
        continue;
      }
      if (response.status === 200)
        return [parseImdsToken(response.body, resource, clock.now(), describe)];
      const description = errorDescription(response.body);
      if (!RETRYABLE(response.status)) {
        throw new TokenAcquisitionError(
          'refused',
          `IMDS refused a token for ${describe}: ${String(response.status)} ${description}`,
          { status: response.status },
        );
      }
      last = new TokenAcquisitionError(
        'unavailable',
        `IMDS could not issue a token for ${describe}: ${String(response.status)} ${description}`,
        { status: response.status },
      );
      if (attempt < maxAttempts) {
        const retryAfter = parseRetryAfter(response.retryAfter, clock);
        await clock.sleep(
          Math.min(retryAfter ?? retryDelayMs(attempt), MAX_RETRY_AFTER_MS),
          callOptions.abortSignal,
        );
      }
    }
    throw last ?? new TokenAcquisitionError('unavailable', `IMDS request for ${describe} failed`);
  };

  return { key: `imds/${selectorName ?? 'system'}=${selectorValue.toLowerCase()}`, getTokens };
}

function selectorParam(selector: IdentitySelector): [string | undefined, string] {
  switch (selector.kind) {
    case 'none':
      return [undefined, ''];
    case 'clientId':
      return ['client_id', selector.clientId];
    case 'objectId':
      return ['object_id', selector.objectId];
    case 'resourceId':
      return ['msi_res_id', selector.resourceId];
  }
}

interface RawResponse {
  status: number;
  body: string;
  retryAfter: string | undefined;
}

function send(
  agent: http.Agent,
  endpoint: URL,
  path: string,
  userAgent: string | undefined,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const headers: Record<string, string> = { Metadata: 'true', Accept: 'application/json' };
    if (userAgent !== undefined && userAgent !== '') headers['User-Agent'] = userAgent;
    const request = http.request(
      {
        agent,
        host: endpoint.hostname.replace(/^\[|\]$/g, ''),
        port: endpoint.port === '' ? 80 : Number(endpoint.port),
        method: 'GET',
        path,
        headers,
        timeout: timeoutMs,
        ...(signal === undefined ? {} : { signal }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            response.destroy(new Error('IMDS response too large'));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            retryAfter: response.headers['retry-after'],
          });
        });
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`IMDS did not answer within ${String(timeoutMs)} ms`)),
    );
    request.on('error', reject);
    request.end();
  });
}

/**
 * Reads an IMDS token response. `expires_on` may be epoch seconds (number or numeric string, IMDS) or a
 * date string (other managed identity endpoints); without it, `expires_in` counts from now.
 */
export function parseImdsToken(
  body: string,
  resource: string,
  nowMs: number,
  describe = 'identity',
): AcquiredToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch (error) {
    throw new TokenAcquisitionError(
      'unavailable',
      `IMDS answered ${describe} with a body that is not JSON`,
      { cause: error },
    );
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new TokenAcquisitionError(
      'unavailable',
      `IMDS answered ${describe} with a body that is not an object`,
    );
  }
  const fields = parsed as Record<string, unknown>;
  const accessToken = fields.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new TokenAcquisitionError(
      'unavailable',
      `IMDS answered ${describe} without an access_token`,
    );
  }
  const claims = readJwtClaims(accessToken);
  const expiresOn =
    toEpochMs(fields.expires_on) ??
    (toSeconds(fields.expires_in) !== undefined
      ? nowMs + (toSeconds(fields.expires_in) ?? 0) * 1000
      : undefined) ??
    (typeof claims?.exp === 'number' ? claims.exp * 1000 : undefined);
  if (expiresOn === undefined) {
    throw new TokenAcquisitionError('unavailable', `IMDS answered ${describe} without an expiry`);
  }
  const notBefore =
    toEpochMs(fields.not_before) ?? (typeof claims?.nbf === 'number' ? claims.nbf * 1000 : nowMs);
  const token: {
    accessToken: string;
    expiresOnTimestamp: number;
    notBeforeTimestamp: number;
    resource: string;
    tokenType: string;
    clientId?: string;
    objectId?: string;
  } = {
    accessToken,
    expiresOnTimestamp: expiresOn,
    notBeforeTimestamp: notBefore,
    resource:
      typeof fields.resource === 'string' && fields.resource !== '' ? fields.resource : resource,
    tokenType:
      typeof fields.token_type === 'string' && fields.token_type !== ''
        ? fields.token_type
        : 'Bearer',
  };
  if (typeof fields.client_id === 'string' && fields.client_id !== '')
    token.clientId = fields.client_id;
  else if (typeof claims?.appid === 'string') token.clientId = claims.appid;
  if (typeof claims?.oid === 'string') token.objectId = claims.oid;
  return token;
}

function toSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

function toEpochMs(value: unknown): number | undefined {
  const seconds = toSeconds(value);
  if (seconds !== undefined) return seconds * 1000;
  if (typeof value === 'string' && value !== '') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

function errorDescription(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const text = [parsed.error, parsed.error_description]
      .filter((v) => typeof v === 'string')
      .join(': ');
    if (text !== '') return text.slice(0, 300);
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim().slice(0, 300);
}
