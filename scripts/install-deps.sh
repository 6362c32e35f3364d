#!/bin/sh
# Installs, from Debian's packages, whatever synfin needs to build, run and test
# that is not installed yet. Does nothing when all is there.
# "install-deps.sh vmtest" adds what make vmtest needs: QEMU for x86_64 and arm64,
# busybox, and a static arm64 build, that is Debian's cross compiler and the arm64
# libraries through multiarch, for which it adds the arm64 architecture to dpkg
# (dpkg --add-architecture arm64) once.
set -eu
PKGS="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libmicrohttpd-dev pkg-config \
libcmocka-dev libjson-c-dev libyaml-dev libcrypt-dev openssl curl tcpdump nftables iproute2 python3 python3-junitparser python3-yaml clang-format libclang-rt-14-dev libzstd-dev valgrind systemd \
prometheus chromium fonts-noto-color-emoji nodejs debhelper dpkg-dev lintian zsh fish tmux \
nginx-light redis-server redis-tools memcached libmemcached-tools wrk"
if [ "${1:-}" = vmtest ]; then
	PKGS="$PKGS qemu-system-x86 qemu-system-arm busybox-static cpio xz-utils gcc-aarch64-linux-gnu \
libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64 libjson-c-dev:arm64"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# npm comes with nodejs on some machines and is Debian's package npm on others
command -v npm >/dev/null || missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
case $missing in
*:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;;
esac
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
