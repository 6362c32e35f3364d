#!/bin/sh
# Regenerate vmlinux/<arch>/vmlinux.h from a kernel's BTF.
# Usage: vmlinux/gen.sh [BTF_FILE [ARCH]]
#   BTF_FILE  raw BTF or a vmlinux ELF with a .BTF section (default: the running
#             kernel's, /sys/kernel/btf/vmlinux)
#   ARCH      the directory to write, as uname -m names it (default: this machine's),
#             for a header made from another architecture's kernel
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-$(uname -m)}
dir=$(dirname "$0")/$arch
[ -r "$btf" ] || { echo "gen.sh: $btf not readable: kernel has no BTF" >&2; exit 1; }
mkdir -p "$dir"
bpftool btf dump file "$btf" format c > "$dir/vmlinux.h.tmp"
mv "$dir/vmlinux.h.tmp" "$dir/vmlinux.h"
echo "wrote $dir/vmlinux.h from $btf"
