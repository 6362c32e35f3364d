#!/usr/bin/env bash
# make deb: OUTDIR/synfin_VERSION_ARCH.deb from debian/ by dpkg-buildpackage
# in a copy of the tree, then lintian, which must report no error.
# Usage: scripts/build-deb.sh OUTDIR
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/deb}
version=$(cat VERSION)
packaged=$(dpkg-parsechangelog -SVersion)
if [ "$version" != "$packaged" ]; then
	echo "deb: VERSION is $version but debian/changelog is at $packaged: add an entry (dch -v $version)" >&2
	exit 1
fi
for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null || { echo "deb: $tool is not installed" >&2; exit 1; }
done
# outside the tree: dpkg-buildpackage writes next to the tree it builds, and a
# second build tree under build/ would feed the Makefile its dependency files
tmp=$(mktemp -d /tmp/synfin-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/synfin-$version
mkdir -p "$src" "$out"
rm -f "$out"/synfin*_"$version"_*
tar --exclude=./build --exclude=./.git --exclude=./synfin -cf - . | tar -xf - -C "$src"
echo "  DEB      $out (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	exit 1
fi
mv "$tmp"/synfin*_"$version"_* "$out"/
deb=$out/synfin_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { echo "deb: no $deb" >&2; exit 1; }
echo "  LINTIAN  $deb"
lintian --fail-on error --display-info "$out"/synfin_"${version}"_*.changes
echo "$deb"
