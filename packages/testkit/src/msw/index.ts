/**
 * msw handlers for unit tests of applications that use `@pod-identity/client` or `@azure/identity`:
 * the Instance Metadata Service token endpoint as pod-identity's node broker answers it. Needs `msw`
 * (a peer dependency of this entry only).
 *
 * @packageDocumentation
 */

export {
  createImdsTokenHandlers,
  type ImdsIdentity,
  type ImdsTokenHandlers,
  type ImdsTokenHandlersOptions,
  type ImdsTokenRequestRecord,
} from './imds-token-handlers.js';
export {
  imdsAnswer,
  nmiRefusalResponse,
  originalNmiRefusalResponse,
  type ImdsAnswer,
  type ImdsRefusal,
  type ImdsRefusalReason,
  type ImdsRefusalFormatter,
} from './imds-answer.js';
