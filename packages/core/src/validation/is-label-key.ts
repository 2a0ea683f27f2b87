import { isRfc1123Subdomain } from './is-rfc1123-subdomain.js';
import { LABEL_VALUE_MAX_LENGTH } from './is-label-value.js';

const QUALIFIED_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Whether a string can be the key of a Kubernetes label (`IsQualifiedName`): an optional RFC 1123
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
