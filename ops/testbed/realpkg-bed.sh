#!/bin/bash
# Real-package test bed of the merge engine (used by RealPackageMergeTest and the benchmark).
#   realpkg-bed.sh setup WORKDIR [CACHE_DIR]    builds, under WORKDIR:
#     base/    a Debian 12 bookworm (main) root from the cached mmdebstrap tarball
#     live/    overlayfs on base (upper live.up): changed as a running server would be
#              (new data files, a user added with useradd, a config edited, a file deleted)
#     shadow/  overlayfs on base (upper shadow.up): the bookworm-security .debs installed with dpkg -i
#     ref/     a copy of live/ (as it was before the merge) with the same .debs installed in place
#     changes.log  the shadow's change log, made from its overlay upper dir (what inotify would have seen)
#   realpkg-bed.sh teardown WORKDIR             unmounts the overlays and removes WORKDIR
set -euo pipefail
cmd=${1:?setup|teardown}; W=${2:?WORKDIR}
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
CACHE=${3:-${SHADOWPATCH_CACHE:-/var/cache/shadowpatch}}

if [ "$cmd" = teardown ]; then
  for m in "$W/live" "$W/shadow"; do mountpoint -q "$m" && umount "$m"; done
  rm -rf --one-file-system "$W"
  exit 0
fi
[ "$cmd" = setup ] || { echo "usage: $0 setup|teardown WORKDIR" >&2; exit 2; }

"$HERE/bookworm-cache.sh" "$CACHE"
mkdir -p "$W"/{base,live,shadow,live.up,live.wk,shadow.up,shadow.wk}
tar -C "$W/base" --numeric-owner --xattrs --xattrs-include='*' -xpf "$CACHE/bookworm-base.tar"
mount -t overlay overlay -o "lowerdir=$W/base,upperdir=$W/live.up,workdir=$W/live.wk" "$W/live"
mount -t overlay overlay -o "lowerdir=$W/base,upperdir=$W/shadow.up,workdir=$W/shadow.wk" "$W/shadow"

# The live server keeps running while the shadow is patched.
L="$W/live"
mkdir -p "$L/srv/data"
for i in $(seq 1 200); do head -c $((i * 97)) /dev/urandom > "$L/srv/data/blob-$i.bin"; done
chroot "$L" useradd -m -s /bin/bash -c "added on live" alice
echo "# edited on the live server" >> "$L/etc/bash.bashrc"
rm "$L/etc/motd"
echo "live request $(date -u +%s)" >> "$L/var/log/app.log"

# Reference: the same upgrade applied in place to a copy of the live tree.
cp -a "$L" "$W/ref"

# The shadow is patched; its change log is what a recursive inotify watch would have logged.
for t in "$W/shadow" "$W/ref"; do
  mkdir -p "$t/tmp/sp-debs"
  cp "$CACHE"/debs/*.deb "$t/tmp/sp-debs/"
  printf '#!/bin/sh\nexit 101\n' > "$t/usr/sbin/policy-rc.d"; chmod 755 "$t/usr/sbin/policy-rc.d"
  chroot "$t" /bin/sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/sp-debs/*.deb' >"$W/dpkg-$(basename "$t").log" 2>&1
  rm -f "$t/usr/sbin/policy-rc.d"
  rm -rf "$t/tmp/sp-debs"
done
(cd "$W/shadow.up" && find . -mindepth 1 -type c -printf 'DELETE /%P\n' -o -printf 'MODIFY /%P\n') > "$W/changes.log"
ls "$CACHE"/debs/*.deb | sed 's|.*/||; s|_.*||' > "$W/packages"
