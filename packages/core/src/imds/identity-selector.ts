/**
 * Which identity a token is for: none named, or one of IMDS's three selectors (`client_id`,
 * `object_id`, `msi_res_id`). With none, NMI's broker chooses among the pod's identities, and IMDS
 * itself answers with the machine's system-assigned identity. The one selector type of core, NMI
 * and the testkit; the client's `IdentitySelector` is the same choice spelt for applications
 * (`{ clientId }`, `{ objectId }`, `{ resourceId }` or `{}`).
 */
export type IdentitySelector =
  | { readonly kind: 'none' }
  | { readonly kind: 'clientId'; readonly clientId: string }
  | { readonly kind: 'objectId'; readonly objectId: string }
  | { readonly kind: 'resourceId'; readonly resourceId: string };
