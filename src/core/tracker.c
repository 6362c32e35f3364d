// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Lifecycle engine. See docs/lifecycle.md for the rules; in short:
 * - an endpoint is its socket address (skaddr) between a birth transition
 *   (CLOSE->SYN_SENT, LISTEN->SYN_RECV) and the transition to CLOSE; a cookie
 *   change on the same address means the address was reused unseen;
 * - the close kind is decided from tcp_sock counters captured at the close
 *   transitions, never from timing;
 * - any doubt (mid-life start, lost events, out-of-order transitions) makes the
 *   lifecycle "incomplete" instead of a guess.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tracker.h"

#define DEFAULT_MAX_CONNS (1u << 20)
#define HOPS_KEPT 5 /* the longest real path: SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT1 CLOSING */

/* which snapshots a conn holds */
enum {
	HAVE_ISN = 1 << 0,
	HAVE_FIN_OUT = 1 << 1, /* our FIN: fin_out_seq/ack */
	HAVE_FIN_IN = 1 << 2, /* peer's FIN: fin_in_seq/ack */
	HAVE_ACK_IN = 1 << 3, /* peer's ACK of our FIN, as a separate segment */
	HAVE_ACK_OUT = 1 << 4, /* our ACK of the peer's FIN, before our FIN */
	HAVE_CLOSING = 1 << 5,
	HAVE_RST_IN = 1 << 6,
	HAVE_RST_OUT = 1 << 7,
	HAVE_RST_ACK = 1 << 8, /* the RST in answered our SYN: it carries an ACK */
	HAVE_SYN = 1 << 9, /* isn known without the handshake completing */
	HAVE_HALF = 1 << 10, /* data went out between the peer's FIN and ours */
	HAVE_COOKIE = 1 << 11, /* the cookie is final (seen at ESTABLISHED) */
	HAVE_HS = 1 << 12, /* hs_us is known */
	HAVE_PAIRED = 1 << 13, /* pair/partner name the other local endpoint */
	HAVE_SIMOPEN = 1 << 14, /* SYN_SENT -> SYN_RECV: the SYNs crossed */
	HAVE_RCVDOWN = 1 << 15, /* rd_dsi is known: this side shut its receiving half */
	HAVE_RST_BARE = 1 << 16, /* our RST answers a segment: no ACK bit */
	HAVE_RST_ACKV = 1 << 17, /* rst_ack is known */
	HAVE_FIN_CLEAR = 1 << 18, /* nothing was queued ahead of our FIN when it was sent */
};

/* resets and retransmits of untracked sockets, kept briefly for a CLOSE that follows */
#define RECENT_EVENTS 8
#define RECENT_WINDOW_NS 1000000000ull

struct recent {
	uint64_t skaddr;
	uint64_t ts_ns;
	uint32_t seq;
	uint32_t ack;
	uint8_t kind;
};

/* SYN-ACKs sent again by request sockets, until their child socket appears */
#define SYNACKS 64

struct synack {
	uint32_t netns;
	uint16_t lport;
	uint16_t rport;
	uint8_t raddr[16];
	uint8_t count;
};

/* Compact per-endpoint state: this is what every tracked connection costs. */
struct conn {
	uint64_t skaddr; /* 0: free slot */
	uint64_t cookie;
	uint64_t id;
	uint64_t pair;
	uint64_t cgroup_id;
	uint64_t enter_ns[HOPS_KEPT]; /* 0: unknown */
	uint32_t sock_ino; /* sockfs inodes are 32-bit (get_next_ino) */
	uint32_t partner; /* slot of the paired endpoint */
	uint32_t lost_seq;
	uint32_t netns;
	uint32_t pid;
	uint32_t isn;
	uint32_t peer_isn;
	uint32_t hs_us;
	uint32_t fin_out_seq;
	uint32_t fin_out_ack;
	uint32_t fin_in_seq;
	uint32_t fin_in_ack;
	uint32_t ack_seq; /* seq of the separate ACK (HAVE_ACK_IN / HAVE_ACK_OUT) */
	uint32_t segs_mark; /* segs_in at FIN_WAIT1->FIN_WAIT2, or segs_out at ->CLOSE_WAIT */
	uint32_t data_mark; /* data segments the other way when the first FIN passed */
	uint32_t rst_seq; /* our RST */
	uint32_t rst_ack;
	uint32_t rst_in_seq; /* the peer's */
	uint32_t rst_in_ack;
	uint32_t syn_len; /* data the client's SYN carried, acknowledged (Fast Open) */
	uint32_t rd_dsi; /* data_segs_in when this side shut its receiving half */
	uint32_t snd_nxt; /* the latest event's */
	uint32_t have;
	uint16_t lport;
	uint16_t rport;
	uint8_t retrans_syn; /* counts stop at 255 */
	uint8_t retrans_fin;
	uint8_t reason; /* SF_REASON_*, when this side's RST had a known cause */
	uint8_t hop_state[HOPS_KEPT];
	uint8_t family;
	uint8_t role;
	uint8_t state;
	uint8_t gaps;
	uint8_t nhops;
	uint8_t closer;
	char comm[SF_COMM_LEN];
	uint8_t laddr[16];
	uint8_t raddr[16];
};

/* Open-addressing index of slot numbers (slot + 1; 0 is empty), linear probing. */
struct index {
	uint32_t *cells;
	uint32_t mask;
	uint32_t count;
	uint8_t shift; /* 64 - log2(cells) */
};

struct tracker {
	struct tracker_ops ops;
	size_t max_conns;
	struct conn *conns;
	uint32_t cap; /* slots allocated */
	uint32_t used; /* slots ever handed out (high-water mark) */
	uint32_t free_head; /* freed slots, linked through conn.partner; slot + 1, 0: none */
	struct index by_addr;
	struct index by_pair; /* established endpoints not yet paired */
	uint64_t next_id;
	struct tracker_stats st;
	struct sf_lifecycle lc; /* scratch for the lifecycle being produced */
	struct recent recent[RECENT_EVENTS];
	unsigned int nrecent;
	struct synack synacks[SYNACKS];
	unsigned int nsynacks;
	unsigned int live_synacks; /* slots with a count: none is the common case */
};

#define GOLDEN 0x9e3779b97f4a7c15ULL

/* One multiply per word; the index mixes the result again before use. */
static uint64_t fold(uint64_t h, uint64_t w)
{
	h = (h ^ w) * GOLDEN;
	return h ^ (h >> 29);
}

static uint64_t words_hash(uint64_t h, const uint8_t *a16)
{
	uint64_t w[2];

	memcpy(w, a16, sizeof(w));
	return fold(fold(h, w[0]), w[1]);
}

/*
 * Both endpoints of one connection compute the same key: the two (address,
 * port) ends in a fixed order, and the two initial sequence numbers in the
 * same order, so a reused 4-tuple does not pair with an old endpoint.
 */
static uint64_t pair_key(const struct conn *c)
{
	int cmp = memcmp(c->laddr, c->raddr, 16);
	uint64_t lo_part, hi_part;
	const uint8_t *lo, *hi;

	if (cmp < 0 || (cmp == 0 && c->lport <= c->rport)) {
		lo = c->laddr, hi = c->raddr;
		lo_part = (uint64_t)c->lport << 32 | c->isn;
		hi_part = (uint64_t)c->rport << 32 | c->peer_isn;
	} else {
		lo = c->raddr, hi = c->laddr;
		lo_part = (uint64_t)c->rport << 32 | c->peer_isn;
		hi_part = (uint64_t)c->lport << 32 | c->isn;
	}
	/* index_probe mixes it */
	return fold(words_hash(fold(words_hash(c->family, lo), lo_part), hi), hi_part);
}

static bool is_partner(const struct conn *a, const struct conn *b)
{
	return a != b && a->family == b->family && a->lport == b->rport && a->rport == b->lport &&
	       !memcmp(a->laddr, b->raddr, 16) && !memcmp(a->raddr, b->laddr, 16) &&
	       a->isn == b->peer_isn && a->peer_isn == b->isn;
}

typedef uint64_t (*key_fn)(const struct tracker *t, uint32_t slot);

static uint64_t addr_key(const struct tracker *t, uint32_t slot)
{
	return t->conns[slot].skaddr;
}

static uint64_t pairing_key(const struct tracker *t, uint32_t slot)
{
	return pair_key(&t->conns[slot]);
}

static int index_init(struct index *ix, uint32_t cells)
{
	ix->cells = calloc(cells, sizeof(*ix->cells));
	if (!ix->cells)
		return -ENOMEM;
	ix->mask = cells - 1;
	ix->shift = (uint8_t)__builtin_clzll(ix->mask);
	ix->count = 0;
	return 0;
}

/*
 * Where key belongs: the top bits of key times 2^64 / phi (Fibonacci
 * hashing), which depend on every bit of the key, so socket addresses, all
 * multiples of their slab's object size, spread as well as hashes do.
 */
static uint32_t index_home(const struct index *ix, uint64_t key)
{
	return (uint32_t)((key * GOLDEN) >> ix->shift);
}

/* Returns the cell holding key, or the empty cell where it would go. */
static uint32_t index_probe(const struct tracker *t, const struct index *ix, key_fn kf,
			    uint64_t key)
{
	uint32_t i = index_home(ix, key);

	while (ix->cells[i] && kf(t, ix->cells[i] - 1) != key)
		i = (i + 1) & ix->mask;
	return i;
}

static int index_grow(struct tracker *t, struct index *ix, key_fn kf)
{
	struct index old = *ix;
	int err = index_init(ix, (old.mask + 1) * 2);

	if (err) {
		*ix = old;
		return err;
	}
	for (uint32_t i = 0; i <= old.mask; i++) {
		uint32_t v = old.cells[i];

		if (v)
			ix->cells[index_probe(t, ix, kf, kf(t, v - 1))] = v;
	}
	ix->count = old.count;
	free(old.cells);
	return 0;
}

/* keep the load at most 1/2 so probes stay short */
static bool index_full(const struct index *ix)
{
	return (ix->count + 1) * 2 > ix->mask + 1;
}

static int index_put(struct tracker *t, struct index *ix, key_fn kf, uint32_t slot)
{
	uint32_t i;
	int err;

	if (index_full(ix)) {
		err = index_grow(t, ix, kf);
		if (err)
			return err;
	}
	i = index_probe(t, ix, kf, kf(t, slot));
	if (!ix->cells[i])
		ix->count++;
	ix->cells[i] = slot + 1;
	return 0;
}

/* index_put with the empty cell i that index_probe found for slot's key: no second probe */
static int index_put_at(struct tracker *t, struct index *ix, key_fn kf, uint32_t i, uint32_t slot)
{
	if (index_full(ix))
		return index_put(t, ix, kf, slot);
	ix->count++;
	ix->cells[i] = slot + 1;
	return 0;
}

static int64_t index_get(const struct tracker *t, const struct index *ix, key_fn kf, uint64_t key)
{
	uint32_t i = index_probe(t, ix, kf, key);

	return ix->cells[i] ? (int64_t)ix->cells[i] - 1 : -1;
}

/* Empties cell i. Backward-shift deletion: no tombstones, so lookups never degrade. */
static void index_del_at(struct tracker *t, struct index *ix, key_fn kf, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t home;

		ix->cells[i] = 0;
		do {
			j = (j + 1) & ix->mask;
			if (!ix->cells[j]) {
				ix->count--;
				return;
			}
			home = index_home(ix, kf(t, ix->cells[j] - 1));
		} while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
		ix->cells[i] = ix->cells[j];
		i = j;
	}
}

static void index_del(struct tracker *t, struct index *ix, key_fn kf, uint64_t key)
{
	uint32_t i = index_probe(t, ix, kf, key);

	if (ix->cells[i])
		index_del_at(t, ix, kf, i);
}

int tracker__new(struct tracker **out, const struct tracker_opts *opts,
		 const struct tracker_ops *ops)
{
	struct tracker *t = calloc(1, sizeof(*t));
	int err = -ENOMEM;

	if (!t)
		return -ENOMEM;
	t->ops = *ops;
	t->max_conns = opts && opts->max_conns ? opts->max_conns : DEFAULT_MAX_CONNS;
	if (t->max_conns > UINT32_MAX / 4) {
		err = -EINVAL;
		goto cleanup;
	}
	t->next_id = 1;
	if (index_init(&t->by_addr, 1024) || index_init(&t->by_pair, 1024))
		goto cleanup;
	*out = t;
	return 0;
cleanup:
	tracker__free(t);
	return err;
}

void tracker__free(struct tracker *t)
{
	if (!t)
		return;
	free(t->conns);
	free(t->by_addr.cells);
	free(t->by_pair.cells);
	free(t);
}

void tracker__stats(const struct tracker *t, struct tracker_stats *st)
{
	*st = t->st;
}

static struct conn *conn_lookup(struct tracker *t, uint64_t skaddr)
{
	int64_t slot = index_get(t, &t->by_addr, addr_key, skaddr);

	return slot < 0 ? NULL : &t->conns[slot];
}

static uint32_t slot_of(const struct tracker *t, const struct conn *c)
{
	return (uint32_t)(c - t->conns);
}

static struct conn *conn_alloc(struct tracker *t, const struct sf_event *e)
{
	struct conn *c;
	uint32_t slot;

	if (t->free_head) {
		slot = t->free_head - 1;
		t->free_head = t->conns[slot].partner;
	} else {
		if (t->used == t->cap) {
			uint32_t ncap = t->cap ? t->cap * 2 : 1024;
			struct conn *nc;

			if (t->cap >= t->max_conns)
				return NULL;
			if (ncap > t->max_conns)
				ncap = t->max_conns;
			nc = realloc(t->conns, (size_t)ncap * sizeof(*nc));
			if (!nc)
				return NULL;
			t->conns = nc;
			t->cap = ncap;
		}
		slot = t->used++;
	}
	c = &t->conns[slot];
	memset(c, 0, sizeof(*c));
	c->skaddr = e->skaddr;
	c->id = t->next_id++;
	if (index_put(t, &t->by_addr, addr_key, slot)) {
		c->skaddr = 0;
		c->partner = t->free_head;
		t->free_head = slot + 1;
		return NULL;
	}
	t->st.live++;
	return c;
}

/* Take what the event knows of the endpoint's identity. */
static void conn_update_ident(struct conn *c, const struct sf_event *e)
{
	/* the active open's first event has no local port; on older kernels a
	 * passive child's first event carries the listener's ports and cookie */
	if (e->sport && e->dport) {
		c->lport = e->sport;
		c->rport = e->dport;
		memcpy(c->laddr, e->saddr, 16);
		memcpy(c->raddr, e->daddr, 16);
		if (e->cookie)
			c->cookie = e->cookie;
	} else if (!c->rport) {
		c->lport = e->sport;
		c->rport = e->dport;
		memcpy(c->laddr, e->saddr, 16);
		memcpy(c->raddr, e->daddr, 16);
	}
	if (!c->cookie)
		c->cookie = e->cookie;
	c->family = e->family;
	c->netns = e->netns;
	c->cgroup_id = e->cgroup_id;
	if (e->sock_ino)
		c->sock_ino = (uint32_t)e->sock_ino;
	if ((e->flags & SF_F_PROC) && !c->pid) {
		c->pid = e->tgid;
		memcpy(c->comm, e->comm, SF_COMM_LEN);
		c->comm[SF_COMM_LEN - 1] = 0;
	}
}

/* What every event of an endpoint tells, whatever its kind. */
static void note_seen(struct conn *c, const struct sf_event *e)
{
	unsigned int state = e->newstate;

	c->snd_nxt = e->snd_nxt;
	/* the baseline of aborted_on_data(): data from now on resets */
	if (!(c->have & HAVE_RCVDOWN) && e->shutdown & SF_RCV_SHUTDOWN &&
	    (state == SF_TCP_FIN_WAIT1 || state == SF_TCP_FIN_WAIT2)) {
		c->rd_dsi = e->data_segs_in;
		c->have |= HAVE_RCVDOWN;
	}
}

static void conn_push_hop(struct conn *c, uint8_t state, uint64_t ts)
{
	if (c->nhops < HOPS_KEPT) {
		c->hop_state[c->nhops] = state;
		c->enter_ns[c->nhops] = ts;
		c->nhops++;
	} else {
		/* an unusual path: keep the first hops and the last one */
		c->hop_state[HOPS_KEPT - 1] = state;
		c->enter_ns[HOPS_KEPT - 1] = ts;
	}
	c->state = state;
}

static void add_wave(struct sf_lifecycle *lc, uint8_t dir, uint8_t flags, bool has_seq,
		     uint32_t seq, bool has_ack, uint32_t ack, uint8_t state, uint64_t ts)
{
	if (lc->nwaves >= SF_MAX_WAVES)
		return;
	lc->waves[lc->nwaves++] = (struct sf_wave){
		.dir = dir,
		.flags = flags,
		.has_seq = has_seq,
		.has_ack = has_ack,
		.state = state,
		.seq = seq,
		.ack = ack,
		.ts_ns = ts,
	};
}

/* When the endpoint entered state, or fallback when it never did (or it is not known). */
static uint64_t hop_enter(const struct conn *c, uint8_t state, uint64_t fallback)
{
	for (int i = 0; i < c->nhops; i++)
		if (c->hop_state[i] == state && c->enter_ns[i])
			return c->enter_ns[i];
	return fallback;
}

static void set_wave(struct sf_wave *w, uint8_t dir, uint8_t flags, uint32_t seq, bool has_ack,
		     uint32_t ack, uint8_t state, uint64_t ts)
{
	*w = (struct sf_wave){
		.dir = dir,
		.flags = flags,
		.has_seq = 1,
		.has_ack = has_ack,
		.state = state,
		.seq = seq,
		.ack = ack,
		.ts_ns = ts,
	};
}

/* An active open: our SYN (with data under Fast Open), the SYN-ACK, our ACK. */
static void open_client(struct sf_lifecycle *lc, const struct conn *c, uint64_t est)
{
	struct sf_wave *w = lc->open;
	uint32_t next = c->isn + 1 + c->syn_len;

	set_wave(&w[0], SF_DIR_OUT, SF_TH_SYN, c->isn, 0, 0, SF_TCP_SYN_SENT,
		 hop_enter(c, SF_TCP_SYN_SENT, 0));
	set_wave(&w[1], SF_DIR_IN, SF_TH_SYN | SF_TH_ACK, c->peer_isn, 1, next, SF_TCP_ESTABLISHED,
		 est);
	set_wave(&w[2], SF_DIR_OUT, SF_TH_ACK, next, 1, c->peer_isn + 1, SF_TCP_ESTABLISHED, est);
	lc->nopen = 3;
}

static void open_server(struct sf_lifecycle *lc, const struct conn *c, uint64_t est)
{
	struct sf_wave *w = lc->open;
	uint64_t syn = hop_enter(c, SF_TCP_SYN_RECV, 0);
	uint32_t next = c->peer_isn + 1 + c->syn_len;

	set_wave(&w[0], SF_DIR_IN, SF_TH_SYN, c->peer_isn, 0, 0, SF_TCP_SYN_RECV, syn);
	set_wave(&w[1], SF_DIR_OUT, SF_TH_SYN | SF_TH_ACK, c->isn, 1, next, SF_TCP_SYN_RECV, syn);
	lc->nopen = 2;
	/* a Fast Open child may end before the handshake completes */
	if (c->state == SF_TCP_SYN_RECV)
		return;
	set_wave(&w[2], SF_DIR_IN, SF_TH_ACK, next, 1, c->isn + 1, SF_TCP_ESTABLISHED, est);
	lc->nopen = 3;
}

/* The SYNs crossed: each side answers the other's SYN with a SYN-ACK of its own. */
static void open_simultaneous(struct sf_lifecycle *lc, const struct conn *c, uint64_t est)
{
	struct sf_wave *w = lc->open;
	uint64_t syn = hop_enter(c, SF_TCP_SYN_RECV, 0);

	set_wave(&w[0], SF_DIR_OUT, SF_TH_SYN, c->isn, 0, 0, SF_TCP_SYN_SENT,
		 hop_enter(c, SF_TCP_SYN_SENT, 0));
	set_wave(&w[1], SF_DIR_IN, SF_TH_SYN, c->peer_isn, 0, 0, SF_TCP_SYN_RECV, syn);
	set_wave(&w[2], SF_DIR_OUT, SF_TH_SYN | SF_TH_ACK, c->isn, 1, c->peer_isn + 1,
		 SF_TCP_SYN_RECV, syn);
	lc->nopen = 3;
	if (c->state == SF_TCP_SYN_RECV)
		return;
	set_wave(&w[3], SF_DIR_IN, SF_TH_SYN | SF_TH_ACK, c->peer_isn, 1, c->isn + 1,
		 SF_TCP_ESTABLISHED, est);
	lc->nopen = 4;
}

static void build_open_waves(struct sf_lifecycle *lc, const struct conn *c)
{
	uint64_t est = hop_enter(c, SF_TCP_ESTABLISHED, 0);

	if (!(c->have & HAVE_ISN)) {
		/* a SYN that got no answer */
		if (c->have & HAVE_SYN) {
			set_wave(&lc->open[0], SF_DIR_OUT, SF_TH_SYN, c->isn, 0, 0, SF_TCP_SYN_SENT,
				 c->enter_ns[0]);
			lc->nopen = 1;
		}
		return;
	}
	if (c->have & HAVE_SIMOPEN)
		open_simultaneous(lc, c, est);
	else if (c->role == SF_ROLE_CLIENT)
		open_client(lc, c, est);
	else if (c->role == SF_ROLE_SERVER)
		open_server(lc, c, est);
}

/*
 * Whether our FIN left the host: snd_nxt went past it by a later event or, for
 * an endpoint still open, nothing was queued ahead of it. A FIN queued behind
 * unsent data dies with the socket when the connection is reset first.
 */
static bool fin_sent(const struct sf_lifecycle *lc, const struct conn *c)
{
	if (!(c->have & HAVE_FIN_OUT))
		return false;
	if ((int32_t)(c->snd_nxt - c->fin_out_seq) > 0)
		return true;
	return lc->alive && c->have & HAVE_FIN_CLEAR;
}

/* Our FIN first: its ACK, then the peer's FIN and our last ACK. */
static void close_waves_local(struct sf_lifecycle *lc, const struct conn *c)
{
	const uint32_t u = c->fin_out_seq, w = c->fin_in_seq;
	const uint64_t end = lc->end_ns;

	add_wave(lc, SF_DIR_OUT, SF_TH_FIN | SF_TH_ACK, 1, u, 1, c->fin_out_ack, SF_TCP_FIN_WAIT1,
		 hop_enter(c, SF_TCP_FIN_WAIT1, end));
	if (c->have & HAVE_ACK_IN)
		add_wave(lc, SF_DIR_IN, SF_TH_ACK, 1, c->ack_seq, 1, u + 1, SF_TCP_FIN_WAIT2,
			 hop_enter(c, SF_TCP_FIN_WAIT2, end));
	if (c->have & HAVE_FIN_IN && !lc->alive) {
		/* without a separate ACK (merged close), the FIN carries it */
		add_wave(lc, SF_DIR_IN, SF_TH_FIN | SF_TH_ACK, 1, w, 1, c->fin_in_ack,
			 SF_TCP_TIME_WAIT, end);
		add_wave(lc, SF_DIR_OUT, SF_TH_ACK, 1, u + 1, 1, w + 1, SF_TCP_TIME_WAIT, end);
	}
}

/* The peer's FIN first: our ACK of it when separate, our FIN, its ACK. */
static void close_waves_peer(struct sf_lifecycle *lc, const struct conn *c)
{
	const uint32_t u = c->fin_out_seq, w = c->fin_in_seq;
	const uint64_t end = lc->end_ns, last_ack = hop_enter(c, SF_TCP_LAST_ACK, end);

	add_wave(lc, SF_DIR_IN, SF_TH_FIN | SF_TH_ACK, 1, w, 1, c->fin_in_ack, SF_TCP_CLOSE_WAIT,
		 hop_enter(c, SF_TCP_CLOSE_WAIT, end));
	if (c->have & HAVE_ACK_OUT)
		add_wave(lc, SF_DIR_OUT, SF_TH_ACK, 1, c->ack_seq, 1, w + 1, SF_TCP_CLOSE_WAIT,
			 last_ack);
	if (!fin_sent(lc, c))
		return;
	add_wave(lc, SF_DIR_OUT, SF_TH_FIN | SF_TH_ACK, 1, u, 1, c->fin_out_ack, SF_TCP_LAST_ACK,
		 last_ack);
	if (!lc->alive && (lc->close == SF_CLOSE_FOUR_WAY || lc->close == SF_CLOSE_THREE_WAY))
		add_wave(lc, SF_DIR_IN, SF_TH_ACK, 1, w + 1, 1, u + 1, SF_TCP_CLOSE, end);
}

/* The FINs crossed: each side acknowledges the other's from CLOSING. */
static void close_waves_both(struct sf_lifecycle *lc, const struct conn *c)
{
	const uint32_t u = c->fin_out_seq, w = c->fin_in_seq;
	const uint64_t end = lc->end_ns, closing = hop_enter(c, SF_TCP_CLOSING, end);

	add_wave(lc, SF_DIR_OUT, SF_TH_FIN | SF_TH_ACK, 1, u, 1, c->fin_out_ack, SF_TCP_FIN_WAIT1,
		 hop_enter(c, SF_TCP_FIN_WAIT1, end));
	add_wave(lc, SF_DIR_IN, SF_TH_FIN | SF_TH_ACK, 1, w, 1, c->fin_in_ack, SF_TCP_CLOSING,
		 closing);
	add_wave(lc, SF_DIR_OUT, SF_TH_ACK, 1, u + 1, 1, w + 1, SF_TCP_CLOSING, closing);
	if (!lc->alive && lc->close == SF_CLOSE_SIMULTANEOUS)
		add_wave(lc, SF_DIR_IN, SF_TH_ACK, 1, w + 1, 1, u + 1, SF_TCP_TIME_WAIT, end);
}

/*
 * The close segments, from what the snapshots hold. A segment is listed only
 * when its existence is certain; seq/ack only when a field gives them.
 */
static void build_close_waves(struct sf_lifecycle *lc, const struct conn *c)
{
	if (c->closer == SF_CLOSER_LOCAL && fin_sent(lc, c))
		close_waves_local(lc, c);
	else if (c->closer == SF_CLOSER_PEER && c->have & HAVE_FIN_IN)
		close_waves_peer(lc, c);
	else if (c->closer == SF_CLOSER_BOTH && fin_sent(lc, c) && c->have & HAVE_FIN_IN)
		close_waves_both(lc, c);
}

/* Why an endpoint ended, decided at its transition to CLOSE. */
struct verdict {
	uint8_t close;
	uint8_t closer;
	bool time_wait;
	bool fw2_handoff;
	bool half_close;
	uint8_t reason;
};

/*
 * Our RST acknowledges what we received, unless it answers a segment of the
 * peer (RST_BARE): then it takes its seq from that segment's ACK and has none.
 * The receiver of a RST cannot see its ACK bit, except in SYN_SENT, where only
 * a RST acknowledging our SYN is accepted.
 */
static void build_reset_waves(struct sf_lifecycle *lc, const struct conn *c, uint64_t end_ns)
{
	bool bare = c->have & HAVE_RST_BARE, syn = c->have & HAVE_RST_ACK;

	if (c->have & HAVE_RST_OUT)
		add_wave(lc, SF_DIR_OUT, SF_TH_RST | (bare ? 0 : SF_TH_ACK), 1, c->rst_seq, !bare,
			 c->rst_ack, SF_TCP_CLOSE, end_ns);
	if (c->have & HAVE_RST_IN)
		add_wave(lc, SF_DIR_IN, SF_TH_RST | (syn ? SF_TH_ACK : 0), !syn, c->rst_in_seq,
			 c->have & HAVE_RST_ACKV, c->rst_in_ack, SF_TCP_CLOSE, end_ns);
}

/* Which socket, where, whose. */
static void lifecycle_identity(struct sf_lifecycle *lc, const struct conn *c)
{
	lc->id = c->id;
	lc->pair = c->pair;
	lc->cookie = c->cookie;
	lc->skaddr = c->skaddr;
	lc->cgroup_id = c->cgroup_id;
	lc->sock_ino = c->sock_ino;
	lc->netns = c->netns;
	lc->pid = c->pid;
	memcpy(lc->comm, c->comm, SF_COMM_LEN);
	lc->family = c->family;
	memcpy(lc->laddr, c->laddr, 16);
	memcpy(lc->raddr, c->raddr, 16);
	lc->lport = c->lport;
	lc->rport = c->rport;
	lc->role = c->role;
}

/* The tcp_sock counters of the event that ended it. */
static void lifecycle_counters(struct sf_lifecycle *lc, const struct sf_event *last)
{
	lc->segs_in = last->segs_in;
	lc->segs_out = last->segs_out;
	lc->bytes_received = last->bytes_received;
	lc->bytes_acked = last->bytes_acked;
	lc->srtt_us = last->srtt_us >> 3;
	if (!(last->xflags & SF_X_FACTS))
		return;
	lc->health = true;
	lc->min_rtt_us = last->min_rtt_us;
	lc->retrans = last->total_retrans;
	lc->bytes_sent = last->bytes_sent;
}

/* The paired endpoint's state now, 0 when it has ended. */
static uint8_t peer_state(const struct tracker *t, const struct conn *c)
{
	const struct conn *p;

	if (!(c->have & HAVE_PAIRED))
		return 0;
	p = &t->conns[c->partner];
	return p->skaddr && p->pair == c->pair ? p->state : 0;
}

static void lifecycle_hops(struct sf_lifecycle *lc, const struct conn *c, uint64_t end_ns)
{
	lc->nhops = c->nhops;
	for (int i = 0; i < c->nhops; i++) {
		uint64_t from = c->enter_ns[i];
		uint64_t to = i + 1 < c->nhops ? c->enter_ns[i + 1] : end_ns;

		lc->hops[i].state = c->hop_state[i];
		lc->hops[i].known_us = from && to >= from;
		lc->hops[i].us = lc->hops[i].known_us ? (to - from) / 1000 : 0;
	}
}

static void lifecycle_verdict(struct sf_lifecycle *lc, const struct conn *c,
			      const struct verdict *v)
{
	/* seen mid-life is no gap in itself: a close seen whole is still classified */
	if (lc->gaps & ~SF_GAP_MIDLIFE) {
		/* never guess: a gap leaves only what was seen for certain */
		lc->close = SF_CLOSE_INCOMPLETE;
		lc->closer = c->closer;
		return;
	}
	lc->close = v->close;
	lc->closer = v->closer;
	lc->reason = v->reason;
	lc->time_wait = v->time_wait;
	lc->fw2_handoff = v->fw2_handoff;
	lc->half_close = v->half_close;
}

static void produce(struct tracker *t, struct conn *c, const struct verdict *v,
		    const struct sf_event *last, uint64_t end_ns, bool alive)
{
	struct sf_lifecycle *lc = &t->lc;

	memset(lc, 0, sizeof(*lc));
	lifecycle_identity(lc, c);
	lc->gaps = c->gaps | (alive ? SF_GAP_ALIVE : 0);
	lc->last_state = c->state;
	lc->alive = alive;
	lc->start_ns = c->enter_ns[0];
	lc->end_ns = end_ns;
	lc->handshake_us = c->have & HAVE_HS ? (int64_t)c->hs_us : -1;
	lc->retrans_syn = c->retrans_syn;
	lc->retrans_fin = c->retrans_fin;
	if (last)
		lifecycle_counters(lc, last);
	lc->peer_state = peer_state(t, c);
	lifecycle_hops(lc, c, end_ns);
	lifecycle_verdict(lc, c, v);
	build_open_waves(lc, c);
	build_close_waves(lc, c);
	build_reset_waves(lc, c, end_ns);
	t->st.connections++;
	if (t->ops.on_lifecycle)
		t->ops.on_lifecycle(lc, t->ops.ctx);
}

static const struct verdict incomplete_verdict;

static void note_lost(struct conn *c, const struct sf_event *e)
{
	if ((uint32_t)e->lost_seq != c->lost_seq)
		c->gaps |= SF_GAP_LOST;
	c->lost_seq = (uint32_t)e->lost_seq;
}

/* One probe finds the partner, or the cell where c waits for it. */
static void try_pair(struct tracker *t, struct conn *c)
{
	struct index *ix = &t->by_pair;
	uint32_t i = index_probe(t, ix, pairing_key, pair_key(c)), slot;
	struct conn *p;

	if (!ix->cells[i]) {
		index_put_at(t, ix, pairing_key, i, slot_of(t, c));
		return;
	}
	slot = ix->cells[i] - 1;
	p = &t->conns[slot];
	if (!is_partner(p, c))
		return;
	index_del_at(t, ix, pairing_key, i);
	p->pair = c->pair = p->id < c->id ? p->id : c->id;
	p->have |= HAVE_PAIRED;
	c->have |= HAVE_PAIRED;
	p->partner = slot_of(t, c);
	c->partner = slot;
}

static void conn_release(struct tracker *t, struct conn *c)
{
	if (c->have & HAVE_ISN && !(c->have & HAVE_PAIRED)) {
		uint32_t i = index_probe(t, &t->by_pair, pairing_key, pair_key(c));

		if (t->by_pair.cells[i] == slot_of(t, c) + 1)
			index_del_at(t, &t->by_pair, pairing_key, i);
	}
	index_del(t, &t->by_addr, addr_key, c->skaddr);
	c->skaddr = 0;
	c->partner = t->free_head;
	t->free_head = slot_of(t, c) + 1;
	t->st.live--;
}

/* States from which the kernel answers an abortive close with a RST (tcp_need_reset). */
static bool need_reset(unsigned int state)
{
	return state == SF_TCP_ESTABLISHED || state == SF_TCP_CLOSE_WAIT ||
	       state == SF_TCP_FIN_WAIT1 || state == SF_TCP_FIN_WAIT2 || state == SF_TCP_SYN_RECV;
}

static struct synack *synack_find(struct tracker *t, uint32_t netns, uint16_t lport, uint16_t rport,
				  const uint8_t *raddr)
{
	if (!t->live_synacks)
		return NULL;
	for (unsigned int i = 0; i < SYNACKS; i++) {
		struct synack *s = &t->synacks[i];

		if (s->count && s->netns == netns && s->lport == lport && s->rport == rport &&
		    !memcmp(s->raddr, raddr, 16))
			return s;
	}
	return NULL;
}

/* Our FIN, as the transition that sends it shows it. */
static void note_fin_out(struct conn *c, const struct sf_event *e)
{
	c->fin_out_seq = e->write_seq;
	c->fin_out_ack = e->rcv_nxt;
	c->have |= HAVE_FIN_OUT;
	if (e->snd_nxt == e->write_seq)
		c->have |= HAVE_FIN_CLEAR;
}

/* The peer's FIN, as the transition it causes shows it: rcv_nxt is one past it. */
static void note_fin_in(struct conn *c, const struct sf_event *e)
{
	c->fin_in_seq = e->rcv_nxt - 1;
	c->fin_in_ack = e->snd_una;
	c->have |= HAVE_FIN_IN;
}

/* The request socket's SYN-ACK retransmits are its child's. */
static void claim_synacks(struct tracker *t, struct conn *c, const struct sf_event *e)
{
	struct synack *s = synack_find(t, e->netns, e->sport, e->dport, e->daddr);

	if (!s)
		return;
	c->retrans_syn = s->count;
	s->count = 0;
	t->live_synacks--;
}

static void note_handshake_time(struct conn *c, const struct sf_event *e)
{
	/* an active open, simultaneous ones too, is timed from its SYN */
	bool active = e->oldstate == SF_TCP_SYN_SENT || c->have & HAVE_SIMOPEN;
	unsigned int old = e->oldstate;

	if (active && c->enter_ns[0] && e->ts_ns >= c->enter_ns[0]) {
		c->hs_us = (uint32_t)((e->ts_ns - c->enter_ns[0]) / 1000);
		c->have |= HAVE_HS;
	} else if (old == SF_TCP_SYN_RECV && e->srtt_us && !c->retrans_syn) {
		/* the passive side's first RTT sample is SYN-ACK to ACK; after a
		 * retransmitted SYN-ACK the kernel takes no sample (Karn) */
		c->hs_us = e->srtt_us >> 3;
		c->have |= HAVE_HS;
	}
}

/*
 * The initial sequence numbers, from the byte counters rather than snd_una
 * and rcv_nxt alone: a SYN may carry data (Fast Open), and a Fast Open child
 * takes data before the handshake completes. bytes_acked counts our SYN when
 * this socket sent it (an active open), not for a child, whose SYN-ACK the
 * request socket sent; bytes_received never counts the peer's SYN.
 */
static void note_isns(struct conn *c, const struct sf_event *e)
{
	uint32_t acked = (uint32_t)e->bytes_acked, received = (uint32_t)e->bytes_received;

	if (c->role == SF_ROLE_SERVER) {
		c->isn = e->snd_una - acked - 1;
		c->syn_len = received;
	} else {
		c->isn = e->snd_una - acked;
		c->syn_len = acked ? acked - 1 : 0;
	}
	c->peer_isn = e->rcv_nxt - received - 1;
	c->have |= HAVE_ISN;
}

static void capture_established(struct tracker *t, struct conn *c, const struct sf_event *e)
{
	unsigned int old = e->oldstate;

	if (old != SF_TCP_SYN_SENT && old != SF_TCP_SYN_RECV)
		return;
	note_isns(c, e);
	if (old == SF_TCP_SYN_RECV && c->role == SF_ROLE_SERVER)
		claim_synacks(t, c, e);
	note_handshake_time(c, e);
	try_pair(t, c);
}

/* Record what a transition tells, before the state changes. */
static void capture(struct tracker *t, struct conn *c, const struct sf_event *e)
{
	switch (e->newstate) {
	case SF_TCP_ESTABLISHED:
		capture_established(t, c, e);
		break;
	case SF_TCP_FIN_WAIT1:
		note_fin_out(c, e);
		c->data_mark = e->data_segs_in;
		if (c->closer == SF_CLOSER_NONE)
			c->closer = SF_CLOSER_LOCAL;
		break;
	case SF_TCP_CLOSE_WAIT:
		note_fin_in(c, e);
		c->segs_mark = e->segs_out;
		c->data_mark = e->data_segs_out;
		c->ack_seq = e->snd_nxt;
		if (c->closer == SF_CLOSER_NONE)
			c->closer = SF_CLOSER_PEER;
		break;
	case SF_TCP_LAST_ACK:
		note_fin_out(c, e);
		/* anything sent since the peer's FIN carried its ACK before our FIN */
		if (c->have & HAVE_FIN_IN && e->segs_out != c->segs_mark)
			c->have |= HAVE_ACK_OUT;
		if (c->have & HAVE_FIN_IN && e->data_segs_out != c->data_mark)
			c->have |= HAVE_HALF;
		break;
	case SF_TCP_FIN_WAIT2:
		if (e->oldstate != SF_TCP_FIN_WAIT1)
			break;
		c->segs_mark = e->segs_in;
		c->ack_seq = e->rcv_nxt;
		c->have |= HAVE_ACK_IN;
		break;
	case SF_TCP_CLOSING:
		note_fin_in(c, e);
		c->have |= HAVE_CLOSING;
		c->closer = SF_CLOSER_BOTH;
		break;
	case SF_TCP_SYN_RECV:
		/* from LISTEN it is a birth; from SYN_SENT, a SYN crossed ours */
		c->have |= HAVE_SIMOPEN;
		break;
	default:
		break;
	}
}

/* Our RST, with the ACK of what we received (tcp_send_active_reset). */
static void note_rst_out(struct conn *c, const struct sf_event *e, uint8_t reason)
{
	c->rst_seq = e->snd_nxt;
	c->rst_ack = e->rcv_nxt;
	c->have |= HAVE_RST_OUT;
	c->reason = reason;
}

/* Our RST in answer to a segment of the peer: its seq is that segment's ACK, now snd_una. */
static void note_rst_answer(struct conn *c, const struct sf_event *e, uint8_t reason)
{
	c->rst_seq = e->snd_una;
	c->have |= HAVE_RST_OUT | HAVE_RST_BARE;
	c->reason = reason;
}

/* The kernel's own account of the end, in the CLOSE event (format 2 on). */
static bool has_facts(const struct sf_event *e)
{
	return e->xflags & SF_X_FACTS;
}

/*
 * Data that arrives in FIN_WAIT1/2 after this side shut its receiving half
 * (close(), shutdown(SHUT_RD)) makes the kernel reset the connection (RFC 1122
 * 4.2.2.13). It calls tcp_reset(), which fires the receive-reset tracepoint
 * though no RST came, or tcp_done() when the segment also acknowledged our
 * FIN, and answers the segment with a RST once the socket is in CLOSE. Only
 * such a segment moves data_segs_in there: a RST carries no data.
 */
static bool aborted_on_data(const struct conn *c, const struct sf_event *e)
{
	return (e->oldstate == SF_TCP_FIN_WAIT1 || e->oldstate == SF_TCP_FIN_WAIT2) &&
	       c->have & HAVE_RCVDOWN && e->data_segs_in != c->rd_dsi;
}

/*
 * A child still in its listener's accept queue when the listener closed:
 * inet_csk_listen_stop() disconnects it, which moves it to CLOSE and sends a
 * RST after. It never had a socket of its own and nothing ran on its behalf;
 * no timer ends an unaccepted child without a RST of its own first.
 */
static bool listener_closed(const struct conn *c, const struct sf_event *e)
{
	unsigned int old = e->oldstate;

	if (c->role != SF_ROLE_SERVER || c->sock_ino || e->flags & SF_F_PROC)
		return false;
	if (old == SF_TCP_ESTABLISHED || old == SF_TCP_CLOSE_WAIT)
		return !has_facts(e) || !e->sk_err;
	/* a Fast Open child, taken out of SYN_RECV: only sk_err tells from a timeout */
	return old == SF_TCP_SYN_RECV && has_facts(e) && !e->sk_err;
}

/*
 * A timer gave up: tcp_write_err() sets sk_err to ETIMEDOUT, or to the soft
 * error an ICMP left. ECONNABORTED is tcp_abort() (ss -K): no timer.
 */
static bool timed_out(const struct sf_event *e)
{
	return has_facts(e) && e->sk_err && e->sk_err != ECONNABORTED;
}

static uint8_t timeout_reason(const struct sf_event *e)
{
	if (e->oldstate == SF_TCP_SYN_SENT)
		return SF_REASON_SYN_TIMEOUT;
	if (e->oldstate == SF_TCP_SYN_RECV)
		return SF_REASON_SYNACK_TIMEOUT;
	return e->xflags & SF_X_USER_TIMEOUT ? SF_REASON_USER_TIMEOUT :
					       SF_REASON_RETRANSMIT_TIMEOUT;
}

/*
 * Why we sent a RST before CLOSE, when no call of ours says: the keepalive
 * timer sends one and then gives up (sk_err set); the FIN_WAIT2 timer of an
 * orphan sends one instead of handing it to a mini-socket.
 */
static uint8_t timer_rst_reason(const struct sf_event *e)
{
	if (!has_facts(e) || e->flags & SF_F_PROC)
		return SF_REASON_NONE;
	if (e->sk_err == ETIMEDOUT)
		return SF_REASON_KEEPALIVE_TIMEOUT;
	if (!e->sk_err && e->oldstate == SF_TCP_FIN_WAIT2 && e->flags & SF_F_ORPHAN)
		return SF_REASON_FIN_WAIT2_TIMEOUT;
	return SF_REASON_NONE;
}

static void classify_reset(const struct conn *c, const struct sf_event *e, struct verdict *v)
{
	bool in = c->have & HAVE_RST_IN, out = c->have & HAVE_RST_OUT;

	v->close = SF_CLOSE_RESET;
	v->closer = in && out ? SF_CLOSER_BOTH : in ? SF_CLOSER_PEER : SF_CLOSER_LOCAL;
	if (out && c->reason)
		v->reason = c->reason;
	else if (out && !in)
		v->reason = timer_rst_reason(e);
	else if (in)
		v->reason = SF_REASON_PEER_RESET;
}

/*
 * The SYN timed out: tcp_write_err() set ETIMEDOUT; or, outside a call of
 * ours, the retransmission timer's handler, which alone ends a SYN_SENT
 * socket with no timer pending, ended it with no error left, because the
 * application woken by the error had read it first (SO_ERROR clears it;
 * kernels without 853c3bd7b791 wake it before tcp_done()).
 */
static bool syn_timed_out(const struct sf_event *e)
{
	if (!has_facts(e))
		return false;
	return e->sk_err == ETIMEDOUT ||
	       (!e->sk_err && !(e->flags & SF_F_PROC) && e->xflags & SF_X_NO_XMIT_TIMER);
}

/*
 * A SYN answered by a RST, or an ICMP port unreachable (sk_err ECONNREFUSED
 * without a RST), was refused. A timeout sets ETIMEDOUT; another ICMP error
 * ends the connect too, or stays as the soft error a later timeout reports:
 * its reason is not known.
 */
static void classify_syn_sent(const struct conn *c, const struct sf_event *e, struct verdict *v)
{
	bool icmp = !(c->have & HAVE_RST_IN) && has_facts(e) && e->sk_err == ECONNREFUSED;

	if (c->have & HAVE_RST_IN || icmp) {
		v->close = SF_CLOSE_REFUSED;
		v->closer = SF_CLOSER_PEER;
		v->reason = icmp ? SF_REASON_PORT_UNREACHABLE : SF_REASON_PEER_RESET;
		return;
	}
	v->close = SF_CLOSE_ABORTED;
	v->closer = SF_CLOSER_LOCAL;
	if (syn_timed_out(e))
		v->reason = SF_REASON_SYN_TIMEOUT;
}

/*
 * Ended before ESTABLISHED: refused, or given up on; or, for a child that was
 * already a full socket (Fast Open, a simultaneous open), reset.
 */
static void classify_unopened(struct conn *c, const struct sf_event *e, struct verdict *v)
{
	if (e->oldstate == SF_TCP_SYN_SENT) {
		c->isn = e->snd_una;
		c->have |= HAVE_SYN;
		classify_syn_sent(c, e, v);
		return;
	}
	/* a full socket in SYN_RECV (Fast Open, simultaneous open) knows both ISNs */
	if (!(c->gaps & SF_GAP_MIDLIFE) && e->snd_una)
		note_isns(c, e);
	if (c->have & (HAVE_RST_IN | HAVE_RST_OUT)) {
		classify_reset(c, e, v);
	} else if (listener_closed(c, e)) {
		note_rst_out(c, e, SF_REASON_LISTENER_CLOSED);
		classify_reset(c, e, v);
	} else {
		v->close = SF_CLOSE_ABORTED;
		v->closer = SF_CLOSER_LOCAL;
		if (timed_out(e))
			v->reason = timeout_reason(e);
	}
}

/*
 * close() with unread data, or with SO_LINGER 0, moves to CLOSE first and
 * sends the RST right after: the RST event would come too late to count.
 */
static void note_abortive_close(struct conn *c, const struct sf_event *e)
{
	if (c->have & HAVE_RST_IN || !(e->flags & SF_F_PROC))
		return;
	if (e->flags & SF_F_UNREAD)
		note_rst_out(c, e, SF_REASON_UNREAD_DATA);
	else if (e->flags & SF_F_LINGER0 && need_reset(e->oldstate))
		note_rst_out(c, e, SF_REASON_LINGER0);
}

/* Whether every snapshot a close needs was taken; if not, the close was unseen. */
static bool saw_close(struct conn *c, uint32_t need)
{
	if ((c->have & need) == need)
		return true;
	c->gaps |= SF_GAP_UNSEEN;
	return false;
}

/*
 * TCP_LINGER2 < 0: no FIN_WAIT2 at all. close() in FIN_WAIT2 moves to CLOSE and
 * sends a RST; an orphan whose FIN is acknowledged is done at once and answers
 * that ACK with a RST.
 */
static void no_fin_wait2(struct conn *c, const struct sf_event *e, struct verdict *v)
{
	if (e->flags & SF_F_PROC)
		note_rst_out(c, e, SF_REASON_FIN_WAIT2_TIMEOUT);
	else
		note_rst_answer(c, e, SF_REASON_FIN_WAIT2_TIMEOUT);
	classify_reset(c, e, v);
}

static void classify_fin_wait2(struct conn *c, const struct sf_event *e, struct verdict *v)
{
	if (!(e->flags & SF_F_FIN_IN) && aborted_on_data(c, e)) {
		note_rst_answer(c, e, SF_REASON_ABORT_ON_DATA);
		classify_reset(c, e, v);
		return;
	}
	if (!(e->flags & SF_F_FIN_IN) && has_facts(e) && e->xflags & SF_X_LINGER2_NEG) {
		no_fin_wait2(c, e, v);
		return;
	}
	if (!saw_close(c, HAVE_FIN_OUT | HAVE_ACK_IN))
		return;
	v->closer = c->closer;
	v->time_wait = true;
	v->half_close = e->data_segs_in != c->data_mark;
	if (!(e->flags & SF_F_FIN_IN)) {
		/* handed to a FIN_WAIT2 mini-socket: the ACK came without a FIN */
		v->close = SF_CLOSE_FOUR_WAY;
		v->fw2_handoff = true;
		return;
	}
	note_fin_in(c, e);
	/* the ACK of our FIN and the peer's FIN in one segment */
	if (e->segs_in == c->segs_mark) {
		v->close = SF_CLOSE_THREE_WAY;
		c->have &= ~HAVE_ACK_IN;
	} else {
		v->close = SF_CLOSE_FOUR_WAY;
	}
}

static void classify_last_ack(struct conn *c, const struct sf_event *e, struct verdict *v)
{
	if (!saw_close(c, HAVE_FIN_OUT | HAVE_FIN_IN))
		return;
	v->closer = c->closer;
	v->half_close = c->have & HAVE_HALF;
	if (e->snd_una != c->fin_out_seq + 1) {
		v->close = SF_CLOSE_ABORTED; /* our FIN was never acknowledged */
		if (timed_out(e))
			v->reason = timeout_reason(e);
	} else
		v->close = c->have & HAVE_ACK_OUT ? SF_CLOSE_FOUR_WAY : SF_CLOSE_THREE_WAY;
}

/*
 * No FIN exchange finished and no RST came first: a timer gave up (sk_err
 * set), or tcp_disconnect() (connect(AF_UNSPEC)) moved to CLOSE and sends a
 * RST after, where tcp_need_reset() says so.
 */
static void classify_gave_up(struct conn *c, const struct sf_event *e, struct verdict *v)
{
	if (has_facts(e) && !e->sk_err && e->flags & SF_F_PROC && need_reset(e->oldstate)) {
		note_rst_out(c, e, SF_REASON_NONE);
		classify_reset(c, e, v);
		return;
	}
	v->close = SF_CLOSE_ABORTED;
	v->closer = SF_CLOSER_LOCAL;
	if (timed_out(e))
		v->reason = timeout_reason(e);
}

/* From a synchronized state, with no RST seen before the CLOSE. */
static void classify_ending(struct conn *c, const struct sf_event *e, struct verdict *v)
{
	switch (e->oldstate) {
	case SF_TCP_FIN_WAIT2:
		classify_fin_wait2(c, e, v);
		return;
	case SF_TCP_CLOSING:
		if (!saw_close(c, HAVE_FIN_OUT | HAVE_CLOSING))
			return;
		if (timed_out(e)) {
			/* our FIN was never acknowledged: no TIME_WAIT */
			classify_gave_up(c, e, v);
			return;
		}
		v->close = SF_CLOSE_SIMULTANEOUS;
		v->closer = SF_CLOSER_BOTH;
		v->time_wait = true;
		return;
	case SF_TCP_LAST_ACK:
		classify_last_ack(c, e, v);
		return;
	default:
		if (listener_closed(c, e)) {
			note_rst_out(c, e, SF_REASON_LISTENER_CLOSED);
			classify_reset(c, e, v);
			return;
		}
		classify_gave_up(c, e, v);
		return;
	}
}

static void classify(struct conn *c, const struct sf_event *e, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	note_abortive_close(c, e);
	if (e->oldstate == SF_TCP_SYN_SENT || e->oldstate == SF_TCP_SYN_RECV)
		classify_unopened(c, e, v);
	else if (c->have & (HAVE_RST_IN | HAVE_RST_OUT))
		classify_reset(c, e, v);
	else
		classify_ending(c, e, v);
}

/* Resets and retransmits of sockets not tracked (yet): a CLOSE may follow at once. */
static void remember_orphan_event(struct tracker *t, const struct sf_event *e)
{
	struct recent *r = &t->recent[t->nrecent++ % RECENT_EVENTS];

	r->skaddr = e->skaddr;
	r->ts_ns = e->ts_ns;
	r->kind = e->kind;
	r->seq = e->kind == SF_EV_RESET_TX ? e->snd_nxt : e->rcv_nxt;
	r->ack = e->rcv_nxt;
}

static void apply_reset(struct conn *c, uint8_t kind, uint32_t seq, uint32_t ack,
			const struct sf_event *e)
{
	if (kind == SF_EV_RESET_TX) {
		c->rst_seq = seq;
		c->rst_ack = ack;
		c->have |= HAVE_RST_OUT;
		return;
	}
	c->have |= HAVE_RST_IN;
	c->rst_in_seq = seq;
	if (e->oldstate != SF_TCP_SYN_SENT)
		return;
	/* a RST is accepted in SYN_SENT only if it acknowledges our SYN, with an
	 * ACK anywhere past it up to snd_nxt: exactly known without SYN data */
	c->have |= HAVE_RST_ACK;
	if (e->snd_nxt == e->snd_una + 1) {
		c->rst_in_ack = e->snd_nxt;
		c->have |= HAVE_RST_ACKV;
	}
}

static void adopt_recent(struct tracker *t, struct conn *c, const struct sf_event *e)
{
	for (unsigned int i = 0; i < RECENT_EVENTS; i++) {
		struct recent *r = &t->recent[i];

		if (r->skaddr != e->skaddr || r->ts_ns > e->ts_ns ||
		    e->ts_ns - r->ts_ns > RECENT_WINDOW_NS)
			continue;
		if (r->kind == SF_EV_RESET_TX || r->kind == SF_EV_RESET_RX)
			apply_reset(c, r->kind, r->seq, r->ack, e);
		r->skaddr = 0;
	}
}

static void transition_cb(struct tracker *t, const struct conn *c, const struct sf_event *e)
{
	struct sf_transition tr;

	if (!t->ops.on_transition)
		return;
	tr = (struct sf_transition){
		.ev = e,
		.us_in_old = -1,
		.laddr = e->saddr,
		.raddr = e->daddr,
		.lport = e->sport,
		.rport = e->dport,
	};
	if (c && c->rport) {
		tr.laddr = c->laddr;
		tr.raddr = c->raddr;
		tr.lport = c->lport;
		tr.rport = c->rport;
	}
	if (c) {
		uint64_t enter = c->enter_ns[c->nhops ? c->nhops - 1 : 0];

		tr.id = c->id;
		tr.role = c->role;
		tr.pid = c->pid;
		tr.comm = c->comm;
		if (c->nhops && enter && e->ts_ns >= enter)
			tr.us_in_old = (int64_t)((e->ts_ns - enter) / 1000);
	}
	t->ops.on_transition(&tr, t->ops.ctx);
}

static bool is_birth(unsigned int old, unsigned int new)
{
	return (old == SF_TCP_CLOSE && new == SF_TCP_SYN_SENT) ||
	       (old == SF_TCP_LISTEN && new == SF_TCP_SYN_RECV);
}

/* An address seen again without its CLOSE: the old socket is gone, unseen. */
static bool reused_unseen(const struct conn *c, const struct sf_event *e, bool birth)
{
	return birth || e->newstate == SF_TCP_LISTEN ||
	       (c->have & HAVE_COOKIE && e->cookie && e->cookie != c->cookie);
}

static void end_unseen(struct tracker *t, struct conn *c, const struct sf_event *e)
{
	c->gaps |= SF_GAP_ORDER;
	produce(t, c, &incomplete_verdict, NULL, e->ts_ns, false);
	conn_release(t, c);
}

/* A new endpoint, at its birth or first seen mid-life; NULL when the table is full. */
static struct conn *conn_start(struct tracker *t, const struct sf_event *e, bool birth)
{
	unsigned int old = e->oldstate;
	struct conn *c = conn_alloc(t, e);

	if (!c)
		return NULL;
	c->lost_seq = (uint32_t)e->lost_seq;
	if (birth) {
		c->role = e->newstate == SF_TCP_SYN_SENT ? SF_ROLE_CLIENT : SF_ROLE_SERVER;
		return c;
	}
	c->gaps |= SF_GAP_MIDLIFE;
	/* a loss before its first sight may have taken its birth */
	if (e->lost_seq)
		c->gaps |= SF_GAP_LOST;
	c->role = old == SF_TCP_SYN_SENT ? SF_ROLE_CLIENT :
		  old == SF_TCP_SYN_RECV ? SF_ROLE_SERVER :
					   SF_ROLE_UNKNOWN;
	conn_push_hop(c, old, 0);
	adopt_recent(t, c, e);
	return c;
}

/*
 * A child that lost the race for its request to a twin made on another CPU:
 * the kernel closes it before it is hashed. The twin is the connection; this
 * one never was, and tcpdump shows nothing of it. It loses in one of two
 * places: inet_ehash_nolisten(), which closes it with its port still held; or,
 * when the listener closed meanwhile, __inet_inherit_port(), after which
 * inet_csk_prepare_forced_close() marks it dead before its CLOSE. A real child
 * is never dead at a CLOSE straight from SYN_RECV: close() and
 * inet_child_forget() move it out of SYN_RECV before they orphan it.
 */
static bool discarded_twin(const struct conn *c, const struct sf_event *e)
{
	return e->oldstate == SF_TCP_SYN_RECV && e->flags & (SF_F_PORT_HELD | SF_F_ORPHAN) &&
	       c->role == SF_ROLE_SERVER && c->nhops == 1 && !(c->gaps & SF_GAP_MIDLIFE);
}

/* The transition to CLOSE: the lifecycle is complete. */
static void conn_close(struct tracker *t, struct conn *c, const struct sf_event *e)
{
	struct verdict v;

	if (discarded_twin(c, e)) {
		t->st.discarded++;
		conn_release(t, c);
		return;
	}
	classify(c, e, &v);
	produce(t, c, &v, e, e->ts_ns, false);
	conn_release(t, c);
}

static int on_state(struct tracker *t, const struct sf_event *e)
{
	unsigned int old = e->oldstate, new = e->newstate;
	bool birth = is_birth(old, new);
	struct conn *c = conn_lookup(t, e->skaddr);

	if (c && reused_unseen(c, e, birth)) {
		end_unseen(t, c, e);
		c = NULL;
	}
	/* listeners have no lifecycle, and a CLOSE of the unknown tells nothing */
	if (!c && !birth && (new == SF_TCP_LISTEN || old == SF_TCP_LISTEN || old == SF_TCP_CLOSE)) {
		t->st.ignored++;
		transition_cb(t, NULL, e);
		return 0;
	}
	if (!c) {
		c = conn_start(t, e, birth);
		if (!c) {
			t->st.untracked++;
			return 0;
		}
	} else if (c->state != old) {
		c->gaps |= SF_GAP_ORDER;
	}
	note_lost(c, e);
	conn_update_ident(c, e);
	transition_cb(t, c, e);
	note_seen(c, e);
	if (birth) {
		conn_push_hop(c, new, e->ts_ns);
		return 0;
	}
	/* close() after shutdown() sets the state again: no segment, nothing new */
	if (old == new)
		return 0;
	capture(t, c, e);
	if (new == SF_TCP_ESTABLISHED && e->cookie)
		c->have |= HAVE_COOKIE;
	if (new == SF_TCP_CLOSE)
		conn_close(t, c, e);
	else
		conn_push_hop(c, new, e->ts_ns);
	return 0;
}

static void note_synack(struct tracker *t, const struct sf_event *e)
{
	struct synack *s = synack_find(t, e->netns, e->sport, e->dport, e->daddr);

	if (!s) {
		s = &t->synacks[t->nsynacks++ % SYNACKS];
		if (!s->count)
			t->live_synacks++;
		*s = (struct synack){ .netns = e->netns, .lport = e->sport, .rport = e->dport };
		memcpy(s->raddr, e->daddr, 16);
	}
	if (s->count < UINT8_MAX)
		s->count++;
}

static void on_sk_event(struct tracker *t, const struct sf_event *e)
{
	struct conn *c;

	if (e->kind == SF_EV_RETRANS && e->flags & SF_F_SYNACK) {
		note_synack(t, e);
		return;
	}
	c = conn_lookup(t, e->skaddr);

	if (!c) {
		t->st.ignored++;
		remember_orphan_event(t, e);
		return;
	}
	note_lost(c, e);
	conn_update_ident(c, e);
	note_seen(c, e);
	switch (e->kind) {
	case SF_EV_RESET_TX:
		apply_reset(c, SF_EV_RESET_TX, e->snd_nxt, e->rcv_nxt, e);
		break;
	case SF_EV_RESET_RX:
		if (aborted_on_data(c, e))
			note_rst_answer(c, e, SF_REASON_ABORT_ON_DATA);
		else
			apply_reset(c, SF_EV_RESET_RX, e->rcv_nxt, 0, e);
		break;
	case SF_EV_RETRANS:
		if (e->tcp_flags & SF_TH_SYN && c->retrans_syn < UINT8_MAX)
			c->retrans_syn++;
		if (e->tcp_flags & SF_TH_FIN && c->retrans_fin < UINT8_MAX)
			c->retrans_fin++;
		break;
	}
}

static int conn_id_cmp(const void *a, const void *b)
{
	const struct conn *x = *(const struct conn *const *)a, *y = *(const struct conn *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

void tracker__flush(struct tracker *t, uint64_t ts_ns)
{
	struct conn **live;
	size_t n = 0;

	if (!t->st.live)
		return;
	live = malloc(t->st.live * sizeof(*live));
	if (!live) {
		/* out of memory: still hand out every lifecycle, in slot order */
		for (uint32_t i = 0; i < t->used; i++) {
			if (!t->conns[i].skaddr)
				continue;
			if (t->conns[i].lost_seq != (uint32_t)t->st.lost)
				t->conns[i].gaps |= SF_GAP_LOST;
			produce(t, &t->conns[i], &incomplete_verdict, NULL, ts_ns, true);
			conn_release(t, &t->conns[i]);
		}
		return;
	}
	for (uint32_t i = 0; i < t->used; i++) {
		struct conn *c = &t->conns[i];

		if (!c->skaddr)
			continue;
		/* events lost after its last one may have been its own */
		if (c->lost_seq != (uint32_t)t->st.lost)
			c->gaps |= SF_GAP_LOST;
		live[n++] = c;
	}
	/* creation order, so a replay flushes exactly as the live run did */
	qsort(live, n, sizeof(*live), conn_id_cmp);
	for (size_t i = 0; i < n; i++)
		produce(t, live[i], &incomplete_verdict, NULL, ts_ns, true);
	for (size_t i = 0; i < n; i++)
		conn_release(t, live[i]);
	free(live);
}

static bool event_valid(const struct sf_event *e)
{
	if (e->kind <= SF_EV_RETRANS) {
		if (e->family != 2 && e->family != 10)
			return false;
		if (e->oldstate >= SF_TCP_MAX_STATES || e->newstate >= SF_TCP_MAX_STATES)
			return false;
		if (!e->skaddr)
			return false;
	}
	return true;
}

/*
 * The kernel skipped program runs. A skipped state change shows by itself: the
 * next one does not start where the last ended (an order gap), a skipped birth
 * makes a mid-life start, a skipped close leaves the endpoint open. A skipped
 * reset or retransmission (SF_F_SILENT) shows nowhere, and may have been any
 * socket's: every endpoint alive now may miss it.
 */
static void note_missed(struct tracker *t, const struct sf_event *e)
{
	if (e->lost_seq > t->st.missed)
		t->st.missed = e->lost_seq;
	if (!(e->flags & SF_F_SILENT))
		return;
	for (uint32_t i = 0; i < t->used; i++)
		if (t->conns[i].skaddr)
			t->conns[i].gaps |= SF_GAP_LOST;
}

int tracker__feed(struct tracker *t, const struct sf_event *e)
{
	if (!event_valid(e))
		return -EINVAL;
	switch (e->kind) {
	case SF_EV_STATE:
		t->st.events++;
		return on_state(t, e);
	case SF_EV_RESET_TX:
	case SF_EV_RESET_RX:
	case SF_EV_RETRANS:
		t->st.events++;
		on_sk_event(t, e);
		return 0;
	case SF_EV_LOST:
		if (e->lost_seq > t->st.lost)
			t->st.lost = e->lost_seq;
		return 0;
	case SF_EV_MISSED:
		note_missed(t, e);
		return 0;
	case SF_EV_END:
		if (e->lost_seq > t->st.lost)
			t->st.lost = e->lost_seq;
		tracker__flush(t, e->ts_ns);
		return 0;
	default:
		return -EINVAL;
	}
}
