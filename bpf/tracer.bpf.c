// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin tracer: one fixed-size event per TCP state transition, reset and
 * retransmitted SYN/FIN, queued into the ring buffer of the CPU it ran on.
 *
 * Two attachment flavours share one body: tp_btf programs read the socket
 * through BTF pointers (cheap direct loads), the classic tracepoint programs,
 * used where tp_btf is unavailable, read it with probe reads. The loader
 * enables exactly one flavour with bpf_program__set_autoload().
 */
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include <bpf/bpf_tracing.h>
#include "tracer.h"
#include "rescue.bpf.h"

/* Filters; zero means "any". Port filters pass events whose port is not known yet. */
const volatile __u32 targ_netns = 0;
const volatile __u64 targ_cgroup = 0;
const volatile __u8 targ_family = 0;
const volatile __u16 targ_port = 0;
const volatile __u16 targ_lport = 0;
const volatile __u16 targ_rport = 0;

/*
 * Wake the reader once per this much data queued in a CPU's ring, a power of
 * two dividing the ring's size (the loader makes it half the ring): a wakeup
 * per event costs more than the event. The reader also polls on a timer, so
 * nothing waits long.
 */
const volatile __u32 wakeup_bytes = 8 << 20;

/*
 * bpf_get_socket_cookie() is callable from tracing programs since c5dbb89fc2ac
 * ("bpf: Expose bpf_get_socket_cookie to tracing programs", Linux 5.12). The
 * loader probes for it and clears this where it is missing: the verifier then
 * drops the call as dead code, and tp_btf reads the cookie as the classic
 * tracepoint programs do.
 */
const volatile bool have_cookie_helper = true;

/*
 * Total of failed reserves; every event carries the value it saw (lost_seq).
 * The loader reads it from the mapped .bss, without a bpf() call: 5.10 refuses
 * those once privileges are dropped if kernel.unprivileged_bpf_disabled is set.
 */
__u64 lost_seq = 0;

/*
 * One ring buffer per CPU (the loader creates them and fills this array): a
 * ring shared by every CPU has its lock, its positions and its records' lines
 * written by all of them at every event, and when the host places this
 * guest's vCPUs apart each of those lines costs several times more (trace 680
 * against 380 ns per event, docs/performance.md). User space merges the
 * CPUs' streams back into time order.
 *
 * The kernel compares type, flags and key and value sizes of the maps put in
 * the array (since 5.10, not their size), so the size below only makes the
 * template libbpf creates at load: 64 KiB is a whole number of pages of 4 KiB
 * and of 64 KiB.
 */
struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ring);
} events SEC(".maps");

/*
 * Wake the reader once per wakeup_bytes queued, not on every event: each forced
 * wakeup is an irq_work interrupt. The record whose footprint crosses a
 * multiple of wakeup_bytes in the ring does it, which its address tells without
 * asking the ring (bpf_ringbuf_query() is a helper call that reads the position
 * the reader keeps writing). Records lie in the ring's data pages in the order
 * they were queued, the pages mapped twice in a row so that one wrapping around
 * stays contiguous, and the ring's size is a multiple of wakeup_bytes: their
 * addresses cross a multiple once per wakeup_bytes queued in that ring. The
 * origin only shifts where: any fixed address does, and the verifier turns a
 * difference of two pointers, not a pointer, into a number.
 */
static __always_inline void submit(struct sf_event *e)
{
	__u64 start = (__u64)e - (__u64)&lost_seq;

	bpf_ringbuf_submit(e, sf_ring_crosses(start, SF_RING_RECORD_SIZE, wakeup_bytes) ?
				      BPF_RB_FORCE_WAKEUP :
				      BPF_RB_NO_WAKEUP);
}

static __always_inline struct sf_event *reserve(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	void *ring = bpf_map_lookup_elem(&events, &cpu);
	struct sf_event *e = ring ? bpf_ringbuf_reserve(ring, sizeof(*e), 0) : NULL;

	if (e) {
		e->cpu = cpu; /* the ring it is in, for the merge */
		return e;
	}
	__sync_fetch_and_add(&lost_seq, 1);
	return NULL;
}

static __always_inline bool sock_passes(struct sock *sk, const bool direct, __u16 *family)
{
	__u16 proto = RD(direct, sk, sk_protocol);

	*family = RD(direct, sk, __sk_common.skc_family);
	if (proto != IPPROTO_TCP || (*family != AF_INET && *family != AF_INET6))
		return false;
	if (targ_family && *family != targ_family)
		return false;
	if (targ_netns && skc_netns(&sk->__sk_common, direct) != targ_netns)
		return false;
	if (targ_cgroup && sock_cgroup_id(sk, direct) != targ_cgroup)
		return false;
	if (targ_port || targ_lport || targ_rport) {
		__u16 lport = RD(direct, sk, __sk_common.skc_num);
		__u16 rport = bpf_ntohs(RD(direct, sk, __sk_common.skc_dport));

		if (lport && rport && targ_port && lport != targ_port && rport != targ_port)
			return false;
		if (lport && targ_lport && lport != targ_lport)
			return false;
		if (rport && targ_rport && rport != targ_rport)
			return false;
	}
	return true;
}

/*
 * The socket's cookie. bpf_get_socket_cookie() assigns one at the socket's
 * first event; it is read directly after that, which spares a helper call.
 * Without the helper, the cookie if one was assigned.
 */
static __always_inline __u64 sock_cookie(struct sock *sk, const bool direct)
{
	__u64 cookie;

	if (!direct || !have_cookie_helper)
		return skc_cookie(&sk->__sk_common);
	cookie = sk->__sk_common.skc_cookie.counter;
	return cookie ? cookie : bpf_get_socket_cookie(sk);
}

static __always_inline void fill_common(struct sf_event *e, struct sock *sk, __u16 family,
					__u8 kind, const bool direct)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct socket *so;

	e->ts_ns = bpf_ktime_get_ns();
	e->skaddr = (__u64)sk;
	e->kind = kind;
	e->family = family;
	e->lost_seq = lost_seq;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->netns = skc_netns(&sk->__sk_common, direct);
	e->sport = RD(direct, sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(RD(direct, sk, __sk_common.skc_dport));
	skc_addrs(&sk->__sk_common, family, e->saddr, e->daddr, direct);
	so = RD(direct, sk, sk_socket);
	if (!so)
		e->sock_ino = 0;
	else if (direct)
		e->sock_ino = so->file->f_inode->i_ino;
	else
		e->sock_ino = BPF_CORE_READ(so, file, f_inode, i_ino);
	e->cgroup_id = sock_cgroup_id(sk, direct);
	e->cookie = sock_cookie(sk, direct);
}

/*
 * Why a socket ends and how it fared: the error it reports (a timer, a RST or
 * an ICMP sets it before CLOSE), the options that decide its timers, and its
 * health counters.
 */
static __always_inline void fill_facts(struct sf_event *e, struct sock *sk, struct tcp_sock *tp,
				       unsigned long skflags, const bool direct)
{
	__u8 x = SF_X_FACTS;

	if (RD(direct, tp, inet_conn.icsk_user_timeout))
		x |= SF_X_USER_TIMEOUT;
	if (skflags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_KEEPOPEN)))
		x |= SF_X_KEEPALIVE;
	if (RD(direct, tp, linger2) < 0)
		x |= SF_X_LINGER2_NEG;
	if (!RD(direct, tp, inet_conn.icsk_pending))
		x |= SF_X_NO_XMIT_TIMER;
	e->xflags = x;
	e->sk_err = RD(direct, sk, sk_err);
	e->total_retrans = RD(direct, tp, total_retrans);
	/* ~0 until the first RTT sample */
	e->min_rtt_us = RD(direct, tp, rtt_min.s[0].v);
	if (e->min_rtt_us == ~0U)
		e->min_rtt_us = 0;
	/* tcp_sock.bytes_sent came in Linux 4.19 */
	e->bytes_sent = bpf_core_field_exists(tp->bytes_sent) ? RD(direct, tp, bytes_sent) : 0;
}

/* What fill_tcp() writes, for an event with no TCP socket to read. */
static __always_inline void zero_tcp(struct sf_event *e)
{
	e->flags = 0;
	e->shutdown = 0;
	e->ack_pending = 0;
	e->segs_in = e->segs_out = e->data_segs_in = e->data_segs_out = 0;
	e->bytes_received = e->bytes_acked = 0;
	e->snd_una = e->snd_nxt = e->write_seq = e->rcv_nxt = e->srtt_us = 0;
	e->sk_err = e->xflags = 0;
	e->bytes_sent = 0;
	e->total_retrans = e->min_rtt_us = 0;
}

/* Ring memory is not zeroed: every field is written once, here or in fill_common(). */
static __always_inline void fill_tcp(struct sf_event *e, struct sock *sk, const bool direct)
{
	struct tcp_sock *tp = direct ? bpf_skc_to_tcp_sock(sk) : (struct tcp_sock *)sk;
	unsigned long skflags = RD(direct, sk, __sk_common.skc_flags);
	__u8 flags = 0;

	if (!tp) {
		zero_tcp(e);
		return;
	}
	if (RD(direct, sk, sk_lock.owned))
		flags |= SF_F_PROC;
	if (skflags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DEAD)))
		flags |= SF_F_ORPHAN;
	if (skflags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE)))
		flags |= SF_F_FIN_IN;
	if ((skflags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_LINGER))) &&
	    !RD(direct, sk, sk_lingertime))
		flags |= SF_F_LINGER0;
	/* close() purges unread data without moving copied_seq, then resets */
	if (RD(direct, tp, rcv_nxt) - RD(direct, tp, copied_seq) > ((flags & SF_F_FIN_IN) ? 1 : 0))
		flags |= SF_F_UNREAD;
	e->flags = flags;
	/* at CLOSE the port is already released (inet_num is 0); inet_sport keeps it */
	if (!e->sport)
		e->sport = bpf_ntohs(RD(direct, tp, inet_conn.icsk_inet.inet_sport));
	e->shutdown = direct ? BPF_CORE_READ_BITFIELD(sk, sk_shutdown) :
			       BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown);
	e->ack_pending = RD(direct, tp, inet_conn.icsk_ack.pending);
	e->segs_in = RD(direct, tp, segs_in);
	e->segs_out = RD(direct, tp, segs_out);
	e->data_segs_in = RD(direct, tp, data_segs_in);
	e->data_segs_out = RD(direct, tp, data_segs_out);
	e->bytes_received = RD(direct, tp, bytes_received);
	e->bytes_acked = RD(direct, tp, bytes_acked);
	e->snd_una = RD(direct, tp, snd_una);
	e->snd_nxt = RD(direct, tp, snd_nxt);
	e->write_seq = RD(direct, tp, write_seq);
	e->rcv_nxt = RD(direct, tp, rcv_nxt);
	e->srtt_us = RD(direct, tp, srtt_us);
	fill_facts(e, sk, tp, skflags, direct);
}

/* The current task names the socket's owner only in its process context. */
static __always_inline void fill_comm(struct sf_event *e)
{
	if (e->flags & SF_F_PROC)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	else
		__builtin_memset(e->comm, 0, sizeof(e->comm));
}

/* One event for a full socket; the state pair says where it stands. */
static __always_inline int emit_sock(struct sock *sk, __u16 family, __u8 kind, int oldstate,
				     int newstate, __u8 tcp_flags, const bool direct)
{
	struct sf_event *e = reserve();
	__u16 num;

	if (!e)
		return 0;
	fill_common(e, sk, family, kind, direct);
	num = e->sport; /* inet_num, before fill_tcp() falls back to inet_sport */
	fill_tcp(e, sk, direct);
	fill_comm(e);
	if (newstate == SF_TCP_CLOSE && num)
		e->flags |= SF_F_PORT_HELD;
	e->oldstate = oldstate;
	e->newstate = newstate;
	e->tcp_flags = tcp_flags;
	submit(e);
	return 0;
}

static __always_inline int handle_state(struct sock *sk, int oldstate, int newstate,
					const bool direct)
{
	__u16 family;

	if (!sock_passes(sk, direct, &family))
		return 0;
	return emit_sock(sk, family, SF_EV_STATE, oldstate, newstate, 0, direct);
}

/* Resets and retransmits also fire for timewait and request sockets: keep full sockets only. */
static __always_inline bool full_sock(struct sock *sk, const bool direct)
{
	__u8 state;

	if (!sk)
		return false;
	state = RD(direct, sk, __sk_common.skc_state);
	return state != SF_TCP_TIME_WAIT && state != SF_TCP_NEW_SYN_RECV;
}

static __always_inline int handle_sk_event(struct sock *sk, __u8 kind, __u8 tcp_flags,
					   const bool direct)
{
	__u16 family;
	__u8 state;

	if (!full_sock(sk, direct) || !sock_passes(sk, direct, &family))
		return 0;
	state = RD(direct, sk, __sk_common.skc_state);
	return emit_sock(sk, family, kind, state, state, tcp_flags, direct);
}

static __always_inline int handle_retrans(struct sock *sk, struct sk_buff *skb, const bool direct)
{
	__u8 fl;

	if (!skb)
		return 0;
	/* TCP_SKB_CB(skb) lives in skb->cb; probe-read it in both flavours */
	fl = BPF_CORE_READ((struct tcp_skb_cb *)&skb->cb[0], tcp_flags);
	if (!(fl & (SF_TH_SYN | SF_TH_FIN)))
		return 0;
	return handle_sk_event(sk, SF_EV_RETRANS, fl, direct);
}

/*
 * A SYN-ACK sent again from a request socket, before the child socket exists:
 * the event carries the request's address and tuple, the engine matches it to
 * the child by tuple.
 */
static __always_inline int handle_synack(struct sock *lsk, struct request_sock *req,
					 const bool direct)
{
	struct sock_common *rc = (struct sock_common *)req;
	struct sf_event *e;
	__u16 family;

	if (!req || !sock_passes(lsk, direct, &family))
		return 0;
	e = reserve();
	if (!e)
		return 0;
	zero_tcp(e);
	fill_common(e, lsk, family, SF_EV_RETRANS, direct);
	__builtin_memset(e->comm, 0, sizeof(e->comm));
	e->skaddr = (__u64)req;
	e->cookie = 0;
	e->sock_ino = 0;
	e->sport = BPF_CORE_READ(rc, skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(rc, skc_dport));
	skc_addrs(rc, family, e->saddr, e->daddr, false);
	e->flags = SF_F_SYNACK;
	e->tcp_flags = SF_TH_SYN | SF_TH_ACK;
	e->oldstate = e->newstate = SF_TCP_SYN_RECV;
	submit(e);
	return 0;
}

/* The socket and both states name a state change; see rescue.bpf.h. */
#define STATE_PAIR(oldstate, newstate) (((__u64)(__u32)(oldstate) << 32) | (__u32)(newstate))

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_state, struct sock *sk, int oldstate, int newstate)
{
	run_note(ctx, (__u64)sk, STATE_PAIR(oldstate, newstate));
	return handle_state(sk, oldstate, newstate, true);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(btf_send_reset, struct sock *sk, struct sk_buff *skb)
{
	run_note(ctx, (__u64)sk, (__u64)skb);
	return handle_sk_event(sk, SF_EV_RESET_TX, SF_TH_RST, true);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(btf_receive_reset, struct sock *sk)
{
	run_note(ctx, (__u64)sk, 0);
	return handle_sk_event(sk, SF_EV_RESET_RX, SF_TH_RST, true);
}

static __always_inline int btf_retransmit_body(void *ctx, struct sock *sk, struct sk_buff *skb)
{
	if (retransmit_failed(ctx, true))
		return 0;
	return handle_retrans(sk, skb, true);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(btf_retransmit, struct sock *sk, struct sk_buff *skb)
{
	run_note(ctx, (__u64)sk, (__u64)skb);
	return btf_retransmit_body(ctx, sk, skb);
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(btf_retransmit_synack, struct sock *sk, struct request_sock *req)
{
	run_note(ctx, (__u64)sk, (__u64)req);
	return handle_synack(sk, req, true);
}

/*
 * The twins of the tp_btf programs (rescue.bpf.h): the loader attaches each
 * after its first program, and they record only what the kernel skipped it for.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(rescue_state, struct sock *sk, int oldstate, int newstate)
{
	if (!run_skipped(ctx, SF_RUN_STATE, (__u64)sk, STATE_PAIR(oldstate, newstate)))
		return 0;
	return handle_state(sk, oldstate, newstate, true);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(rescue_tx_rst, struct sock *sk, struct sk_buff *skb)
{
	if (!run_skipped(ctx, SF_RUN_SEND_RESET, (__u64)sk, (__u64)skb))
		return 0;
	return handle_sk_event(sk, SF_EV_RESET_TX, SF_TH_RST, true);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(rescue_rx_rst, struct sock *sk)
{
	if (!run_skipped(ctx, SF_RUN_RECEIVE_RESET, (__u64)sk, 0))
		return 0;
	return handle_sk_event(sk, SF_EV_RESET_RX, SF_TH_RST, true);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(rescue_retrans, struct sock *sk, struct sk_buff *skb)
{
	if (!run_skipped(ctx, SF_RUN_RETRANSMIT, (__u64)sk, (__u64)skb))
		return 0;
	return btf_retransmit_body(ctx, sk, skb);
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(rescue_synack, struct sock *sk, struct request_sock *req)
{
	if (!run_skipped(ctx, SF_RUN_RETRANSMIT_SYNACK, (__u64)sk, (__u64)req))
		return 0;
	return handle_synack(sk, req, true);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return handle_state((struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate, false);
}

SEC("tracepoint/tcp/tcp_send_reset")
int tp_send_reset(void *ctx)
{
	return handle_sk_event(tp_send_reset_sk(ctx), SF_EV_RESET_TX, SF_TH_RST, false);
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	return handle_sk_event((struct sock *)BPF_CORE_READ(ctx, skaddr), SF_EV_RESET_RX, SF_TH_RST,
			       false);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_retransmit(void *ctx)
{
	struct sk_buff *skb;
	struct sock *sk;

	if (retransmit_failed(ctx, false))
		return 0;
	tp_retransmit_args(ctx, &sk, &skb);
	return handle_retrans(sk, skb, false);
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int tp_retransmit_synack(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	return handle_synack((struct sock *)BPF_CORE_READ(ctx, skaddr),
			     (struct request_sock *)BPF_CORE_READ(ctx, req), false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
