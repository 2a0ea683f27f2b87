/**
 * The AADSTS codes a token endpoint answer may carry and the OAuth `error` each goes with, written by
 * hand from Microsoft's "Microsoft Entra authentication and authorization error codes" (entra-docs
 * `docs/identity-platform/reference-error-codes.md`, ms.date 2024-04-24: the code's name) and the
 * OAuth 2.0 error each condition is (RFC 6749 §5.2, the article's `error` table). Codes outside the
 * article name where they come from.
 */
export interface DocumentedEntraError {
  /** The `error` values this code is answered with. */
  readonly errors: readonly string[];
  /** The code's name or meaning, and its source when it is not the reference article. */
  readonly meaning: string;
}

export const ENTRA_ERROR_CODES: Readonly<Record<number, DocumentedEntraError>> = {
  50000: { errors: ['server_error'], meaning: 'TokenIssuanceError' },
  50027: { errors: ['invalid_request'], meaning: 'InvalidJwtToken' },
  50196: { errors: ['temporarily_unavailable'], meaning: 'LoopDetected (too many requests)' },
  70003: { errors: ['unsupported_grant_type'], meaning: 'UnsupportedGrantType' },
  90002: { errors: ['invalid_request', 'invalid_tenant'], meaning: 'InvalidTenantName' },
  700016: { errors: ['unauthorized_client'], meaning: 'UnauthorizedClient_DoesNotMatchRequest' },
  700027: { errors: ['invalid_client'], meaning: 'Client assertion failed signature validation' },
  900144: { errors: ['invalid_request'], meaning: 'The request body must contain a parameter' },
  900561: { errors: ['invalid_request'], meaning: 'BadResourceRequestInvalidRequest (method)' },
  7000215: { errors: ['invalid_client'], meaning: 'Invalid client secret is provided' },
  7000218: {
    errors: ['invalid_client'],
    meaning: "The request body must contain 'client_assertion' or 'client_secret'",
  },
  // Not in the reference article: the codes Entra's own messages carry for these conditions.
  1002012: {
    errors: ['invalid_scope'],
    meaning:
      'a client-credentials scope without /.default (the article lists AADSTS70011 InvalidScope)',
  },
  70021: { errors: ['invalid_request'], meaning: 'no federated credential matches the assertion' },
  700024: { errors: ['invalid_client'], meaning: 'client assertion outside its valid time range' },
  700211: { errors: ['invalid_client'], meaning: 'no federated credential for the issuer' },
  700212: { errors: ['invalid_client'], meaning: 'no federated credential for the audience' },
  700213: { errors: ['invalid_client'], meaning: 'no federated credential for the subject' },
  7000272: { errors: ['invalid_client'], meaning: "the issuer's keys do not sign the assertion" },
};
