/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The lifecycle engine: a pure state machine that turns the tracer's events
 * into one lifecycle per TCP endpoint. No libbpf, no I/O, no clock: time comes
 * from the events, so a recording replays to the same output.
 */
#ifndef SYNFIN_TRACKER_H
#define SYNFIN_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tracer.h"

/*
 * The enums of a lifecycle, each one list: X(NAME, "name as printed and parsed").
 * The enum, its count (SF_X_COUNT) and its names (names.h) come from the list.
 */
#define SF_ROLE_LIST(X)       \
	X(UNKNOWN, "unknown") \
	X(CLIENT, "client")   \
	X(SERVER, "server")

#define SF_CLOSE_LIST(X)                \
	X(INCOMPLETE, "incomplete")     \
	X(FOUR_WAY, "four-way")         \
	X(THREE_WAY, "three-way")       \
	X(SIMULTANEOUS, "simultaneous") \
	X(RESET, "reset")               \
	X(REFUSED, "refused")           \
	X(ABORTED, "aborted")

#define SF_CLOSER_LIST(X) \
	X(NONE, "none")   \
	X(LOCAL, "local") \
	X(PEER, "peer")   \
	X(BOTH, "both")

/* why a lifecycle is incomplete (bits): X(NAME, "name") in bit order */
#define SF_GAP_LIST(X)                                                                    \
	X(MIDLIFE, "midlife") /* first seen after its birth: it existed before tracing */ \
	X(LOST, "lost") /* events were lost while it lived */                             \
	X(ORDER, "order") /* a transition did not start where the previous one ended */   \
	X(ALIVE, "alive") /* still open when tracing stopped */                           \
	X(UNSEEN, "unseen") /* its close was not observed from the start */

/*
 * Why a lifecycle ended, where the kernel tells (docs/lifecycle.md): set on
 * resets, refusals, aborts and timer-driven closes, NONE (null) otherwise and
 * wherever it cannot be known.
 */
#define SF_REASON_LIST(X)                           \
	X(NONE, "none")                             \
	X(LINGER0, "linger0")                       \
	X(UNREAD_DATA, "unread-data")               \
	X(ABORT_ON_DATA, "abort-on-data")           \
	X(LISTENER_CLOSED, "listener-closed")       \
	X(SYN_TIMEOUT, "syn-timeout")               \
	X(SYNACK_TIMEOUT, "synack-timeout")         \
	X(KEEPALIVE_TIMEOUT, "keepalive-timeout")   \
	X(USER_TIMEOUT, "user-timeout")             \
	X(FIN_WAIT2_TIMEOUT, "fin-wait2-timeout")   \
	X(RETRANSMIT_TIMEOUT, "retransmit-timeout") \
	X(PEER_RESET, "peer-reset")                 \
	X(PORT_UNREACHABLE, "port-unreachable")

#define SF_X_ROLE(name, text) SF_ROLE_##name,
#define SF_X_CLOSE(name, text) SF_CLOSE_##name,
#define SF_X_CLOSER(name, text) SF_CLOSER_##name,
#define SF_X_REASON(name, text) SF_REASON_##name,
#define SF_X_GAP_BIT(name, text) SF_GAP_BIT_##name,
#define SF_X_GAP(name, text) SF_GAP_##name = 1 << SF_GAP_BIT_##name,

enum sf_role { SF_ROLE_LIST(SF_X_ROLE) SF_ROLE_COUNT };
enum sf_close { SF_CLOSE_LIST(SF_X_CLOSE) SF_CLOSE_COUNT };
enum sf_closer { SF_CLOSER_LIST(SF_X_CLOSER) SF_CLOSER_COUNT };
enum sf_reason { SF_REASON_LIST(SF_X_REASON) SF_REASON_COUNT };
enum sf_gap_bit { SF_GAP_LIST(SF_X_GAP_BIT) SF_GAP_COUNT };
enum sf_gap { SF_GAP_LIST(SF_X_GAP) };

#define SF_MAX_HOPS 8
#define SF_MAX_OPEN 4 /* a simultaneous open: SYN out, SYN in, SYN-ACK out, SYN-ACK in */
#define SF_MAX_WAVES 6

enum sf_wave_dir {
	SF_DIR_OUT = 0,
	SF_DIR_IN = 1,
};

/* One segment of the handshake or the close, as the seeds draw it. */
struct sf_wave {
	uint8_t dir;
	uint8_t flags; /* SF_TH_* */
	uint8_t has_seq;
	uint8_t has_ack;
	uint8_t state; /* this endpoint's state after the segment */
	uint32_t seq;
	uint32_t ack;
	uint64_t ts_ns; /* when the transition that shows it happened; 0 unknown */
};

struct sf_hop {
	uint8_t state;
	bool known_us; /* false for the first hop of a socket seen mid-life */
	uint64_t us;
};

struct sf_lifecycle {
	uint64_t id; /* order of first sight, 1-based */
	uint64_t pair; /* shared by both local endpoints of one connection, else 0 */
	uint64_t cookie;
	uint64_t skaddr;
	uint64_t cgroup_id;
	uint64_t sock_ino;
	uint32_t netns;
	uint32_t pid; /* 0 when never seen in process context */
	char comm[SF_COMM_LEN];
	uint8_t family;
	uint8_t laddr[16];
	uint8_t raddr[16];
	uint16_t lport;
	uint16_t rport;
	uint8_t role;
	uint8_t close;
	uint8_t closer;
	uint8_t reason; /* SF_REASON_* */
	uint8_t gaps; /* SF_GAP_* */
	uint8_t last_state; /* the state it was in when it ended or tracing stopped */
	uint8_t peer_state; /* paired: the peer endpoint's state now, 0 when it has ended */
	bool time_wait;
	bool fw2_handoff; /* orphan handed to a FIN_WAIT2 mini-socket before the peer's FIN */
	bool half_close; /* data flowed after the first FIN */
	bool alive;
	uint64_t start_ns;
	uint64_t end_ns;
	int64_t handshake_us; /* -1 when unknown */
	uint8_t nhops;
	struct sf_hop hops[SF_MAX_HOPS];
	uint8_t nopen;
	struct sf_wave open[SF_MAX_OPEN];
	uint8_t nwaves;
	struct sf_wave waves[SF_MAX_WAVES];
	uint32_t segs_in;
	uint32_t segs_out;
	uint64_t bytes_received;
	uint64_t bytes_acked;
	uint16_t retrans_syn;
	uint16_t retrans_fin;
	/* health at the close, as the kernel counts it; the last three when health */
	uint32_t srtt_us;
	bool health;
	uint32_t min_rtt_us;
	uint32_t retrans; /* every segment sent again (SYN-ACKs of the request too) */
	uint64_t bytes_sent;
};

/* One state transition, resolved to its endpoint (for the --states view). */
struct sf_transition {
	const struct sf_event *ev;
	uint64_t id; /* lifecycle id of the endpoint */
	int64_t us_in_old; /* -1 when unknown */
	uint8_t role;
	uint32_t pid;
	const char *comm;
	/* the endpoint's addresses: events at CLOSE may already have lost the local port */
	const uint8_t *laddr;
	const uint8_t *raddr;
	uint16_t lport;
	uint16_t rport;
};

struct tracker_ops {
	void (*on_lifecycle)(const struct sf_lifecycle *lc, void *ctx);
	void (*on_transition)(const struct sf_transition *tr, void *ctx);
	void *ctx;
};

struct tracker_opts {
	size_t max_conns; /* 0: default */
};

struct tracker_stats {
	uint64_t events; /* kernel events fed */
	uint64_t lost; /* events the kernel could not queue */
	uint64_t missed; /* runs the kernel skipped and no twin recorded (recursion_misses) */
	uint64_t connections; /* lifecycles produced */
	uint64_t live; /* endpoints tracked now */
	uint64_t untracked; /* events dropped because the connection table was full */
	uint64_t ignored; /* events that belong to no endpoint (listeners, stale) */
	uint64_t discarded; /* children the kernel dropped at birth (SF_F_PORT_HELD or SF_F_ORPHAN) */
};

struct tracker;

int tracker__new(struct tracker **out, const struct tracker_opts *opts,
		 const struct tracker_ops *ops);
/* Feed one event; lifecycles that end are handed to ops->on_lifecycle. */
int tracker__feed(struct tracker *t, const struct sf_event *e);
/* Produce a lifecycle for every endpoint still open, as at an SF_EV_END at ts_ns. */
void tracker__flush(struct tracker *t, uint64_t ts_ns);
void tracker__stats(const struct tracker *t, struct tracker_stats *st);
void tracker__free(struct tracker *t);

#endif
