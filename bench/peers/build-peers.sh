#!/usr/bin/env bash
# Builds the Go original (AAD Pod Identity v1.8.17: its nmi and mic) from the Go module proxy into a
# cache directory OUTSIDE the repository, for bench/peers (docs/benchmarks.md). None of its code enters
# this repository: the module is downloaded into Go's module cache, copied to a writable directory in
# the cache (the module cache is read-only and `-mod=mod` must update go.sum) and built there.
# Safe to run again: binaries recorded as built from this version are kept. Prints the time taken.
#
# Environment:
#   POD_IDENTITY_CACHE   cache root (default: $HOME/.cache/pod-identity)
#   BUILD_PARALLELISM    go build -p (default: 2, the machine has 2 shared cores)
set -euo pipefail

PEER_MODULE="github.com/Azure/aad-pod-identity"
PEER_VERSION="v1.8.17"

GO_BUILD_NAME=build-peers
# shellcheck source=../../scripts/go-build-cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/go-build-cache.sh"
PEER_DIR="$CACHE_ROOT/peers-aad-pod-identity-$PEER_VERSION"
go_build_env

stamp="$PEER_DIR/built-from"
if [ -x "$PEER_DIR/nmi" ] && [ -x "$PEER_DIR/mic" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$PEER_MODULE@$PEER_VERSION" ]; then
  log "nmi and mic $PEER_VERSION cached in $PEER_DIR"
  exit 0
fi

start=$SECONDS
mkdir -p "$PEER_DIR"
log "downloading $PEER_MODULE@$PEER_VERSION"
module_dir="$(go_module_field "$PEER_DIR" "$PEER_MODULE@$PEER_VERSION" Dir)"
[ -d "$module_dir" ] || die "could not download $PEER_MODULE@$PEER_VERSION"

src="$PEER_DIR/src"
rm -rf "$src"
cp -r "$module_dir" "$src"
chmod -R u+w "$src"
for cmd in nmi mic; do
  log "building $cmd (-p $PARALLELISM, nice 10)"
  (cd "$src" && nice -n 10 go build -ldflags "-s -w \
      -X $PEER_MODULE/version.BuildDate=bench \
      -X $PEER_MODULE/version.GitCommit=$PEER_VERSION \
      -X $PEER_MODULE/version.MICVersion=$PEER_VERSION \
      -X $PEER_MODULE/version.NMIVersion=$PEER_VERSION" \
    -o "$PEER_DIR/$cmd.tmp" "./cmd/$cmd")
  mv "$PEER_DIR/$cmd.tmp" "$PEER_DIR/$cmd"
done
echo "$PEER_MODULE@$PEER_VERSION" >"$stamp"
log "built in $((SECONDS - start))s -> $PEER_DIR/nmi $PEER_DIR/mic"
