#!/bin/sh
# Builds an image root filesystem from Debian packages, with no package manager, shell or maintainer
# script in it: the packages named in the LIST files and everything they depend on (not recommends) are
# downloaded with apt and unpacked with dpkg-deb, then trimmed of documentation (each package's
# copyright file stays), man pages, locales and iconv modules. Each package's control file goes to
# /var/lib/dpkg/status.d/<package> so image scanners can list what is inside.
#
#   rootfs.sh DEST LIST... [--without LIST...]
#
# With --without, the packages of those lists and their dependencies are left out (an image layer on
# top of a base built from them); without it, DEST also gets the base skeleton: /etc/passwd and
# /etc/group (root, and nonroot 65532), /etc/nsswitch.conf, and the directories a container runtime
# mounts over (/proc, /sys, /dev, /run, /tmp). Runs the same in a `debian` build stage of the
# Dockerfiles and on a Debian host (deploy/images/build.ts), with the apt sources of where it runs.
set -eu

[ $# -ge 2 ] || { echo "usage: rootfs.sh DEST LIST... [--without LIST...]" >&2; exit 2; }
dest=$1
shift
want=""
without=""
side=want
for arg in "$@"; do
  case $arg in
    --without) side=without ;;
    *) if [ $side = want ]; then want="$want $arg"; else without="$without $arg"; fi ;;
  esac
done

# Package names of list files: one or more a line, `#` starts a comment.
names() { [ $# -eq 0 ] || sed 's/#.*//' "$@" | tr -s ' \t' '\n\n' | sed '/^$/d'; }

# The names and every package they depend on (Depends and Pre-Depends), sorted.
closure() {
  [ -n "$1" ] || return 0
  # shellcheck disable=SC2046 # word splitting of the package names is wanted
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $1 | grep '^[a-z0-9]' | sort -u
}

apt-get update -qq
# shellcheck disable=SC2086 # lists of file names
packages=$(closure "$(names $want)")
# shellcheck disable=SC2086
excluded=$(closure "$(names $without)")
if [ -n "$excluded" ]; then
  packages=$(printf '%s\n' "$packages" | grep -vxF "$excluded" || true)
fi
[ -n "$packages" ] || { echo "rootfs.sh: no packages to install" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086
(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root $packages)

mkdir -p "$dest/var/lib/dpkg/status.d"
for deb in "$work"/*.deb; do
  dpkg-deb --extract "$deb" "$dest"
  package=$(dpkg-deb --field "$deb" Package)
  dpkg-deb --field "$deb" >"$dest/var/lib/dpkg/status.d/$package"
done

rm -rf "$dest/usr/share/man" "$dest/usr/share/info" "$dest/usr/share/lintian" \
  "$dest/usr/share/locale" "$dest/usr/share/bug" "$dest/usr/share/gcc" "$dest/usr/share/gdb"
find "$dest" -depth -type d -name gconv -exec rm -rf {} +
if [ -d "$dest/usr/share/doc" ]; then
  find "$dest/usr/share/doc" ! -type d ! -name copyright -exec rm -f {} +
  find "$dest/usr/share/doc" -depth -type d -empty -exec rmdir {} +
fi

if [ -z "$without" ]; then
  for dir in proc sys dev run etc; do mkdir -p "$dest/$dir"; done
  mkdir -p -m 1777 "$dest/tmp"
  mkdir -p -m 0700 "$dest/root" "$dest/home/nonroot"
  chown 65532:65532 "$dest/home/nonroot"
  cat >"$dest/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
  cat >"$dest/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
GROUP
  # glibc's resolver: /etc/hosts first, then DNS (the runtime mounts both files).
  echo 'hosts: files dns' >"$dest/etc/nsswitch.conf"
fi

# What went in, one `package version` a line, for the build log and the cache.
for package in $packages; do
  printf '%s %s\n' "$package" "$(sed -n 's/^Version: //p' "$dest/var/lib/dpkg/status.d/$package")"
done
