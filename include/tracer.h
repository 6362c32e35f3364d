/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one event record shared by the BPF tracer and user space. It is also the
 * on-disk record of a recording, so its layout is part of the file format:
 * change it only together with SF_REC_VERSION.
 */
#ifndef SYNFIN_TRACER_H
#define SYNFIN_TRACER_H

#include "types.h"

#define SF_COMM_LEN 16

/*
 * TCP states as the kernel numbers them (include/net/tcp_states.h), the one
 * list of them: X(NAME, number, label, short). The label is the lower-case name
 * of metrics, alert rules and watch's JSON; short, watch's column heading.
 */
#define SF_TCP_STATE_LIST(X)                    \
	X(ESTABLISHED, 1, established, "ESTAB") \
	X(SYN_SENT, 2, syn_sent, "SYN_S")       \
	X(SYN_RECV, 3, syn_recv, "SYN_R")       \
	X(FIN_WAIT1, 4, fin_wait1, "FIN_W1")    \
	X(FIN_WAIT2, 5, fin_wait2, "FIN_W2")    \
	X(TIME_WAIT, 6, time_wait, "TIME_W")    \
	X(CLOSE, 7, close, "CLOSE")             \
	X(CLOSE_WAIT, 8, close_wait, "CLOSE_W") \
	X(LAST_ACK, 9, last_ack, "LAST_A")      \
	X(LISTEN, 10, listen, "LISTEN")         \
	X(CLOSING, 11, closing, "CLOSING")      \
	X(NEW_SYN_RECV, 12, new_syn_recv, "NEW_SR")

#define SF_X_TCP_STATE(name, num, label, short_name) SF_TCP_##name = num,

enum sf_tcp_state { SF_TCP_STATE_LIST(SF_X_TCP_STATE) SF_TCP_MAX_STATES };

enum sf_kind {
	/* emitted by the kernel side */
	SF_EV_STATE = 1, /* inet_sock_set_state */
	SF_EV_RESET_TX = 2, /* tcp_send_reset on a full socket */
	SF_EV_RESET_RX = 3, /* tcp_receive_reset */
	SF_EV_RETRANS = 4, /* retransmitted SYN or FIN (tcp_flags says which) */
	/* written by user space into the same stream so replay sees what live saw */
	SF_EV_LOST = 16, /* lost_seq carries the new total of lost events */
	/*
	 * lost_seq carries the new total of program runs the kernel skipped
	 * (recursion_misses) and no twin recorded: an event of any socket may
	 * be missing
	 */
	SF_EV_MISSED = 17,
	SF_EV_END = 18, /* tracing stopped at ts_ns; lost_seq is the final lost total */
};

/*
 * The tracepoints, as the tracer counts the runs its second programs recorded
 * for the first ones the kernel skipped (rescued[] in bpf/rescue.bpf.h).
 */
enum sf_run {
	SF_RUN_STATE, /* inet_sock_set_state */
	SF_RUN_SEND_RESET,
	SF_RUN_RECEIVE_RESET,
	SF_RUN_RETRANSMIT,
	SF_RUN_RETRANSMIT_SYNACK,
	SF_RUN_N,
};

enum sf_flag {
	/* the socket lock was owned: the current task is the socket's caller */
	SF_F_PROC = 1 << 0,
	SF_F_ORPHAN = 1 << 1, /* SOCK_DEAD: the application already closed it */
	SF_F_FIN_IN = 1 << 2, /* SOCK_DONE: the peer's FIN has been received */
	SF_F_LINGER0 = 1 << 3, /* SO_LINGER with zero timeout: close() sends RST */
	SF_F_UNREAD = 1 << 4, /* received data was never read: close() sends RST */
	SF_F_SYNACK = 1 << 5, /* SF_EV_RETRANS of a SYN-ACK: skaddr and tuple are the request's */
	/*
	 * At CLOSE the local port was still held: tcp_set_state() releases it
	 * before the tracepoint, so this CLOSE came from elsewhere, such as a
	 * child the kernel discarded at birth (inet_ehash_nolisten() lost the
	 * request to a twin child made on another CPU).
	 */
	SF_F_PORT_HELD = 1 << 6,
	/*
	 * On SF_EV_MISSED: the runs skipped since the last marker include resets
	 * or retransmissions, whose loss no later event shows. A skipped state
	 * change shows: the next one does not start where the last ended.
	 */
	SF_F_SILENT = 1 << 7,
};

/* More of the socket's state, in xflags (format 2 on) */
enum sf_xflag {
	SF_X_FACTS = 1 << 0, /* the event carries sk_err, xflags and the health counters */
	SF_X_USER_TIMEOUT = 1 << 1, /* TCP_USER_TIMEOUT is set */
	SF_X_KEEPALIVE = 1 << 2, /* SO_KEEPALIVE is on */
	SF_X_LINGER2_NEG = 1 << 3, /* TCP_LINGER2 < 0: no FIN_WAIT2, a RST instead */
	/*
	 * No retransmission timer pending (icsk_pending 0). A SYN_SENT socket
	 * has one from its SYN on, except inside the timer's own handler, which
	 * clears it before it gives up: so at a CLOSE from SYN_SENT this says
	 * the SYN timed out even when the application has already read and
	 * cleared sk_err (SO_ERROR), which kernels without 853c3bd7b791 ("tcp:
	 * fix race in tcp_write_err()", 6.10, backported to stable trees in
	 * 2024) let it do by waking it before tcp_done().
	 */
	SF_X_NO_XMIT_TIMER = 1 << 4,
};

/* TCP header flag bits, as in tcp_flags */
#define SF_TH_FIN 0x01
#define SF_TH_SYN 0x02
#define SF_TH_RST 0x04
#define SF_TH_ACK 0x10

/* sk_shutdown bits */
#define SF_RCV_SHUTDOWN 1
#define SF_SEND_SHUTDOWN 2

struct sf_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 skaddr; /* kernel address of the socket: identity within one lifetime */
	__u64 cookie; /* socket cookie; on some kernels not final before ESTABLISHED */
	__u64 cgroup_id; /* cgroup v2 id of the socket's owner */
	__u64 sock_ino; /* inode of the struct socket, 0 when none (orphan, unaccepted) */
	__u64 lost_seq; /* events lost so far, as seen when this one was queued */
	__u64 bytes_received;
	__u64 bytes_acked;
	__u32 netns; /* network namespace inode */
	__u32 pid; /* current thread; meaningful only with SF_F_PROC */
	__u32 tgid;
	__u32 segs_in;
	__u32 segs_out;
	__u32 data_segs_in;
	__u32 data_segs_out;
	__u32 snd_una;
	__u32 snd_nxt;
	__u32 write_seq;
	__u32 rcv_nxt;
	__u32 srtt_us; /* smoothed RTT << 3, as the kernel keeps it */
	__u16 sport; /* local port, host order */
	__u16 dport; /* remote port, host order */
	__u8 kind;
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 oldstate;
	__u8 newstate;
	__u8 flags;
	__u8 ack_pending; /* icsk_ack.pending */
	__u8 shutdown; /* sk_shutdown */
	__u8 tcp_flags; /* SF_EV_RETRANS: flags of the retransmitted segment */
	__u16 cpu;
	__u8 sk_err; /* the error the socket reports: set before CLOSE by a timeout, a RST, an ICMP */
	__u8 xflags; /* SF_X_*; 0 in recordings of format 1 */
	__u8 saddr[16]; /* local address; IPv4 in the first 4 bytes */
	__u8 daddr[16]; /* remote address */
	char comm[SF_COMM_LEN];
	/* format 2 on: the connection's health, as the kernel counts it */
	__u64 bytes_sent; /* data bytes sent, retransmissions included */
	__u32 total_retrans; /* segments sent again, SYN-ACKs of its request socket included */
	__u32 min_rtt_us; /* the windowed minimum RTT, 0 before a sample */
};

/* The size of an event in recordings of format 1, before the health counters. */
#define SF_EVENT_V1_SIZE __builtin_offsetof(struct sf_event, bytes_sent)

/*
 * A record's footprint in a BPF ring buffer: its 8-byte header and len bytes,
 * rounded up to 8 (kernel/bpf/ringbuf.c); an event's, the ring's step.
 */
#define SF_RING_FOOTPRINT(len) ((BPF_RINGBUF_HDR_SZ + (len) + 7) & ~7ull)
#define SF_RING_RECORD_SIZE SF_RING_FOOTPRINT(sizeof(struct sf_event))

/*
 * Whether size bytes at offset start (from any fixed origin) in a ring span a
 * multiple of wakeup, a power of two: the record that does wakes the reader,
 * once per wakeup bytes queued. A multiple at start itself counts: a record
 * beginning exactly on one is the only one that spans it.
 */
static inline int sf_ring_crosses(__u64 start, __u64 size, __u64 wakeup)
{
	return (((start - 1) ^ (start + size - 1)) & ~(wakeup - 1)) != 0;
}

#endif
