import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { CloudConfig } from './cloud-config.js';
import type { Logger } from '@pod-identity/core';

/** The azure.json keys a credential is built from; a change to any of them means a new credential. */
const CREDENTIAL_KEYS = [
  'tenantId',
  'aadClientId',
  'aadClientSecret',
  'useManagedIdentityExtension',
  'userAssignedIdentityID',
] as const satisfies readonly (keyof CloudConfig)[];

/** Keys MIC reads only at start; a change is logged, and applies after a restart. */
const START_ONLY_KEYS = [
  'cloud',
  'subscriptionId',
  'resourceGroup',
] as const satisfies readonly (keyof CloudConfig)[];

/** Options of {@link createReloadingCredential}. */
export interface ReloadingCredentialOptions {
  /** The configuration the first credential is built from. */
  readonly initial: CloudConfig;
  /** Reads the configuration again (azure.json from the node). */
  readonly load: () => Promise<CloudConfig>;
  /** Builds a credential for a configuration. */
  readonly build: (config: CloudConfig) => TokenCredential;
  /** How often, at most, the configuration is read again while tokens are served. Default 60 s. */
  readonly checkIntervalMs?: number;
  /** Where reloads and unreadable files are reported. Secrets are never logged. */
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** Clock, for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * A credential that follows azure.json: AKS rewrites the node's file when the cluster's service
 * principal secret is rotated (`az aks update-credentials`), and the original MIC kept the secret
 * it read at start, failing every ARM call until it was restarted. This one reads the file again at
 * most every `checkIntervalMs` while tokens are asked for, and at once after a token request failed,
 * and switches to a new credential when the credential keys changed. A file that cannot be read or
 * parsed keeps the current credential (and is reported once per distinct error).
 *
 * @param options - see {@link ReloadingCredentialOptions}
 * @returns the credential to hand to the ARM client
 */
export function createReloadingCredential(options: ReloadingCredentialOptions): TokenCredential {
  const now = options.now ?? Date.now;
  const intervalMs = options.checkIntervalMs ?? 60_000;
  let config = options.initial;
  let credential = options.build(config);
  let checkedAt = now();
  let failedSinceCheck = false;
  let checking: Promise<void> | undefined;
  let lastError = '';
  let lastStartOnlyChange = '';

  const check = async (): Promise<void> => {
    checkedAt = now();
    failedSinceCheck = false;
    let next: CloudConfig;
    try {
      next = await options.load();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) {
        lastError = message;
        options.logger?.warn(
          { err: error },
          'cannot read the cloud config again; keeping the current credential',
        );
      }
      return;
    }
    lastError = '';
    const changedStartOnly = START_ONLY_KEYS.filter((key) => next[key] !== options.initial[key]);
    const startOnlyChange = changedStartOnly.join(',');
    if (startOnlyChange !== lastStartOnlyChange) {
      lastStartOnlyChange = startOnlyChange;
      if (changedStartOnly.length > 0)
        options.logger?.warn(
          { keys: changedStartOnly },
          'cloud config changed keys that apply only after MIC restarts',
        );
    }
    const changed = CREDENTIAL_KEYS.filter((key) => next[key] !== config[key]);
    if (changed.length === 0) return;
    credential = options.build(next);
    config = next;
    // Names of the keys only: the secret itself is never logged.
    options.logger?.info({ keys: changed }, 'cloud config credentials changed; using the new ones');
  };

  return {
    async getToken(
      scopes: string | string[],
      getTokenOptions?: GetTokenOptions,
    ): Promise<AccessToken | null> {
      if (failedSinceCheck || now() - checkedAt >= intervalMs) {
        checking ??= check().finally(() => {
          checking = undefined;
        });
        await checking;
      }
      try {
        return await credential.getToken(scopes, getTokenOptions);
      } catch (error) {
        failedSinceCheck = true;
        throw error;
      }
    },
  };
}
