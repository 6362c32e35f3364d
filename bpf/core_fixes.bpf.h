/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Kernel structures whose layout changed between the kernels synfin runs on
 * (5.10 to today), after libbpf-tools' core_fixes.bpf.h: each variant names the
 * kernel commit that changed it, and a CO-RE existence check picks the layout
 * of the running kernel at load time, never a version number. The ___old and
 * ___new suffixes are dropped when libbpf matches a type to the kernel's, so
 * these compile against a vmlinux.h of any kernel.
 *
 * Not here: sk_flags has been __sk_common.skc_flags since 8e5eb54d303b (Linux
 * 4.4, "#define sk_flags __sk_common.skc_flags"), below the floor.
 */
#ifndef SYNFIN_CORE_FIXES_BPF_H
#define SYNFIN_CORE_FIXES_BPF_H

#include "common.bpf.h"

/* the root of the cgroup v2 hierarchy (cgrp_dfl_root.cgrp) has kernfs id 1 */
#define ROOT_CGROUP_ID 1

/*
 * 8520e224f547 ("bpf, cgroups: Fix cgroup v2 fallback on v1/v2 mixed mode",
 * Linux 5.15, backported to 5.10.y in September 2024) made sock_cgroup_data a
 * plain struct with a cgroup pointer. Before it, the pointer shared a u64
 * union with the net_prio/net_cls data: sock_cgroup_ptr() took val as the
 * pointer unless one of its low two bits (is_data, no_refcnt) was set, and fell
 * back to the root cgroup then, or when val was 0. Old kernels only: a probe
 * read in both flavours.
 */
struct sock_cgroup_data___old {
	__u64 val;
} __attribute__((preserve_access_index));

struct sock___old {
	struct sock_cgroup_data___old sk_cgrp_data;
} __attribute__((preserve_access_index));

struct sock_cgroup_data___new {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));

struct sock___new {
	struct sock_cgroup_data___new sk_cgrp_data;
} __attribute__((preserve_access_index));

static __always_inline __u64 sock_cgroup_id(struct sock *sk, const bool direct)
{
	struct sock___new *skn = (struct sock___new *)sk;
	struct cgroup *cg;
	__u64 val;

	if (bpf_core_field_exists(struct sock_cgroup_data___old, val)) {
		val = BPF_CORE_READ((struct sock___old *)sk, sk_cgrp_data.val);
		if (!val || (val & 3))
			return ROOT_CGROUP_ID;
		return BPF_CORE_READ((struct cgroup *)val, kn, id);
	}
	if (!direct)
		return BPF_CORE_READ(skn, sk_cgrp_data.cgroup, kn, id);
	cg = skn->sk_cgrp_data.cgroup;
	return cg ? cg->kn->id : 0;
}

/*
 * tcp_send_reset and tcp_retransmit_skb were events of the tcp_event_sk_skb
 * class, which a classic tracepoint program sees as struct
 * trace_event_raw_tcp_event_sk_skb. Each became an event of its own with its
 * own record, skbaddr and skaddr unchanged: tcp_send_reset with 19822a980e19
 * ("trace: tcp: fully support trace_tcp_send_reset", Linux 6.10),
 * tcp_retransmit_skb with "tcp: trace retransmit failures in
 * tcp_retransmit_skb" (Fan Yu, July 2025: present in 6.18, absent from 6.12),
 * which left the class without events, so its type is gone from the BTF. That
 * change also made tcp_retransmit_skb fire for a retransmission that failed and
 * sent nothing, with its error in a new last argument (err): earlier kernels
 * fired only for those that went out.
 */
struct trace_event_raw_tcp_event_sk_skb___old {
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_send_reset___new {
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_retransmit_skb___new {
	const void *skbaddr;
	const void *skaddr;
	int err;
} __attribute__((preserve_access_index));

static __always_inline struct sock *tp_send_reset_sk(void *ctx)
{
	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset___new))
		return (struct sock *)BPF_CORE_READ(
			(struct trace_event_raw_tcp_send_reset___new *)ctx, skaddr);
	return (struct sock *)BPF_CORE_READ((struct trace_event_raw_tcp_event_sk_skb___old *)ctx,
					    skaddr);
}

static __always_inline void tp_retransmit_args(void *ctx, struct sock **sk, struct sk_buff **skb)
{
	struct trace_event_raw_tcp_retransmit_skb___new *n = ctx;
	struct trace_event_raw_tcp_event_sk_skb___old *o = ctx;

	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb___new)) {
		*sk = (struct sock *)BPF_CORE_READ(n, skaddr);
		*skb = (struct sk_buff *)BPF_CORE_READ(n, skbaddr);
	} else {
		*sk = (struct sock *)BPF_CORE_READ(o, skaddr);
		*skb = (struct sk_buff *)BPF_CORE_READ(o, skbaddr);
	}
}

/* A tcp_retransmit_skb event for a retransmission that failed (6.18; see above). */
static __always_inline bool retransmit_failed(void *ctx, const bool direct)
{
	if (!bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb___new))
		return false;
	/* tp_btf: the arguments are sk, skb, err */
	if (direct)
		return (int)((__u64 *)ctx)[2] != 0;
	return BPF_CORE_READ((struct trace_event_raw_tcp_retransmit_skb___new *)ctx, err) != 0;
}

#endif
