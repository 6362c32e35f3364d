// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin snapshot: one record per TCP socket of the reader's network
 * namespace, TIME_WAIT and request sockets included, which the
 * inet_sock_set_state tracepoint never shows.
 */
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "snapshot.h"
#include "tracer.h"

/* TCP_TIMEWAIT_LEN (include/net/tcp.h): how long a TIME_WAIT lasts */
#define TIMEWAIT_LEN_S 60

/*
 * tcp_keepalive_time in seconds, as the loader read it from /proc/sys/net/ipv4
 * in the namespace it is about to read, just before; 0 when unknown.
 */
__u32 keepalive_s = 0;

/*
 * The kernel's HZ without its config file, which a __kconfig extern needs and
 * containers and many hosts lack: the namespace holds tcp_keepalive_time in
 * jiffies, written by proc_dointvec_jiffies() as seconds * HZ, so dividing by
 * the seconds gives HZ exactly. 0 when unknown.
 */
static __always_inline __u32 ns_hz(const struct sock_common *skc)
{
	__u32 j = BPF_CORE_READ(skc, skc_net.net, ipv4.sysctl_tcp_keepalive_time);
	__u32 s = keepalive_s;

	if (!s || j % s)
		return 0;
	return j / s;
}

static __always_inline __u32 jiffies_to_ms(__u64 j, __u32 hz)
{
	__u64 ms;

	if (!hz)
		return SF_AGE_UNKNOWN;
	ms = j * 1000 / hz;
	return ms >= SF_AGE_UNKNOWN ? SF_AGE_UNKNOWN - 1 : (__u32)ms;
}

/* A TIME_WAIT lasts TCP_TIMEWAIT_LEN: its age is what is used up. */
static __always_inline __u32 timewait_age(const struct sock_common *skc, __u64 expires, __u64 now)
{
	__u32 hz = ns_hz(skc);

	if (!hz || expires - now > TIMEWAIT_LEN_S * hz)
		return SF_AGE_UNKNOWN;
	return jiffies_to_ms(TIMEWAIT_LEN_S * hz - (expires - now), hz);
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
	r.netns = skc_netns(skc, false);
	r.cookie = skc_cookie(skc);
	r.age_ms = SF_AGE_UNKNOWN;
	skc_addrs(skc, r.family, r.laddr, r.raddr, true);
	if (r.state == SF_TCP_TIME_WAIT) {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);

		if (tw) {
			r.timewait = 1;
			r.state = BPF_CORE_READ(tw, tw_sk.tw_substate);
			if (r.state == SF_TCP_TIME_WAIT)
				r.age_ms = timewait_age(
					skc, BPF_CORE_READ(tw, tw_sk.tw_timer.expires), now);
		}
	} else if (r.state == SF_TCP_NEW_SYN_RECV) {
		r.state = SF_TCP_SYN_RECV;
	} else {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);

		if (tp) {
			struct socket *so = tp->inet_conn.icsk_inet.sk.sk_socket;

			if (so)
				r.ino = BPF_CORE_READ(so, file, f_inode, i_ino);
			/* who the socket belongs to: the workload of its cgroup (src/sys/identity.c) */
			r.cgroup_id = sock_cgroup_id((struct sock *)tp, false);
			/* the peer's FIN was its last segment: rcv_tstamp dates it */
			if (r.state == SF_TCP_CLOSE_WAIT)
				r.age_ms = jiffies_to_ms((__u32)now - tp->rcv_tstamp, ns_hz(skc));
		}
	}
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
