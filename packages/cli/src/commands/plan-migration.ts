import { createHash } from 'node:crypto';
import { WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION } from '@pod-identity/core';

/** Azure's limit of federated identity credentials on one user-assigned identity. */
export const FEDERATED_CREDENTIALS_PER_IDENTITY = 20;
/** The audience of the tokens Entra exchanges. */
export const EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** A binding as the planner reads it. */
export interface MigrationBinding {
  readonly namespace: string;
  readonly name: string;
  readonly azureIdentity: string;
  readonly selector: string;
}

/** An AzureIdentity as the planner reads it. */
export interface MigrationIdentity {
  readonly namespace: string;
  readonly name: string;
  /** 0 user-assigned, 1 and 2 service principals. */
  readonly type: number;
  readonly resourceId: string | undefined;
  readonly clientId: string | undefined;
}

/** A pod as the planner reads it. */
export interface MigrationPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccountName: string;
}

/** A service account as the planner reads it. */
export interface MigrationServiceAccount {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A federated identity credential that exists on an identity. */
export interface ExistingCredential {
  readonly name: string;
  readonly issuer: string;
  readonly subject: string;
}

/** Everything {@link planMigration} decides from. */
export interface MigrationInput {
  /** The cluster's OIDC (service-account) issuer URL. */
  readonly issuer: string;
  readonly bindings: readonly MigrationBinding[];
  readonly identities: readonly MigrationIdentity[];
  readonly pods: readonly MigrationPod[];
  readonly serviceAccounts: readonly MigrationServiceAccount[];
  /** Existing credentials by identity resource id (lower case); missing = none. */
  readonly credentials: ReadonlyMap<string, readonly ExistingCredential[]>;
}

/** One service account of one binding, and what migrating it takes. */
export interface MigrationEntry {
  /** `namespace/name` of the binding. */
  readonly binding: string;
  /** `namespace/name` of the AzureIdentity. */
  readonly identity: string;
  readonly identityResourceId: string;
  readonly clientId: string;
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
  /** `system:serviceaccount:<namespace>:<name>` */
  readonly subject: string;
  /** Names of the binding's pods that run as this service account. */
  readonly pods: readonly string[];
  readonly credential: { readonly name: string; readonly action: 'create' | 'exists' };
  /** Whether the service account's annotation must be written (false: it already names this identity). */
  readonly annotate: boolean;
}

/** A binding the plan leaves alone, and why. */
export interface SkippedBinding {
  readonly binding: string;
  readonly reason: string;
}

/** What `pod-identity migrate` would do. */
export interface MigrationPlan {
  readonly issuer: string;
  readonly entries: readonly MigrationEntry[];
  readonly skipped: readonly SkippedBinding[];
  /** Problems that stop `apply` (a service account claimed twice, the credential limit). */
  readonly problems: readonly string[];
}

const CREDENTIAL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$/;

/**
 * The federated credential name for a service account: `pod-identity-<namespace>-<name>`, made to
 * fit Azure's name rule (letters, digits, `-`, `_`; 3 to 120 characters), a hash keeping long names
 * apart.
 * @param namespace - the service account's namespace
 * @param name - its name
 */
export function federatedCredentialName(namespace: string, name: string): string {
  const plain = `pod-identity-${namespace}-${name}`.replace(/[^a-zA-Z0-9-_]/g, '-');
  if (CREDENTIAL_NAME.test(plain)) return plain;
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 10);
  return `${plain.slice(0, 109)}-${hash}`;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * Plans the move of AzureIdentityBindings to workload identity federation: for each binding, the
 * service accounts of the pods it selects (`aadpodidbinding` = its selector, in its namespace), the
 * federated credential each needs on the binding's user-assigned identity (issuer and subject), and
 * the annotation each service account needs. Pure; `apply` refuses to run while `problems` is not
 * empty: a service account already federated to another identity, or wanted by two, or an identity
 * past Azure's 20 credentials.
 * @param input - the cluster and ARM as read now
 */
export function planMigration(input: MigrationInput): MigrationPlan {
  const identities = new Map(input.identities.map((i) => [key(i.namespace, i.name), i]));
  const accounts = new Map(input.serviceAccounts.map((a) => [key(a.namespace, a.name), a]));
  const entries: MigrationEntry[] = [];
  const skipped: SkippedBinding[] = [];
  const problems: string[] = [];
  const claimedBy = new Map<string, string>(); // service account → client id
  const toCreate = new Map<string, Set<string>>(); // identity id → credential names

  const sorted = [...input.bindings].sort((a, b) =>
    key(a.namespace, a.name).localeCompare(key(b.namespace, b.name)),
  );
  for (const binding of sorted) {
    const bindingKey = key(binding.namespace, binding.name);
    const identity = identities.get(key(binding.namespace, binding.azureIdentity));
    if (identity === undefined) {
      skipped.push({
        binding: bindingKey,
        reason: `AzureIdentity ${binding.azureIdentity} not found in ${binding.namespace}`,
      });
      continue;
    }
    if (
      identity.type !== 0 ||
      identity.resourceId === undefined ||
      identity.clientId === undefined
    ) {
      skipped.push({
        binding: bindingKey,
        reason: `AzureIdentity ${identity.name} is not a user-assigned identity (federated credentials of service principals are set in Microsoft Graph, not ARM)`,
      });
      continue;
    }
    const pods = input.pods.filter(
      (pod) =>
        pod.namespace === binding.namespace && pod.labels.aadpodidbinding === binding.selector,
    );
    if (pods.length === 0) {
      skipped.push({
        binding: bindingKey,
        reason: `no pod is labelled aadpodidbinding=${binding.selector}`,
      });
      continue;
    }
    const byAccount = new Map<string, MigrationPod[]>();
    for (const pod of pods) {
      const list = byAccount.get(pod.serviceAccountName) ?? [];
      list.push(pod);
      byAccount.set(pod.serviceAccountName, list);
    }
    const existing = input.credentials.get(identity.resourceId.toLowerCase()) ?? [];
    for (const [accountName, accountPods] of [...byAccount].sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      const accountKey = key(binding.namespace, accountName);
      const subject = `system:serviceaccount:${binding.namespace}:${accountName}`;
      const annotated =
        accounts.get(accountKey)?.annotations[WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION];
      const previous = claimedBy.get(accountKey);
      if (previous !== undefined && previous.toLowerCase() !== identity.clientId.toLowerCase())
        problems.push(
          `service account ${accountKey} is used by pods of two identities (client ids ${previous} and ${identity.clientId}); a service account federates to one identity: give the pods separate service accounts first`,
        );
      claimedBy.set(accountKey, identity.clientId);
      if (annotated !== undefined && annotated.toLowerCase() !== identity.clientId.toLowerCase())
        problems.push(
          `service account ${accountKey} is already federated to client id ${annotated}, not ${identity.clientId} of ${bindingKey}`,
        );
      const found = existing.find((c) => c.issuer === input.issuer && c.subject === subject);
      const name = found?.name ?? federatedCredentialName(binding.namespace, accountName);
      if (found === undefined) {
        const names = toCreate.get(identity.resourceId.toLowerCase()) ?? new Set<string>();
        names.add(name);
        toCreate.set(identity.resourceId.toLowerCase(), names);
      }
      entries.push({
        binding: bindingKey,
        identity: key(identity.namespace, identity.name),
        identityResourceId: identity.resourceId,
        clientId: identity.clientId,
        serviceAccount: { namespace: binding.namespace, name: accountName },
        subject,
        pods: accountPods.map((pod) => pod.name).sort(),
        credential: { name, action: found === undefined ? 'create' : 'exists' },
        annotate: annotated === undefined,
      });
    }
  }
  for (const [identityId, names] of toCreate) {
    const existing = input.credentials.get(identityId)?.length ?? 0;
    if (existing + names.size > FEDERATED_CREDENTIALS_PER_IDENTITY)
      problems.push(
        `identity ${identityId} would need ${String(existing + names.size)} federated identity credentials (${String(existing)} exist, ${String(names.size)} to create); Azure allows ${String(FEDERATED_CREDENTIALS_PER_IDENTITY)} per user-assigned identity: use fewer service accounts per identity, or more identities`,
      );
  }
  return { issuer: input.issuer, entries, skipped, problems: [...new Set(problems)] };
}
