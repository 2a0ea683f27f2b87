import { ValidationError } from '../errors/validation-error.js';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from './kubernetes-name-patterns.js';

/** Longest RFC 1123 subdomain Kubernetes accepts as an object name. */
export const RFC1123_SUBDOMAIN_MAX_LENGTH = 253;
/** Longest RFC 1123 label Kubernetes accepts (namespace names, for example). */
export const RFC1123_LABEL_MAX_LENGTH = 63;

/**
 * Whether a string is an RFC 1123 subdomain as Kubernetes defines it (`IsDNS1123Subdomain`): at most
 * 253 characters of lower-case alphanumerics, `-` and `.`, each dot-separated part starting and ending
 * with an alphanumeric. The API server requires this of custom resource names, so every pod-identity
 * object name (and every Secret name) has this shape.
 *
 * @param name - the candidate name
 * @returns true when the API server would accept it as an object name
 */
export function isRfc1123Subdomain(name: string): boolean {
  return name.length <= RFC1123_SUBDOMAIN_MAX_LENGTH && DNS1123_SUBDOMAIN.test(name);
}

/**
 * Whether a string is an RFC 1123 label as Kubernetes defines it (`IsDNS1123Label`): at most 63
 * lower-case alphanumerics or `-`, starting and ending with an alphanumeric. Namespace names have
 * this shape.
 *
 * @param name - the candidate label
 * @returns true when the API server would accept it as a namespace name
 */
export function isRfc1123Label(name: string): boolean {
  return name.length <= RFC1123_LABEL_MAX_LENGTH && DNS1123_LABEL.test(name);
}

/**
 * Checks the name of a pod-identity object (an AzureIdentity, binding, assigned identity or
 * exception), which the API server requires to be an RFC 1123 subdomain.
 *
 * @param name - the candidate name
 * @param field - the path reported in the error; `metadata.name` unless given
 * @throws ValidationError naming `field` when the name is empty, too long or badly formed
 */
export function validatePodIdentityName(name: string, field = 'metadata.name'): void {
  if (name === '') {
    throw new ValidationError(field, 'must not be empty');
  }
  if (name.length > RFC1123_SUBDOMAIN_MAX_LENGTH) {
    throw new ValidationError(
      field,
      `must be at most ${RFC1123_SUBDOMAIN_MAX_LENGTH} characters (got ${name.length})`,
    );
  }
  if (!DNS1123_SUBDOMAIN.test(name)) {
    throw new ValidationError(
      field,
      `${JSON.stringify(name)} is not an RFC 1123 subdomain: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );
  }
}
