/**
 * The canonical text of an IP address, so that one address always has one spelling in the pod index:
 * IPv4 as dotted decimal, IPv4-mapped IPv6 (`::ffff:10.0.0.5`, what a dual-stack socket reports for
 * an IPv4 peer) as its IPv4 address, and IPv6 in RFC 5952 form (lower case, no leading zeros, the
 * longest run of zero groups as `::`).
 *
 * @param address - an address as a socket or the Kubernetes API reports it
 * @returns the canonical form, or `undefined` when the text is not an IP address (zones included)
 */
export function normalizeIpAddress(address: string): string | undefined {
  if (!address.includes(':')) return isIpv4(address) ? address : normalizeIpv4(address);
  const groups = parseIpv6(address);
  if (groups === undefined) return undefined;
  // ::ffff:a.b.c.d (IPv4-mapped)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return formatIpv6(groups);
}

// Fast path for the common case: already canonical dotted decimal (no leading zeros).
const IPV4_CANONICAL =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function isIpv4(text: string): boolean {
  return IPV4_CANONICAL.test(text);
}

function normalizeIpv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    octets.push(value);
  }
  return octets.join('.');
}

function parseIpv6(text: string): number[] | undefined {
  if (text.includes('%')) return undefined; // zone IDs never name a pod
  const doubleColon = text.indexOf('::');
  if (doubleColon !== -1 && text.includes('::', doubleColon + 1)) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i += 1) {
      const piece = pieces[i] ?? '';
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = normalizeIpv4(piece);
        if (v4 === undefined) return undefined;
        const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
      out.push(parseInt(piece, 16));
    }
    return out;
  };
  if (doubleColon === -1) {
    const groups = parseGroups(text);
    return groups?.length === 8 ? groups : undefined;
  }
  const head = parseGroups(text.slice(0, doubleColon));
  const tail = parseGroups(text.slice(doubleColon + 2));
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function formatIpv6(groups: readonly number[]): string {
  // Longest run of two or more zero groups (first one on ties) becomes "::" (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
