#!/usr/bin/env python3
"""Cut the kernel's BTF out of an uncompressed kernel Image (Debian's arm64
vmlinuz is one): .BTF is a loaded section, so its bytes sit in the Image as
they sit in /sys/kernel/btf/vmlinux. Debian ships no vmlinux with BTF outside
the -dbg package, which is nearly a gigabyte.

Usage: btf-from-image.py IMAGE OUT   (then: bpftool btf dump file OUT format c)
"""
import struct
import sys

# little-endian magic 0xeB9F, version 1, flags 0, a 24-byte header
HEAD = b"\x9f\xeb\x01\x00\x18\x00\x00\x00"


def blobs(data):
    """Every well-formed BTF blob in data, as (offset, size)."""
    off = data.find(HEAD)
    while off >= 0:
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<IIIII", data, off + 4)
        size = hdr_len + max(type_off + type_len, str_off + str_len)
        strings = off + hdr_len + str_off
        if off + size <= len(data) and str_len and data[strings] == 0:
            yield off, size
        off = data.find(HEAD, off + 1)


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    found = max(blobs(data), key=lambda b: b[1], default=None)
    if not found:
        sys.exit(f"btf-from-image: no BTF in {sys.argv[1]} (compressed, or built without BTF)")
    with open(sys.argv[2], "wb") as f:
        f.write(data[found[0]:found[0] + found[1]])
    print(f"btf-from-image: {found[1]} bytes of BTF at offset {found[0]}")


main()
