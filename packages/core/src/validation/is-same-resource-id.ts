/**
 * Whether two Azure Resource Manager IDs name the same resource. ARM treats resource IDs
 * case-insensitively (`resourceGroups` and `resourcegroups`, `MyRG` and `myrg` are the same), and
 * the original lower-cased every ID it sent, so IDs read back from a VM or scale set may differ in case
 * from the ones in an AzureIdentity.
 *
 * @param a - one resource ID
 * @param b - another resource ID
 * @returns true when they are equal ignoring case
 */
export function isSameResourceId(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}
