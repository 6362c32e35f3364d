#!/bin/sh
# Installs, from Debian's packages, whatever synfin needs to build, run and test
# that is not installed yet. Does nothing when all is there.
set -eu
PKGS="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libmicrohttpd-dev pkg-config \
libcmocka-dev libjson-c-dev tcpdump nftables iproute2 python3 python3-junitparser python3-yaml clang-format libclang-rt-14-dev libzstd-dev valgrind systemd"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
