#!/usr/bin/env bash
# The whole system of one make vmtest VM, as a gzipped initramfs: busybox, the
# static synfin and its test helpers, nft with its shared libraries (the
# simultaneous-close scenario), nf_tables and its dependencies from the kernel
# package, and scripts/vmtest/init.sh as /init.
#
# Usage: initramfs.sh OUT BIN_DIR KERNEL_DIR SRC_ROOT TRIPLET
#   BIN_DIR     synfin, scen and sockhold, static, for the VM's architecture
#   KERNEL_DIR  the kernel package's files (lib/modules/RELEASE/...)
#   SRC_ROOT    where busybox, nft and its libraries are: / for this machine's
#               architecture, else Debian's packages extracted there
#   TRIPLET     the VM's multiarch triplet (x86_64-linux-gnu, aarch64-linux-gnu)
set -eu
out=$(realpath -m "$1")
bins=$2
kdir=$3
src=${4%/}
triplet=$5
root=$out.root
MODULES="crc32c_generic nf_tables" # libcrc32c needs a crc32c; nothing loads one here

die() {
	echo "initramfs: $*" >&2
	exit 1
}

# elf_closure FILE: the shared libraries FILE needs, recursively, under $src
elf_closure() {
	local todo=("$1") seen=" " f lib path
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[[ $seen == *" $lib "* ]] && continue
			seen="$seen$lib "
			path=$src/lib/$triplet/$lib
			[ -e "$path" ] || path=$src/usr/lib/$triplet/$lib
			[ -e "$path" ] || die "$lib (needed by $f) is not under $src/"
			echo "$path"
			todo+=("$path")
		done
	done
}

# nft and its libraries, at the paths its dynamic loader searches
add_nft() {
	local nft=$src/usr/sbin/nft interp lib
	[ -x "$nft" ] || die "no $nft"
	interp=$(readelf -l "$nft" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
	mkdir -p "$root/usr/sbin" "$root/lib/$triplet" "$root$(dirname "$interp")"
	cp "$nft" "$root/usr/sbin/nft"
	cp -L "$src$interp" "$root$interp"
	for lib in $(elf_closure "$nft"); do
		cp -L "$lib" "$root/lib/$triplet/"
	done
}

# module_deps NAME: NAME's dependencies, then NAME, as file stems under $moddir
module_deps() {
	local f dep
	f=$(find "$moddir" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -n 1)
	[ -n "$f" ] || die "no module $1 in $kdir"
	[[ $loaded == *" $1 "* ]] && return 0
	for dep in $(unpack "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
		module_deps "$dep"
	done
	[[ $loaded == *" $1 "* ]] && return 0
	loaded="$loaded$1 "
	unpack "$f" >"$root/lib/modules/$1.ko"
	echo "$1" >>"$root/lib/modules/load"
}

unpack() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*) cat "$1" ;;
	esac
}

add_modules() {
	local m
	moddir=$(ls -d "$kdir"/lib/modules/*/kernel)
	loaded=" "
	mkdir -p "$root/lib/modules"
	: >"$root/lib/modules/load"
	for m in $MODULES; do
		module_deps "$m"
	done
}

rm -rf "$root"
mkdir -p "$root/bin"
cp "$src/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
for b in synfin scen sockhold; do
	cp "$bins/$b" "$root/bin/$b"
done
cp scripts/vmtest/init.sh "$root/init"
cp scripts/lib.sh "$root/lib.sh"
add_nft
add_modules
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
rm -rf "$root"
