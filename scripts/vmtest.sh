#!/usr/bin/env bash
# make vmtest: the static synfin, built once against this machine's BTF, on a
# matrix of Debian's own kernels booted under QEMU (software emulation):
# Debian 11's 5.10, Debian 12's 6.1, Debian 12 backports' 6.12, and Debian 12's
# 6.1 for arm64 with synfin cross-built. In each VM scripts/vmtest/init.sh runs
# every check the kernel allows; each kernel prints "vmtest RELEASE ARCH: N
# passed, M failed", and any failure fails the run. A failed repro's events come
# back through the console into build/vmtest/ID/NAME.sfr, for synfin replay.
#
# Usage: vmtest.sh X86_DIR ARM64_DIR   (each holds synfin, scen and sockhold)
# VMTEST_KERNELS picks kernels by id (default "5.10 6.1 6.12 6.1-arm64");
# VMTEST_JOBS how many VMs run at once (default 2: the VMs wait in the scenarios'
# sleeps often enough that two share the 2 cores well).
# Kernel packages come from Debian's archive through scripts/apt-private.sh and
# stay in build/vmtest, so a rerun downloads nothing. Needs root.
set -eu
cd "$(dirname "$0")/.."
X86=$(realpath -m "${1:-build/static}")
ARM64=$(realpath -m "${2:-build/static-arm64}")
DIR=build/vmtest
TIMEOUT=600 # seconds for one VM; each takes about a minute
# id, suite, the kernel package (its newest match), architecture
MATRIX='5.10 bullseye ^linux-image-5\.10\.0-[0-9]+-amd64$ x86_64
6.1 bookworm ^linux-image-6\.1\.0-[0-9]+-amd64$ x86_64
6.12 bookworm-backports ^linux-image-6\.12\.[0-9.]+\+deb12-amd64$ x86_64
6.1-arm64 bookworm ^linux-image-6\.1\.0-[0-9]+-arm64$ aarch64'
KERNELS=${VMTEST_KERNELS:-5.10 6.1 6.12 6.1-arm64}
JOBS=${VMTEST_JOBS:-2}

die() {
	echo "vmtest: $*" >&2
	exit 1
}

apt_private() {
	scripts/apt-private.sh "$DIR/apt" "$@"
}

# update: the package lists, fetched at most once a run
update() {
	[ -n "${UPDATED:-}" ] || apt_private update
	UPDATED=1
}

# fetch ID SUITE REGEX DEBIAN_ARCH: the newest kernel package named REGEX, its
# vmlinuz and the modules the VM loads, extracted once into KDIR[ID]. Only a
# first run, or a kernel package newer than the cached one, goes to the archive.
fetch() {
	local pkg deb kdir
	[ -d "$DIR/apt/lists" ] || update
	pkg=$(apt_private newest "$3")
	kdir=$DIR/kernels/$pkg
	if [ -z "$pkg" ] || ! compgen -G "$kdir/boot/vmlinuz-*" >/dev/null; then
		update
		pkg=$(apt_private newest "$3")
		[ -n "$pkg" ] || die "no package $3 in $2"
		kdir=$DIR/kernels/$pkg
	fi
	if ! compgen -G "$kdir/boot/vmlinuz-*" >/dev/null; then
		apt_private download "$pkg:$4/$2"
		deb=$(ls "$DIR"/apt/debs/"${pkg}"_*.deb)
		rm -rf "$kdir"
		mkdir -p "$kdir"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" --wildcards './boot/vmlinuz-*' \
			'./lib/modules/*/kernel/net/netfilter/*' './lib/modules/*/kernel/crypto/*' \
			'./lib/modules/*/kernel/lib/*'
	fi
	KDIR[$1]=$kdir
}

# arm64 busybox and nft with its libraries, from Debian's arm64 packages: the
# owners of the libraries this machine's nft loads, in their arm64 build
arm64_root() {
	local root=$DIR/arm64-root pkgs=(busybox-static:arm64 nftables:arm64) lib owner deb
	[ -x "$root/usr/sbin/nft" ] && [ -x "$root/bin/busybox" ] && return 0
	update
	for lib in $(ldd "$(command -v nft)" | awk '$2 == "=>" { print $3 } /ld-linux/ { print $1 }'); do
		owner=$(dpkg -S "$lib" "/usr$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -n "$owner" ] || die "no package owns $lib"
		pkgs+=("$owner:arm64")
	done
	apt_private download "${pkgs[@]}"
	rm -rf "$root"
	mkdir -p "$root"
	# programs and libraries only; and no *.d under build/, which the Makefile
	# would include as dependency files
	for deb in "${pkgs[@]}"; do
		dpkg-deb --fsys-tarfile "$(ls "$DIR"/apt/debs/"${deb%:arm64}"_*_arm64.deb)" |
			tar -x -C "$root" --exclude=./etc --exclude=./usr/share --exclude='*.d'
	done
}

# qemu ARCH KERNEL INITRAMFS LOG: boot, run /init, power off
qemu() {
	local arch=$1 kernel=$2 initrd=$3 log=$4
	local common=(-m 2048 -smp 2 -nographic -no-reboot -nic none -kernel "$kernel" -initrd "$initrd")
	case $arch in
	x86_64)
		timeout $TIMEOUT qemu-system-x86_64 -accel tcg "${common[@]}" \
			-append "console=ttyS0 panic=-1 loglevel=1" ;;
	aarch64)
		timeout $TIMEOUT qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg "${common[@]}" \
			-append "console=ttyAMA0 panic=-1 loglevel=1" ;;
	esac </dev/null >"$log" 2>&1 || true
}

# run ID ARCH: one kernel, from its initramfs to its report and verdict
run() {
	local id=$1 arch=$2 out=$DIR/$1 kdir=${KDIR[$1]} bins kernel triplet src t0 release
	rm -rf "$out"
	mkdir -p "$out"
	t0=$(date +%s)
	case $arch in
	x86_64) bins=$X86 src=/ triplet=x86_64-linux-gnu ;;
	aarch64) bins=$ARM64 src=$DIR/arm64-root triplet=aarch64-linux-gnu ;;
	esac
	kernel=$(ls "$kdir"/boot/vmlinuz-*)
	release=${kernel##*/vmlinuz-}
	if [ ! -x "$bins/synfin" ]; then
		report "$out" "$release" "$arch" 0 "VMTEST FAIL build: no $arch synfin in $bins"
		return
	fi
	scripts/vmtest/initramfs.sh "$out/initramfs.gz" "$bins" "$kdir" "$src" "$triplet"
	qemu "$arch" "$kernel" "$out/initramfs.gz" "$out/console.log"
	tr -d '\r' <"$out/console.log" | grep -ao 'VMTEST \(ok\|FAIL\|DONE\).*' >"$out/lines" || true
	grep -q '^VMTEST DONE' "$out/lines" ||
		echo "VMTEST FAIL vm: did not finish within $TIMEOUT s" >>"$out/lines"
	recordings "$out"
	report "$out" "$release" "$arch" $(($(date +%s) - t0)) "$(cat "$out/lines")"
}

# recordings OUT: each failed repro's recording, from the console into OUT/NAME.sfr
recordings() {
	local name
	tr -d '\r' <"$1/console.log" | grep -ao 'VMTEST sfr .*' >"$1/sfr" || return 0
	for name in $(awk '{ print $3 }' "$1/sfr" | sort -u); do
		awk -v n="$name" '$3 == n { print $4 }' "$1/sfr" | base64 -d >"$1/$name.sfr" ||
			echo "VMTEST FAIL vm: the recording of $name is damaged" >>"$1/lines"
	done
}

# report OUT RELEASE ARCH SECONDS VMTEST_LINES
report() {
	local out=$1 release=$2 arch=$3 secs=$4 lines=$5 pass fail
	pass=$(grep -c '^VMTEST ok' <<<"$lines" || true)
	fail=$(grep -c '^VMTEST FAIL' <<<"$lines" || true)
	{
		echo "vmtest: $release $arch ($secs s, log in $out/console.log)"
		grep '^VMTEST \(ok\|FAIL\)' <<<"$lines" | sed 's/^VMTEST ok /  ok   /; s/^VMTEST FAIL /  FAIL /'
		for f in "$out"/*.sfr; do
			if [ -e "$f" ]; then echo "  events of ${f##*/}: synfin replay --states $f"; fi
		done
		echo "vmtest $release $arch: $pass passed, $fail failed"
	} >"$out/report"
	echo "$pass $fail" >"$out/verdict"
}

[ "$(id -u)" = 0 ] || die "needs root (apt-get; synfin in the VMs runs as root anyway)"
# the packages first, one at a time: apt locks its lists
declare -A KDIR ARCH
ids=()
while read -r id suite regex arch <&3; do
	case " $KERNELS " in *" $id "*) ;; *) continue ;; esac
	ids+=("$id")
	ARCH[$id]=$arch
	case $arch in
	x86_64) fetch "$id" "$suite" "$regex" amd64 ;;
	aarch64) fetch "$id" "$suite" "$regex" arm64 && arm64_root ;;
	esac
done 3<<<"$MATRIX"
[ ${#ids[@]} -gt 0 ] || die "no kernel of the matrix is named in VMTEST_KERNELS='$KERNELS'"
# then the VMs, JOBS at a time, and their reports in the matrix's order
total_pass=0
total_fail=0
for ((i = 0; i < ${#ids[@]}; i += JOBS)); do
	for id in "${ids[@]:i:JOBS}"; do
		run "$id" "${ARCH[$id]}" &
	done
	wait
	for id in "${ids[@]:i:JOBS}"; do
		cat "$DIR/$id/report"
		read -r p f <"$DIR/$id/verdict" || die "no verdict for $id"
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
	done
done
echo "vmtest: $total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
