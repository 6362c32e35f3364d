/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The fixed-width types of the kernel<->user records, under the kernel's own
 * names. BPF programs get them from vmlinux.h; user space gets the same
 * definitions (asm-generic/int-ll64.h) here, so that the pure core builds
 * without a single kernel header.
 */
#ifndef SYNFIN_TYPES_H
#define SYNFIN_TYPES_H

#ifndef __VMLINUX_H__
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
#endif

#endif
