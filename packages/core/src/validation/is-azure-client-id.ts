const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a string is an Azure client (application) ID: a GUID in its 8-4-4-4-12 hexadecimal form,
 * either case, without braces. Entra ID issues every client ID, tenant ID and subscription ID in this
 * form.
 *
 * @param value - the candidate client ID
 * @returns true for a well-formed GUID
 */
export function isAzureClientId(value: string): boolean {
  return GUID.test(value);
}
