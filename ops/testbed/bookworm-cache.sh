#!/bin/bash
# Fills the cache used by the merge engine's real-package test and benchmark:
#   $CACHE/bookworm-base.tar   a Debian 12 (bookworm, main only) root built by mmdebstrap
#   $CACHE/debs/*.deb          bookworm-security versions of the packages to upgrade
# The mirrors are read from this host's apt configuration at run time (/etc/apt/sources.list.d/*,
# /etc/apt/sources.list); no registry host name is written anywhere.
# Usage: bookworm-cache.sh [CACHE_DIR]   (default /var/cache/shadowpatch)
set -euo pipefail
CACHE=${1:-${SHADOWPATCH_CACHE:-/var/cache/shadowpatch}}
PKGS=${SHADOWPATCH_TEST_PKGS:-"openssl libssl3"}
mkdir -p "$CACHE/debs"

# Print the first URI serving SUITE (exact word) with component main, from deb822 and one-line files.
mirror_for() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      function flush() { if (uris != "" && (" " suites " ") ~ (" " suite " ") && (" " comps " ") ~ / main /) { split(uris, u, " "); print u[1]; found=1; exit } uris=""; suites=""; comps="" }
      /^[ \t]*$/ { flush(); next }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris=$0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites=$0 }
      /^Components:/ { sub(/^Components:[ \t]*/, ""); comps=$0 }
      END { if (!found) flush() }' "$f" | head -n1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1)==suite) { for (j=i+2;j<=NF;j++) if ($j=="main") { print $i; exit } } }' "$f"
  done
}
MAIN=$(mirror_for bookworm | head -n1)
SEC=$(mirror_for bookworm-security | head -n1)
[ -n "$MAIN" ] || { echo "no 'bookworm main' source in this host's apt configuration" >&2; exit 2; }
[ -n "$SEC" ] || { echo "no 'bookworm-security main' source in this host's apt configuration" >&2; exit 2; }

if [ ! -s "$CACHE/bookworm-base.tar" ]; then
  echo "building bookworm base root with mmdebstrap (main only) ..." >&2
  mmdebstrap --format=tar --variant=minbase --include="${PKGS// /,}" bookworm "$CACHE/bookworm-base.tar.part" "deb $MAIN bookworm main"
  mv "$CACHE/bookworm-base.tar.part" "$CACHE/bookworm-base.tar"
fi

if ! ls "$CACHE"/debs/*.deb >/dev/null 2>&1; then
  echo "downloading bookworm-security versions of: $PKGS" >&2
  T=$(mktemp -d)
  trap 'rm -rf "$T"' EXIT
  mkdir -p "$T/lists/partial" "$T/cache/archives/partial" "$T/etc/preferences.d" "$T/etc/apt.conf.d"
  echo "deb $SEC bookworm-security main" > "$T/sources.list"
  APTOPT=(-o Dir::Etc::SourceList="$T/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$T/lists" -o Dir::Cache="$T/cache" -o Dir::Etc::Preferences="$T/etc/preferences"
          -o Dir::Etc::PreferencesParts="$T/etc/preferences.d" -o APT::Get::List-Cleanup=0)
  apt-get "${APTOPT[@]}" -qq update
  (cd "$CACHE/debs" && apt-get "${APTOPT[@]}" -qq download $PKGS)
fi
ls -l "$CACHE/bookworm-base.tar" "$CACHE"/debs/ >&2
