// Which iptables backend NMI's image uses on a node: the one (nft or legacy) that already holds the
// node's nat rules, the way Kubernetes' own iptables-wrapper decides. Rules written through the other
// backend would live in a second set of tables that kube-proxy and the node's tools do not see.

/** An iptables backend of Debian's iptables package. */
export type IptablesBackend = 'nft' | 'legacy';

/** The directory whose `iptables`, `iptables-save`, … run the given backend (made by stage-app.ts). */
export function backendDirectory(backend: IptablesBackend): string {
  return `/usr/lib/pod-identity/iptables-${backend}`;
}

/** The commands each backend directory holds, as links to Debian's multi-call binaries. */
export const BACKEND_COMMANDS = [
  'iptables',
  'iptables-save',
  'iptables-restore',
  'ip6tables',
  'ip6tables-save',
  'ip6tables-restore',
] as const;

/** The number of rules (`-A` lines) in an `iptables-save` listing. */
export function countRules(listing: string): number {
  return listing.split('\n').filter((line) => line.startsWith('-A ')).length;
}

/**
 * legacy when the legacy nat table holds more rules than the nft one, nft otherwise (also on a node
 * with no rules yet: nft is what current distributions' iptables defaults to).
 * @param nftRules - rules in `iptables-nft-save -t nat`
 * @param legacyRules - rules in `iptables-legacy-save -t nat`
 */
export function chooseBackend(nftRules: number, legacyRules: number): IptablesBackend {
  return legacyRules > nftRules ? 'legacy' : 'nft';
}

/**
 * The backend asked for in `POD_IDENTITY_IPTABLES_BACKEND` (`nft` or `legacy`), `undefined` when it is
 * unset or empty; throws on any other value rather than guess.
 */
export function requestedBackend(value: string | undefined): IptablesBackend | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'nft' || value === 'legacy') return value;
  throw new Error(
    `POD_IDENTITY_IPTABLES_BACKEND must be nft or legacy, got ${JSON.stringify(value)}`,
  );
}
