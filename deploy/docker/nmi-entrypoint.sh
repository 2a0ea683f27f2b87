#!/bin/sh
# Uses the iptables backend (nft or legacy) the node already uses, the way Kubernetes' own
# iptables-wrapper does: rules written through the other backend would live in a second set of
# tables that the node's tools (and operators) do not see. Then runs NMI.
set -eu

nft_rules=$( (iptables-nft-save -t nat 2>/dev/null || true) | grep -c '^-' || true)
legacy_rules=$( (iptables-legacy-save -t nat 2>/dev/null || true) | grep -c '^-' || true)
if [ "${legacy_rules:-0}" -gt "${nft_rules:-0}" ]; then
  mode=legacy
else
  mode=nft
fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null

exec "$@"
