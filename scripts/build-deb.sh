#!/usr/bin/env bash
# Builds the Debian package (debian/) with dpkg-buildpackage from a copy of the source tree in
# OUT (default build-deb), so that the tree itself stays clean; the .deb lands in OUT.
# Usage: scripts/build-deb.sh [OUT]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build-deb}
case $out in /*) ;; *) out=$src/$out ;; esac
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
tree=$out/evercert-$version

rm -rf "$out"
mkdir -p "$tree"
# What is in the tree but build directories, local state and the repository's own metadata.
tar -C "$src" --exclude='./build' --exclude='./build-*' --exclude='./var' --exclude='./.git' -cf - . |
  tar -C "$tree" -xf -
# Both cores unless the caller says otherwise; the tests run from the source tree (make test).
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc) nocheck}
(cd "$tree" && dpkg-buildpackage -b -us -uc) >"$out/dpkg-buildpackage.log" 2>&1 || {
  tail -40 "$out/dpkg-buildpackage.log" >&2
  echo "build-deb: dpkg-buildpackage failed; the whole log is $out/dpkg-buildpackage.log" >&2
  exit 1
}
deb=$(ls "$out"/evercert_"$version"_*.deb)
echo "build-deb: $deb"
