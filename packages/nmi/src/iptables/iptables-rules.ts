/** Settings the redirect rules are built from (the original's flags). */
export interface IptablesRuleOptions {
  /** Custom chain in the `nat` table. Default `aad-metadata`. */
  chain?: string;
  /** IMDS address (`--metadata-ip`). Default `169.254.169.254`. */
  metadataIp?: string;
  /** IMDS port (`--metadata-port`). Default 80. */
  metadataPort?: number;
  /** NMI's listen address (`--nmi-listen-address`); `0.0.0.0` redirects to `127.0.0.1`. */
  targetIp?: string;
  /** NMI's port (`--nmi-port`). Default 2579. */
  targetPort?: number;
}

/** The rules, as argument lists for `iptables` (without the leading `iptables`). */
export interface IptablesRules {
  /** The chain's name. */
  readonly chain: string;
  /** The IMDS address whose TCP traffic is redirected. */
  readonly metadataIp: string;
  /** The IMDS port whose TCP traffic is redirected. */
  readonly metadataPort: number;
  /** What `iptables -t nat -S <chain>` prints when the chain is right, line by line. */
  readonly expectedListing: readonly string[];
  /** Commands that (re)create the chain's contents, in order (after it exists and is flushed). */
  readonly chainRules: readonly (readonly string[])[];
  /** Checks whether PREROUTING jumps to the chain (`-C`; exit 0 when present). */
  readonly checkJump: readonly string[];
  /** Inserts the jump as the first PREROUTING rule. */
  readonly insertJump: readonly string[];
  /** Creates the chain. */
  readonly createChain: readonly string[];
  /** Flushes the chain. */
  readonly flushChain: readonly string[];
  /** Lists the chain (`-S`). */
  readonly listChain: readonly string[];
  /** Removes the jump, then the chain (cleanup on shutdown). */
  readonly cleanup: readonly (readonly string[])[];
}

/**
 * The `nat` rules that send pods' IMDS traffic to NMI, exactly as the original installed them:
 *
 * ```
 * -N aad-metadata
 * -A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579
 * -A aad-metadata -j RETURN
 * ```
 * plus `-I PREROUTING 1 -j aad-metadata`. Only PREROUTING is touched, so host-network processes
 * (NMI's own calls to IMDS among them) are not redirected. Pure: builds arguments, runs nothing.
 *
 * @param options - chain, addresses and ports
 * @returns the argument lists
 * @throws TypeError on an address or port that would make an invalid rule
 */
export function buildIptablesRules(options: IptablesRuleOptions = {}): IptablesRules {
  const chain = options.chain ?? 'aad-metadata';
  const metadataIp = options.metadataIp ?? '169.254.169.254';
  const metadataPort = options.metadataPort ?? 80;
  const listen = options.targetIp ?? '127.0.0.1';
  const targetIp = listen === '0.0.0.0' || listen === '' ? '127.0.0.1' : listen;
  const targetPort = options.targetPort ?? 2579;
  if (!/^[A-Za-z0-9_.-]{1,28}$/.test(chain)) throw new TypeError(`invalid chain name ${chain}`);
  for (const [name, ip] of [
    ['metadataIp', metadataIp],
    ['targetIp', targetIp],
  ] as const) {
    if (!isIpv4(ip)) throw new TypeError(`${name} must be an IPv4 address, got ${ip}`);
  }
  for (const [name, port] of [
    ['metadataPort', metadataPort],
    ['targetPort', targetPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new TypeError(`${name} must be a port number`);
  }
  const dnat = [
    '-A',
    chain,
    '!',
    '-s',
    '127.0.0.1/32',
    '-d',
    `${metadataIp}/32`,
    '-p',
    'tcp',
    '-m',
    'tcp',
    '--dport',
    String(metadataPort),
    '-j',
    'DNAT',
    '--to-destination',
    `${targetIp}:${String(targetPort)}`,
  ];
  const ret = ['-A', chain, '-j', 'RETURN'];
  const nat = (...args: string[]): string[] => ['-t', 'nat', ...args];
  return {
    chain,
    metadataIp,
    metadataPort,
    expectedListing: [`-N ${chain}`, dnat.join(' '), ret.join(' ')],
    chainRules: [nat(...dnat), nat(...ret)],
    checkJump: nat('-C', 'PREROUTING', '-j', chain),
    insertJump: nat('-I', 'PREROUTING', '1', '-j', chain),
    createChain: nat('-N', chain),
    flushChain: nat('-F', chain),
    listChain: nat('-S', chain),
    cleanup: [nat('-D', 'PREROUTING', '-j', chain), nat('-F', chain), nat('-X', chain)],
  };
}

/**
 * Whether `iptables -S` output shows the chain exactly as expected (blank lines ignored).
 * @param listing - the command's stdout
 * @param rules - the expected rules
 */
export function isChainCurrent(listing: string, rules: IptablesRules): boolean {
  const lines = listing
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return (
    lines.length === rules.expectedListing.length &&
    lines.every((line, i) => line === rules.expectedListing[i])
  );
}

/**
 * Whether `text` is a dotted-quad IPv4 address (what the rules and conntrack's filter accept).
 * @param text - the candidate address
 */
export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
