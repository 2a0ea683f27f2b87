// The name shapes of Kubernetes' apimachinery validation, in one place. Length limits are checked
// beside them by the predicates that use them.

/** One DNS label (`IsDNS1123Label`): lower-case alphanumerics and `-`, alphanumeric at both ends. */
export const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/u;

/** A DNS subdomain (`IsDNS1123Subdomain`): DNS labels joined by dots. */
export const DNS1123_SUBDOMAIN =
  /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/u;

/**
 * A qualified name's name part, and a non-empty label value (`IsQualifiedName`,
 * `IsValidLabelValue`): alphanumerics, `-`, `_` and `.`, alphanumeric at both ends.
 */
export const QUALIFIED_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/u;
