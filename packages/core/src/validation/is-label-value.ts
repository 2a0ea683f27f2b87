import { QUALIFIED_NAME } from './kubernetes-name-patterns.js';

/** Longest label value (and label key name part) Kubernetes accepts. */
export const LABEL_VALUE_MAX_LENGTH = 63;

/**
 * Whether a string can be the value of a Kubernetes label: empty, or at most 63 alphanumerics, `-`,
 * `_` and `.` starting and ending with an alphanumeric. A binding's selector must be one, since it is
 * matched against the pod label `aadpodidbinding`.
 *
 * @param value - the candidate label value
 * @returns true when the API server would accept it as a label value
 */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= LABEL_VALUE_MAX_LENGTH && QUALIFIED_NAME.test(value));
}
