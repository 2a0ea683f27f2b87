import type { JsonObject } from './json.js';

/** One entry of `Status.details.causes`. */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

/** `Status.details` as kube-apiserver fills it. */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** A group-qualified resource (`pods`, `leases.coordination.k8s.io`) for error messages. */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

/** `pods` for the core group, `leases.coordination.k8s.io` otherwise, as kube prints resources. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

const reasonForCode: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The `Status.reason` kube-apiserver uses for an HTTP status code (`Unknown` when it has none). */
export function reasonFor(code: number): string {
  return reasonForCode[code] ?? 'Unknown';
}

/**
 * An API failure that the emulator answers with a `Status` object, the way kube-apiserver does
 * (`kind: Status`, `status: Failure`, `reason`, `code`, `details`).
 */
export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** The wire form of this error. */
  toStatus(): JsonObject {
    return statusObject(this.code, this.reason, this.message, this.details);
  }
}

/** Builds a `Status` failure object. */
export function statusObject(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): JsonObject {
  const status: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
  };
  if (details !== undefined) status.details = details;
  status.code = code;
  return status;
}

function nameDetails(gr: GroupResource, name: string): StatusDetails {
  return gr.group === ''
    ? { name, kind: gr.resource }
    : { name, group: gr.group, kind: gr.resource };
}

/** 404 `pods "x" not found`. */
export function notFoundError(gr: GroupResource, name: string): ApiStatusError {
  return new ApiStatusError(
    404,
    'NotFound',
    `${qualifiedResource(gr)} "${name}" not found`,
    nameDetails(gr, name),
  );
}

/** 409 `pods "x" already exists`. */
export function alreadyExistsError(gr: GroupResource, name: string): ApiStatusError {
  return new ApiStatusError(
    409,
    'AlreadyExists',
    `${qualifiedResource(gr)} "${name}" already exists`,
    nameDetails(gr, name),
  );
}

/** 409 Conflict for a stale `resourceVersion` or a failed precondition. */
export function conflictError(gr: GroupResource, name: string, why: string): ApiStatusError {
  return new ApiStatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    nameDetails(gr, name),
  );
}

/** Conflict message kube uses when an update carries a stale `resourceVersion`. */
export const STALE_OBJECT_MESSAGE =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 400 BadRequest with kube's message. */
export function badRequestError(message: string): ApiStatusError {
  return new ApiStatusError(400, 'BadRequest', message);
}

/** 405 for a verb a path does not serve. */
export function methodNotAllowedError(): ApiStatusError {
  return new ApiStatusError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

/** 404 for a path that names no resource at all. */
export function unknownPathError(): ApiStatusError {
  return new ApiStatusError(
    404,
    'NotFound',
    'the server could not find the requested resource',
    {},
  );
}

/** 410 Expired, as for a compacted watch `resourceVersion` or `continue` token. */
export function expiredError(message: string): ApiStatusError {
  return new ApiStatusError(410, 'Expired', message);
}

/** A field error, rendered the way apimachinery's `field.Error` prints. */
export interface FieldError {
  readonly type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueTypeInvalid'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueDuplicate';
  readonly field: string;
  /** Human text after the type's prefix (for Invalid: after the value). */
  readonly detail: string;
  /** The offending value, when the type prints one. */
  readonly value?: unknown;
}

function renderValue(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

function fieldErrorMessage(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueRequired':
      return e.detail === '' ? 'Required value' : `Required value: ${e.detail}`;
    case 'FieldValueForbidden':
      return `Forbidden: ${e.detail}`;
    case 'FieldValueNotSupported':
      return `Unsupported value: ${renderValue(e.value)}: ${e.detail}`;
    case 'FieldValueTooLong':
      return `Too long: ${e.detail}`;
    case 'FieldValueTooMany':
      return `Too many: ${e.detail}`;
    case 'FieldValueDuplicate':
      return `Duplicate value: ${renderValue(e.value)}`;
    case 'FieldValueInvalid':
    case 'FieldValueTypeInvalid':
      return `Invalid value: ${renderValue(e.value)}: ${e.detail}`;
  }
}

/** 422 Invalid listing field errors, e.g. `Pod "X" is invalid: metadata.name: Invalid value: …`. */
export function invalidError(
  kind: { readonly group: string; readonly kind: string },
  name: string,
  errors: readonly FieldError[],
): ApiStatusError {
  const rendered = errors.map((e) => `${e.field}: ${fieldErrorMessage(e)}`);
  const summary = rendered.length === 1 ? (rendered[0] ?? '') : `[${rendered.join(', ')}]`;
  const qualifiedKind = kind.group === '' ? kind.kind : `${kind.kind}.${kind.group}`;
  const details: StatusDetails = {
    name,
    ...(kind.group === '' ? {} : { group: kind.group }),
    kind: kind.kind,
    causes: errors.map((e) => ({
      reason: e.type,
      message: fieldErrorMessage(e),
      field: e.field,
    })),
  };
  return new ApiStatusError(
    422,
    'Invalid',
    `${qualifiedKind} "${name}" is invalid: ${summary}`,
    details,
  );
}
