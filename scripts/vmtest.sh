#!/usr/bin/env bash
# make vmtest: the static synfin, built against this machine's BTF, on Debian's
# Linux 6.1 booted under QEMU (software emulation) with a busybox initramfs.
# Inside, synfin repro plays and checks the trace scenarios on loopback; any
# mismatch fails the run. Needs root for apt-get; downloads only Debian packages.
set -eu
cd "$(dirname "$0")/.."
SYNFIN=$(realpath "${1:-build/static/synfin}")
DIR=build/vmtest
SCENARIOS=${VMTEST_SCENARIOS:-"four-way three-way reset refused half-close four-way:--ipv6"}
mkdir -p "$DIR"

die() {
	echo "vmtest: $*" >&2
	exit 1
}

need=""
for p in qemu-system-x86 busybox-static cpio; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	echo "vmtest: installing$need"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null ||
		die "cannot install$need"
fi

# the newest Debian 6.1 kernel image the archive offers
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' |
	sort -V | tail -1)
[ -n "$pkg" ] || die "no linux-image-6.1.0-*-amd64 package in the archive"
kernel=$(ls "$DIR"/kernel/boot/vmlinuz-6.1.0-*-amd64 2>/dev/null | tail -1 || true)
if [ -z "$kernel" ]; then
	(cd "$DIR" && apt-get download -qq "$pkg") || die "cannot download $pkg"
	dpkg-deb -x "$DIR"/"$pkg"_*.deb "$DIR/kernel"
	kernel=$(ls "$DIR"/kernel/boot/vmlinuz-6.1.0-*-amd64 | tail -1)
fi
echo "vmtest: $(basename "$kernel")"

# initramfs: busybox, synfin, and an init that runs the scenarios
root=$DIR/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run}
cp /bin/busybox "$root/bin/busybox"
for a in sh mount echo cat poweroff sleep mkdir ip; do ln -s busybox "$root/bin/$a"; done
cp "$SYNFIN" "$root/bin/synfin"
cat >"$root/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
ip link set lo up
echo "VMTEST kernel \$(cat /proc/sys/kernel/osrelease)"
for s in $SCENARIOS; do
	name=\${s%%:*}
	opt=""
	[ "\$name" != "\$s" ] && opt=\${s#*:}
	if /bin/synfin repro \$name \$opt --json > /tmp/out 2>&1; then
		echo "VMTEST PASS \$name \$opt"
	else
		echo "VMTEST FAIL \$name \$opt"
		cat /tmp/out
	fi
done
echo "VMTEST DONE"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$DIR/initramfs.gz"

timeout 600 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$DIR/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet" >"$DIR/console.log" 2>&1 || true
grep -a 'VMTEST' "$DIR/console.log" || true
total=$(wc -w <<<"$SCENARIOS")
pass=$(grep -ac '^VMTEST PASS' "$DIR/console.log" || true)
grep -aq '^VMTEST DONE' "$DIR/console.log" || die "the VM did not finish (see $DIR/console.log)"
echo "vmtest: $pass passed, $((total - pass)) failed"
[ "$pass" = "$total" ]
