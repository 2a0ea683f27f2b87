# Shared by the scripts that build Go programs from the Go module proxy into a cache directory
# OUTSIDE the repository and reuse them (scripts/conformance/build-kube.sh, bench/peers/build-peers.sh).
# Source it after `set -euo pipefail` with GO_BUILD_NAME set (the log prefix). It sets CACHE_ROOT
# and PARALLELISM and defines log, die, go_build_env and go_module_field.
#
# Environment:
#   POD_IDENTITY_CACHE   cache root (default: $HOME/.cache/pod-identity)
#   BUILD_PARALLELISM    go build -p (default: 2, the machine has 2 shared cores)

CACHE_ROOT="${POD_IDENTITY_CACHE:-$HOME/.cache/pod-identity}"
PARALLELISM="${BUILD_PARALLELISM:-2}"

log() { printf '[%s %s] %s\n' "$GO_BUILD_NAME" "$(date -u +%T)" "$*"; }
die() { printf '[%s] error: %s\n' "$GO_BUILD_NAME" "$*" >&2; exit 1; }

# Checks Go is there (else dies with $1) and sets a polite, reproducible build environment.
go_build_env() {
  command -v go >/dev/null || die "${1:-go is not on PATH}"
  # Never let `go` fetch another toolchain behind our back: the build must use the Go that is installed.
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
  # Keep the build polite on a shared machine: -p bounds parallel compile jobs (callers run `go` under
  # nice 10).
  export GOFLAGS="-mod=mod -p=$PARALLELISM -trimpath -buildvcs=false"
  export GOMAXPROCS="${GOMAXPROCS:-$PARALLELISM}"
}

# Downloads a module into Go's module cache and prints one field of `go mod download -json` (Dir,
# GoMod, ...). Usage: go_module_field <working dir> <module@version> <field>
go_module_field() {
  (cd "$1" && go mod download -json "$2" | sed -n "s/^[[:space:]]*\"$3\": \"\(.*\)\",\$/\1/p")
}
