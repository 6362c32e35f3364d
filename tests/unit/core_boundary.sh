#!/usr/bin/env bash
# The pure core builds without libbpf and without kernel headers: every header
# of libbpf (bpf/*.h) and every kernel uapi header (linux/, asm/, asm-generic/)
# that the C library does not pull in itself is replaced by one that stops the
# compiler, and each src/core file is compiled against that. A probe that
# includes <bpf/libbpf.h> must fail, or the poison itself is broken.
# Usage: core_boundary.sh OUTDIR
set -eu
cd "$(dirname "$0")/../.."
out=${1:-build/boundary}
cc=${CC:-cc}
poison=$out/poison
rm -rf "$poison"
mkdir -p "$poison"

# the kernel headers glibc's own headers include (errno.h -> linux/errno.h, ...)
libc_hdrs=$(grep -ho '#include <[^>]*>' src/core/*.[ch] | sed 's/#include <\(.*\)>/\1/' |
	grep -v -e '^bpf/' -e '^linux/' -e '^asm' | sort -u)
printf '#include <%s>\n' $libc_hdrs >"$out/libc.c"
$cc -D_GNU_SOURCE -M "$out/libc.c" | tr ' \\' '\n\n' | grep -E '/(linux|asm|asm-generic)/' |
	sed -E 's#.*/((linux|asm|asm-generic)/.*)#\1#' | sort -u >"$out/allowed"

for dir in /usr/include/bpf /usr/include/linux /usr/include/asm-generic \
	/usr/include/"$(gcc -dumpmachine)"/asm; do
	[ -d "$dir" ] || continue
	(cd "$dir" && find . -name '*.h') | sed 's|^\./||' | while read -r h; do
		rel=$(basename "$dir")/$h
		grep -qx "$rel" "$out/allowed" && continue
		mkdir -p "$poison/$(dirname "$rel")"
		echo "#error \"src/core must not include <$rel>: libbpf and kernel headers belong in src/sys\"" \
			>"$poison/$rel"
	done
done
echo '#include <bpf/libbpf.h>' >"$out/probe.c"
if $cc -isystem "$poison" -fsyntax-only "$out/probe.c" 2>/dev/null; then
	echo "core boundary: the poisoned headers do not stop a libbpf include" >&2
	exit 1
fi
n=0
for f in src/core/*.c; do
	$cc -isystem "$poison" -Iinclude -Isrc/core -D_GNU_SOURCE -std=gnu11 -Wall -Werror \
		-fsyntax-only "$f"
	n=$((n + 1))
done
echo "core boundary: $n files of src/core build with libbpf and kernel headers poisoned"
