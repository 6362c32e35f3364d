/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The model behind synfin watch: socket counts per network namespace, service
 * port and state, started from iterator snapshots (one per namespace), kept
 * live from transitions, reconciled by later snapshots of the namespaces whose
 * counts can have drifted (TIME_WAIT exits have no event); open/close/reset
 * rates, the close-kind mix, CLOSE_WAIT ages, and the alert rules. Pure: time
 * is passed in.
 */
#ifndef SYNFIN_WATCH_H
#define SYNFIN_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "alert.h"
#include "snapshot.h"
#include "tracker.h"
#include "workload.h"

/* A process holding sockets, as watch and snapshot name it (src/sys/procmap.c finds it). */
struct sf_owner {
	uint32_t pid;
	char comm[16];
};

/* Who a network namespace belongs to, as the views name it. */
struct watch_ident {
	char label[192]; /* WORKLOAD: "namespace/pod", a container, a unit, "host" or "netns:INODE" */
	struct sf_workload wl; /* all "" when unknown */
};

/* Handshake times of the connections that ended, in Prometheus buckets (seconds). */
#define WATCH_HS_BUCKETS 10
extern const double watch_hs_bounds[WATCH_HS_BUCKETS];

struct watch_hs {
	uint64_t n[WATCH_HS_BUCKETS + 1]; /* handshakes by bucket; the last: above them all */
	uint64_t count;
	double sum; /* seconds */
};

/* A group's sockets belong to cgroups of more than one workload. */
#define WATCH_CGROUP_MIXED UINT64_MAX

/* One service port in one network namespace. */
struct watch_group {
	uint32_t netns;
	const struct watch_ident *ident; /* its namespace's, or its cgroup's (watch__name_groups) */
	uint64_t cgroup_id; /* its sockets' cgroup when they share one; 0 none known; or MIXED */
	uint16_t port;
	int64_t counts[SF_TCP_MAX_STATES];
	uint64_t opens, closes, resets; /* since the start */
	uint64_t kinds[SF_CLOSE_COUNT]; /* closes by kind, since the start */
	uint64_t reasons[SF_CLOSE_COUNT][SF_REASON_COUNT]; /* by kind and reason; NONE: unknown */
	struct watch_hs hs; /* of the connections that ended */
	uint64_t retrans; /* segments they sent again */
	double opens_per_s, closes_per_s, resets_per_s;
	int64_t oldest_cw_ms; /* -1: no CLOSE_WAIT */
	struct alert_inst *alerts; /* one per rule */
	/* for rates */
	uint64_t prev_opens, prev_closes, prev_resets;
};

/* A CLOSE_WAIT socket: for its age and, when an alert fires, its owner. */
struct watch_cw {
	uint64_t key; /* cookie, or inode | 1 << 63 */
	uint64_t ino;
	uint64_t enter_ns;
	uint32_t netns;
	uint16_t port;
};

struct watch_alert_event {
	const struct alert_rule *rule;
	const struct watch_group *group;
	enum alert_change change;
	double value;
};

typedef void (*watch_alert_fn)(const struct watch_alert_event *ev, void *ctx);

struct watch;

int watch__new(struct watch **out, const struct alert_rule *rules, size_t nrules);
/*
 * The counts of namespace netns become its snapshot's (recs, n of them, all
 * of that namespace); now_ns is the events' clock when the read began.
 */
int watch__snapshot_ns(struct watch *w, uint32_t netns, const struct sf_sock_rec *recs, size_t n,
		       uint64_t now_ns);
/* watch__snapshot_ns for each namespace the records hold. */
int watch__snapshot(struct watch *w, const struct sf_sock_rec *recs, size_t n, uint64_t now_ns);
/* Whether an event of netns at ts_ns is news: after that namespace's last snapshot began. */
bool watch__counts_event(const struct watch *w, uint32_t netns, uint64_t ts_ns);
void watch__transition(struct watch *w, const struct sf_transition *tr);
void watch__lifecycle(struct watch *w, const struct sf_lifecycle *lc);
/* Rates over the time since the last tick, CLOSE_WAIT ages, then the alerts. */
void watch__tick(struct watch *w, uint64_t now_ns, bool ignore_for, watch_alert_fn fn, void *ctx);

/* Names a namespace (copied). */
int watch__ident(struct watch *w, uint32_t netns, const struct watch_ident *id);
/*
 * Who a group belongs to when its sockets' cgroup says more than its
 * namespace (a unit on the host's namespace, one container of a pod): fn
 * returns that (kept by the caller until the next call), or NULL for the
 * namespace's.
 */
typedef const struct watch_ident *(*watch_name_fn)(void *ctx, const struct watch_group *g);
void watch__name_groups(struct watch *w, watch_name_fn fn, void *ctx);
/* Only the groups of that workload are shown and alerted on (sel is kept; NULL: all). */
void watch__select(struct watch *w, const struct sf_who_select *sel);
/*
 * The namespaces listed now (inums, sorted) are all there are: the others'
 * counts drop to 0, and their groups go once no alert fires on them.
 */
void watch__retain(struct watch *w, const uint32_t *inums, size_t n);
/*
 * Which of the namespaces listed (inums, n) the reconciliation at now_ns reads
 * (read[i]): every one when all is set (events were lost), else those never
 * read, those whose counts can have drifted (a TIME_WAIT old enough to have
 * expired, a FIN_WAIT2 mini-socket or request socket counted, a count below
 * 0), and the sweep stalest of the rest. Returns how many.
 */
size_t watch__plan(const struct watch *w, const uint32_t *inums, size_t n, uint64_t now_ns,
		   bool all, size_t sweep, bool *read);

/* Groups with any socket or activity, most sockets first; *n of them (owned by w). */
const struct watch_group *const *watch__groups(struct watch *w, size_t *n);
/* The CLOSE_WAIT sockets of a port, in any namespace (owned by w, valid until the next call). */
const struct watch_cw *watch__close_waits(struct watch *w, uint16_t port, size_t *n);
/* The CLOSE_WAIT sockets of one group (the same). */
const struct watch_cw *watch__group_close_waits(struct watch *w, const struct watch_group *g,
						size_t *n);
int64_t watch__total_state(const struct watch_group *g);
void watch__free(struct watch *w);

/* synfin watch --by process: the sockets of one owner, by state. */
struct watch_proc_row {
	struct sf_owner owner;
	int64_t counts[SF_TCP_MAX_STATES];
};

/* Counts one socket of owner in state; rows has room for one row more than *n. */
void watch_proc_count(struct watch_proc_row *rows, size_t *n, const struct sf_owner *owner,
		      unsigned int state);
/* Most sockets first, then by pid. */
void watch_proc_sort(struct watch_proc_row *rows, size_t n);

/* synfin snapshot: the records of one service port in one state, in one namespace. */
struct watch_sock_group {
	uint32_t netns;
	uint16_t port;
	uint8_t state;
	uint64_t cgroup_id; /* its sockets' cgroup when they share one, as watch_group's */
	int64_t oldest_ms; /* -1: no age known */
	size_t n;
	const struct sf_sock_rec *const *recs; /* n of them */
};

/*
 * Groups a snapshot's records by namespace, service port, then state, in that
 * order (the service port as watch counts it). *out is one allocation, freed
 * with free().
 */
int watch_sock_groups(const struct sf_sock_rec *recs, size_t n, struct watch_sock_group **out,
		      size_t *ngroups);

#endif
