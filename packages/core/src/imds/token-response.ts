/** A token as a broker hands it to {@link formatTokenResponse}. Times are epoch milliseconds. */
export interface ImdsToken {
  /** The access token (a JWT). */
  readonly accessToken: string;
  /** When the token expires. */
  readonly expiresOnTimestamp: number;
  /** When the token becomes valid; when unknown the response says the time it was acquired. */
  readonly notBeforeTimestamp: number;
  /** The audience the token was issued for, echoed as `resource`. */
  readonly resource: string;
  /** Token type; IMDS says `Bearer`. */
  readonly tokenType?: string;
  /** Client ID of the identity; IMDS includes it, the original NMI did not. Omitted when undefined. */
  readonly clientId?: string;
}

/** The JSON object IMDS answers a token request with: every value is a string. */
export interface ImdsTokenResponseBody {
  access_token: string;
  refresh_token: string;
  expires_in: string;
  expires_on: string;
  not_before: string;
  resource: string;
  token_type: string;
  client_id?: string;
}

/**
 * The IMDS token object for one token: the original NMI's seven keys, all strings, plus `client_id`
 * when known (real IMDS sends it; clients that did not expect it ignore it). `expires_in` counts from
 * `nowMs`, so a cached token reports its remaining lifetime, not its original one.
 *
 * @param token - the token
 * @param nowMs - the current time, epoch milliseconds
 * @returns the response object
 */
export function toImdsTokenResponseBody(token: ImdsToken, nowMs: number): ImdsTokenResponseBody {
  const body: ImdsTokenResponseBody = {
    access_token: token.accessToken,
    refresh_token: '',
    expires_in: String(Math.max(0, Math.floor((token.expiresOnTimestamp - nowMs) / 1000))),
    expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
    not_before: String(Math.floor(token.notBeforeTimestamp / 1000)),
    resource: token.resource,
    token_type: token.tokenType ?? 'Bearer',
  };
  if (token.clientId !== undefined) body.client_id = token.clientId;
  return body;
}

/**
 * The body of a successful token response: one JSON object, or, when a service principal with
 * auxiliary tenants yields several tokens, a JSON array of them, primary first (as the original did).
 * Compact, no trailing newline.
 *
 * @param tokens - one or more tokens, primary first
 * @param nowMs - the current time, epoch milliseconds
 * @returns the JSON body
 * @throws RangeError when `tokens` is empty
 */
export function formatTokenResponse(tokens: readonly ImdsToken[], nowMs: number): string {
  const [first] = tokens;
  if (first === undefined) throw new RangeError('formatTokenResponse needs at least one token');
  if (tokens.length === 1) return JSON.stringify(toImdsTokenResponseBody(first, nowMs));
  return JSON.stringify(tokens.map((token) => toImdsTokenResponseBody(token, nowMs)));
}

/**
 * The body of the host route (`/host/token/`) for node-level agents:
 * `{"token":{…IMDS object of the primary token…},"clientid":"<AzureIdentity.spec.clientID>"}`.
 *
 * @param token - the primary token
 * @param clientId - the identity's client ID
 * @param nowMs - the current time, epoch milliseconds
 * @returns the JSON body
 */
export function formatHostTokenResponse(token: ImdsToken, clientId: string, nowMs: number): string {
  // The original's host response nests the seven-key object; the client ID is beside it.
  const body = toImdsTokenResponseBody(token, nowMs);
  delete body.client_id;
  return JSON.stringify({ token: body, clientid: clientId });
}
