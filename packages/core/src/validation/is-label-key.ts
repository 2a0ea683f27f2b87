import { isRfc1123Subdomain } from './is-rfc1123-subdomain.js';
import { LABEL_VALUE_MAX_LENGTH } from './is-label-value.js';
import { QUALIFIED_NAME } from './kubernetes-name-patterns.js';

/**
 * Whether a string can be the key of a Kubernetes label, or a finalizer (`IsQualifiedName`): an optional RFC 1123
 * subdomain prefix and `/`, then a name of at most 63 alphanumerics, `-`, `_` and `.` starting and
 * ending with an alphanumeric, e.g. `app` or `app.kubernetes.io/component`.
 *
 * @param key - the candidate label key
 * @returns true when the API server would accept it as a label key
 */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1 && !isRfc1123Subdomain(key.slice(0, slash))) {
    return false;
  }
  return name.length <= LABEL_VALUE_MAX_LENGTH && QUALIFIED_NAME.test(name);
}
