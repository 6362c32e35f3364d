/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the tracer (tracer.bpf.c) and the socket iterator (snapshot.bpf.c)
 * share: address families and the reads of a socket's identity from its
 * struct sock_common, which full, timewait and request sockets all begin with.
 */
#ifndef SYNFIN_COMMON_BPF_H
#define SYNFIN_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

/* include/linux/socket.h: vmlinux.h carries no macros */
#define AF_INET 2
#define AF_INET6 10

/*
 * RD() reads a field either directly (a BTF pointer: tp_btf arguments, iterator
 * context; the verifier tracks its type) or with a probe read (a plain integer,
 * as a classic tracepoint hands it over). "direct" is a compile-time constant
 * after inlining, so each program keeps one branch only.
 */
#define RD(direct, p, f) ((direct) ? (p)->f : BPF_CORE_READ(p, f))

static __always_inline __u32 skc_netns(const struct sock_common *skc, const bool direct)
{
	struct net *net = RD(direct, skc, skc_net.net);

	return RD(direct, net, ns.inum);
}

/* Local and remote address; IPv4 in the first 4 bytes, the rest zero. */
static __always_inline void skc_addrs(const struct sock_common *skc, __u16 family, __u8 *laddr,
				      __u8 *raddr, const bool direct)
{
	__builtin_memset(laddr, 0, 16);
	__builtin_memset(raddr, 0, 16);
	if (family == AF_INET) {
		*(__u32 *)laddr = RD(direct, skc, skc_rcv_saddr);
		*(__u32 *)raddr = RD(direct, skc, skc_daddr);
	} else {
		bpf_core_read(laddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(raddr, 16, &skc->skc_v6_daddr);
	}
}

/*
 * The cookie, if one was assigned: reading it never makes one, unlike
 * bpf_get_socket_cookie(), so it is 0 for a socket nobody asked about yet.
 */
static __always_inline __u64 skc_cookie(const struct sock_common *skc)
{
	return BPF_CORE_READ(skc, skc_cookie.counter);
}

#endif
