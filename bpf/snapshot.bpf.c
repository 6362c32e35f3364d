// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin snapshot: one record per TCP socket of the reader's network
 * namespace, TIME_WAIT and request sockets included, which the
 * inet_sock_set_state tracepoint never shows.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "snapshot.h"

#define AF_INET 2
#define AF_INET6 10
#define TCP_TIME_WAIT 6
#define TCP_CLOSE_WAIT 8
#define TCP_NEW_SYN_RECV 12
#define TCP_SYN_RECV 3
#define TIMEWAIT_LEN_S 60

extern unsigned int CONFIG_HZ __kconfig __weak;

static __always_inline __u32 jiffies_to_ms(__u64 j)
{
	__u64 ms;

	if (!CONFIG_HZ)
		return SF_AGE_UNKNOWN;
	ms = j * 1000 / CONFIG_HZ;
	return ms >= SF_AGE_UNKNOWN ? SF_AGE_UNKNOWN - 1 : (__u32)ms;
}

SEC("iter/tcp")
int dump_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct seq_file *seq = ctx->meta->seq;
	struct sf_sock_rec r = {};
	__u64 now = bpf_jiffies64();

	if (!skc)
		return 0;
	r.family = skc->skc_family;
	if (r.family != AF_INET && r.family != AF_INET6)
		return 0;
	r.state = skc->skc_state;
	r.lport = skc->skc_num;
	r.rport = bpf_ntohs(skc->skc_dport);
	r.netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	r.cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	r.age_ms = SF_AGE_UNKNOWN;
	if (r.family == AF_INET) {
		*(__u32 *)r.laddr = skc->skc_rcv_saddr;
		*(__u32 *)r.raddr = skc->skc_daddr;
	} else {
		bpf_core_read(r.laddr, sizeof(r.laddr), &skc->skc_v6_rcv_saddr);
		bpf_core_read(r.raddr, sizeof(r.raddr), &skc->skc_v6_daddr);
	}
	if (r.state == TCP_TIME_WAIT) {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);

		if (tw) {
			__u64 expires = BPF_CORE_READ(tw, tw_sk.tw_timer.expires);

			r.timewait = 1;
			r.state = BPF_CORE_READ(tw, tw_sk.tw_substate);
			/* a TIME_WAIT lasts TCP_TIMEWAIT_LEN: its age is what is used up */
			if (r.state == TCP_TIME_WAIT && CONFIG_HZ &&
			    expires - now <= TIMEWAIT_LEN_S * CONFIG_HZ)
				r.age_ms =
					jiffies_to_ms(TIMEWAIT_LEN_S * CONFIG_HZ - (expires - now));
		}
	} else if (r.state == TCP_NEW_SYN_RECV) {
		r.state = TCP_SYN_RECV;
	} else {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);

		if (tp) {
			struct socket *so = tp->inet_conn.icsk_inet.sk.sk_socket;

			if (so)
				r.ino = BPF_CORE_READ(so, file, f_inode, i_ino);
			/* the peer's FIN was its last segment: rcv_tstamp dates it */
			if (r.state == TCP_CLOSE_WAIT)
				r.age_ms = jiffies_to_ms((__u32)now - tp->rcv_tstamp);
		}
	}
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
