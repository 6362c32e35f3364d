// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "view.h"
#include "json.h"
#include "ladder.h"
#include "parse.h"
#include "names.h"
#include "who.h"

#define LINE_MAX_LEN 16384
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HOLD_NS 1000000000ull
#define MAX_HELD 4096

struct held {
	struct sf_lifecycle lc;
	bool match;
};

#define JBUF_SIZE (1 << 18)

struct view {
	struct view_opts o;
	/* JSON lines collect here and go out in large writes, past stdio's buffer */
	char *jbuf;
	size_t jlen;
	struct held *held; /* first-ended halves of local pairs */
	size_t nheld;
	uint64_t printed;
	bool header_done;
};

void sf_tcp_flags_str(char *buf, size_t len, uint8_t flags)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = { { SF_TH_SYN, "SYN" },
		      { SF_TH_FIN, "FIN" },
		      { SF_TH_RST, "RST" },
		      { SF_TH_ACK, "ACK" } };
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		off += snprintf(buf + off, len > off ? len - off : 0, "%s%s", off ? "," : "",
				names[i].name);
	}
}

void sf_endpoint_str(char *buf, size_t len, uint8_t family, const uint8_t *addr, uint16_t port)
{
	char a[SF_ADDRSTRLEN];

	sf_format_addr(a, sizeof(a), family, addr);
	if (family == 10)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

const char *sf_close_label(const struct sf_lifecycle *lc)
{
	return lc->alive ? "open" : sf_close_name(lc->close);
}

/*
 * The JSON of lifecycles is the hot path of --json and replay: written through
 * a bare pointer with memcpy and a hand-rolled integer writer, no printf and
 * no bounds checks. The caller provides SF_JSON_MAX bytes, more than the
 * longest lifecycle can take (the fuzzer and a unit test hold it to that).
 */
static inline __attribute__((always_inline)) char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, s) ((p) = put((p), (s), sizeof(s) - 1))

/* Names and addresses, a few bytes long: a byte loop beats calls to strlen and memcpy. */
static inline char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

/*
 * Integers left to right, two digits per table lookup, the magnitude found by
 * comparisons: no digit count, no division, one multiplication per two digits.
 */
static inline char *put2(char *p, uint32_t d)
{
	memcpy(p, &digit_pairs[d * 2], 2);
	return p + 2;
}

static inline char *put_lead(char *p, uint32_t d)
{
	if (d < 10) {
		*p = (char)('0' + d);
		return p + 1;
	}
	return put2(p, d);
}

/*
 * v / d in 32.32 fixed point, for d a power of 100 and v < 100 * d: the
 * integer part is v's leading one or two digits, and each multiplication of
 * the fraction by 100 brings the next two above bit 32. It is rounded up, by
 * less than 32 units of 2^-32 (the most, at v = 2^32 - 1, with the multiplier
 * 2^57 / d rounded up), where a digit would change only past 2^32 / d units.
 * Every 32-bit value was checked once against a division loop; test_output
 * sweeps the range.
 */
static inline uint64_t scaled(uint32_t v, uint64_t d)
{
	return ((uint64_t)v * ((1ull << 57) / d + 1) >> 25) + 1;
}

/* n pairs of digits from the fraction of f */
static inline char *put_pairs(char *p, uint64_t f, int n)
{
#pragma GCC unroll 4
	for (int i = 0; i < n; i++) {
		f = (uint32_t)f * 100ull;
		p = put2(p, (uint32_t)(f >> 32));
	}
	return p;
}

/* v < 100 * d: its leading digits, then n pairs (d = 100^n) */
static inline char *put_scaled(char *p, uint32_t v, uint64_t d, int n)
{
	uint64_t f = scaled(v, d);

	p = put_lead(p, (uint32_t)(f >> 32));
	return put_pairs(p, f, n);
}

/* v < 10^8 with its leading zeros */
static inline char *put8(char *p, uint32_t v)
{
	return put_pairs(p, scaled(v, 100000000), 4);
}

static char *put_u32(char *p, uint32_t v)
{
	if (v < 100)
		return put_lead(p, v);
	if (v < 10000)
		return put_scaled(p, v, 100, 1);
	if (v < 1000000)
		return put_scaled(p, v, 10000, 2);
	if (v < 100000000)
		return put_scaled(p, v, 1000000, 3);
	return put_scaled(p, v, 100000000, 4);
}

static char *put_u64_wide(char *p, uint64_t v)
{
	if (v < 10000000000000000ull) {
		p = put_u32(p, (uint32_t)(v / 100000000));
		return put8(p, (uint32_t)(v % 100000000));
	}
	p = put_u32(p, (uint32_t)(v / 10000000000000000ull));
	p = put8(p, (uint32_t)(v / 100000000 % 100000000));
	return put8(p, (uint32_t)(v % 100000000));
}

/* inline: most values fit in 32 bits, and go straight to put_u32 */
static inline char *put_u64(char *p, uint64_t v)
{
	return v <= UINT32_MAX ? put_u32(p, (uint32_t)v) : put_u64_wide(p, v);
}

/*
 * One member: its key, written ",\"key\":" at compile time, and its value.
 * Every member of a lifecycle follows another, "type" comes first.
 */
#define KEY(key) ",\"" key "\":"
#define PUT_KU64(p, key, v) (PUT_LIT(p, KEY(key)), (p) = put_u64((p), (v)))
#define PUT_KBOOL(p, key, v) (PUT_LIT(p, KEY(key)), (p) = put_bool((p), (v)))
#define PUT_KOPT(p, key, known, v) (PUT_LIT(p, KEY(key)), (p) = put_u64_or_null((p), (known), (v)))
#define PUT_KADDR(p, key, family, addr) \
	(PUT_LIT(p, KEY(key)), (p) = put_addr((p), (family), (addr)))
#define PUT_KQNAME(p, key, q) (PUT_LIT(p, KEY(key)), (p) = put_qname((p), (q)))

/*
 * The names of a lifecycle, quoted as written (or null), each in a slot of
 * one size: copied whole, with no length to find and no byte loop, then the
 * pointer moved by the name's length. The bytes copied past the name are
 * written over next, in the room SF_JSON_MAX keeps spare. Each table is
 * filled once, at start, from its accessor in names.c; those read through
 * QNAME_OF have one slot more, the accessor's answer for any value out of
 * range.
 */
struct qname {
	char s[31];
	unsigned char n;
};

#define QNAME_OF(t, v) (&(t)[(v) < ARRAY_SIZE(t) - 1 ? (v) : ARRAY_SIZE(t) - 1])

static struct qname q_state[SF_TCP_MAX_STATES + 1];
static struct qname q_role[SF_ROLE_COUNT + 1];
static struct qname q_close[SF_CLOSE_COUNT + 1];
static struct qname q_closer[SF_CLOSER_COUNT + 1];
static struct qname q_reason[SF_REASON_COUNT + 1];
static struct qname q_gap[SF_GAP_COUNT];
static struct qname q_flags[256];
static struct qname q_family[2]; /* ipv4, ipv6 */

/* "255.": the digits of an IPv4 address byte and a dot, copied as one word */
static struct {
	char s[4];
	unsigned char n;
} octets[256];

static inline char *put_qname(char *p, const struct qname *q)
{
	memcpy(p, q->s, sizeof(q->s));
	return p + q->n;
}

/* NULL: null */
static void qname_set(struct qname *q, const char *name)
{
	int n = name ? snprintf(q->s, sizeof(q->s), "\"%s\"", name) :
		       snprintf(q->s, sizeof(q->s), "null");

	q->n = (unsigned char)(n < (int)sizeof(q->s) ? n : (int)sizeof(q->s) - 1);
}

static void qnames_fill(struct qname *t, unsigned int n, const char *(*name)(unsigned int))
{
	for (unsigned int i = 0; i < n; i++)
		qname_set(&t[i], name(i));
}

static const char *family_name(uint8_t family)
{
	return family == 10 ? "ipv6" : "ipv4";
}

__attribute__((constructor)) static void json_tables_init(void)
{
	char fl[24];

	qnames_fill(q_state, ARRAY_SIZE(q_state), sf_state_name);
	qnames_fill(q_role, ARRAY_SIZE(q_role), sf_role_name);
	qnames_fill(q_close, ARRAY_SIZE(q_close), sf_close_name);
	qnames_fill(q_closer, ARRAY_SIZE(q_closer), sf_closer_name);
	qnames_fill(q_reason, ARRAY_SIZE(q_reason), sf_reason_name);
	qnames_fill(q_gap, ARRAY_SIZE(q_gap), sf_gap_name);
	for (unsigned int i = 0; i < ARRAY_SIZE(q_flags); i++) {
		sf_tcp_flags_str(fl, sizeof(fl), (uint8_t)i);
		qname_set(&q_flags[i], fl);
	}
	qname_set(&q_family[0], family_name(2));
	qname_set(&q_family[1], family_name(10));
	for (unsigned int i = 0; i < ARRAY_SIZE(octets); i++) {
		char *e = put_u32(octets[i].s, i);

		*e++ = '.';
		octets[i].n = (unsigned char)(e - octets[i].s);
	}
}

/* quoted */
static char *put_addr(char *p, uint8_t family, const uint8_t *addr)
{
	char a[SF_ADDRSTRLEN];

	*p++ = '"';
	if (family == 10) {
		sf_format_addr(a, sizeof(a), family, addr);
		p = put_str(p, a);
		*p++ = '"';
		return p;
	}
	for (int i = 0; i < 4; i++) {
		memcpy(p, octets[addr[i]].s, 4);
		p += octets[addr[i]].n;
	}
	p[-1] = '"'; /* over the last dot */
	return p;
}

static char *put_bool(char *p, bool v)
{
	if (v)
		PUT_LIT(p, "true");
	else
		PUT_LIT(p, "false");
	return p;
}

static char *put_u64_or_null(char *p, bool known, uint64_t v)
{
	if (known)
		return put_u64(p, v);
	PUT_LIT(p, "null");
	return p;
}

static char *put_wave(char *p, const struct sf_wave *w)
{
	if (w->dir == SF_DIR_OUT)
		PUT_LIT(p, "{\"dir\":\"out\"" KEY("flags"));
	else
		PUT_LIT(p, "{\"dir\":\"in\"" KEY("flags"));
	p = put_qname(p, &q_flags[w->flags]);
	PUT_KOPT(p, "seq", w->has_seq, w->seq);
	PUT_KOPT(p, "ack", w->has_ack, w->ack);
	PUT_KQNAME(p, "state", QNAME_OF(q_state, w->state));
	*p++ = '}';
	return p;
}

static char *put_waves(char *p, const struct sf_wave *w, int n)
{
	*p++ = '[';
	for (int i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		p = put_wave(p, &w[i]);
	}
	*p++ = ']';
	return p;
}

/* Who it belongs to, when a live command resolves it (replay does not). */
static char *put_who(char *p, const struct sf_lifecycle *lc)
{
	struct sf_sb b;

	if (!sf_who_resolving())
		return p;
	*p++ = ',';
	b = SF_SB_FIXED(p, SF_WHO_JSON_MAX);
	sf_who_json(&b, sf_who(lc->cgroup_id, lc->netns, lc->end_ns));
	return p + b.len;
}

/* Which socket, where, whose. */
static char *put_identity(char *p, const struct sf_lifecycle *lc)
{
	PUT_KU64(p, "id", lc->id);
	PUT_KOPT(p, "pair", lc->pair, lc->pair);
	PUT_KU64(p, "cookie", lc->cookie);
	PUT_KU64(p, "netns", lc->netns);
	p = put_who(p, lc);
	PUT_KU64(p, "cgroup", lc->cgroup_id);
	PUT_KU64(p, "sock_ino", lc->sock_ino);
	PUT_KQNAME(p, "family", &q_family[lc->family == 10]);
	PUT_KADDR(p, "laddr", lc->family, lc->laddr);
	PUT_KU64(p, "lport", lc->lport);
	PUT_KADDR(p, "raddr", lc->family, lc->raddr);
	PUT_KU64(p, "rport", lc->rport);
	PUT_KQNAME(p, "role", QNAME_OF(q_role, lc->role));
	PUT_KU64(p, "pid", lc->pid);
	PUT_LIT(p, KEY("comm"));
	return sf_json_put_str(p, lc->comm, SF_COMM_LEN);
}

/* When it lived and how it ended. */
static char *put_ending(char *p, const struct sf_lifecycle *lc)
{
	PUT_KU64(p, "start_ns", lc->start_ns);
	PUT_KU64(p, "end_ns", lc->end_ns);
	PUT_KBOOL(p, "alive", lc->alive);
	PUT_KOPT(p, "handshake_us", lc->handshake_us >= 0, (uint64_t)lc->handshake_us);
	PUT_KQNAME(p, "close", QNAME_OF(q_close, lc->close));
	PUT_KQNAME(p, "closer", QNAME_OF(q_closer, lc->closer));
	PUT_KQNAME(p, "reason", QNAME_OF(q_reason, lc->reason));
	PUT_KBOOL(p, "time_wait", lc->time_wait);
	PUT_KBOOL(p, "fw2_handoff", lc->fw2_handoff);
	PUT_KBOOL(p, "half_close", lc->half_close);
	PUT_KQNAME(p, "last_state", QNAME_OF(q_state, lc->last_state));
	return p;
}

static char *put_gaps(char *p, const struct sf_lifecycle *lc)
{
	bool first = true;

	PUT_LIT(p, KEY("gaps") "[");
	for (unsigned int i = 0; i < SF_GAP_COUNT; i++) {
		if (!(lc->gaps & (1u << i)))
			continue;
		if (!first)
			*p++ = ',';
		p = put_qname(p, &q_gap[i]);
		first = false;
	}
	*p++ = ']';
	return p;
}

static char *put_hops(char *p, const struct sf_lifecycle *lc)
{
	PUT_LIT(p, KEY("states") "[");
	for (int i = 0; i < lc->nhops && i < SF_MAX_HOPS; i++) {
		if (i)
			*p++ = ',';
		PUT_LIT(p, "{\"state\":");
		p = put_qname(p, QNAME_OF(q_state, lc->hops[i].state));
		PUT_KOPT(p, "us", lc->hops[i].known_us, lc->hops[i].us);
		*p++ = '}';
	}
	*p++ = ']';
	return p;
}

/* The tcp_sock counters at the close: none while it lives. */
static char *put_counters(char *p, const struct sf_lifecycle *lc)
{
	bool ended = !lc->alive, health = ended && lc->health;

	PUT_KOPT(p, "segs_in", ended, lc->segs_in);
	PUT_KOPT(p, "segs_out", ended, lc->segs_out);
	PUT_KOPT(p, "bytes_received", ended, lc->bytes_received);
	PUT_KOPT(p, "bytes_acked", ended, lc->bytes_acked);
	PUT_KOPT(p, "bytes_sent", health, lc->bytes_sent);
	PUT_KU64(p, "retrans_syn", lc->retrans_syn);
	PUT_KU64(p, "retrans_fin", lc->retrans_fin);
	PUT_KOPT(p, "retrans", health, lc->retrans);
	PUT_KOPT(p, "srtt_us", ended && lc->srtt_us, lc->srtt_us);
	PUT_KOPT(p, "min_rtt_us", health && lc->min_rtt_us, lc->min_rtt_us);
	return p;
}

size_t sf_lifecycle_json(char *buf, size_t len, const struct sf_lifecycle *lc)
{
	char *p = buf;

	if (len < SF_JSON_MAX) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	PUT_LIT(p, "{\"type\":\"connection\"");
	p = put_identity(p, lc);
	p = put_ending(p, lc);
	p = put_gaps(p, lc);
	p = put_hops(p, lc);
	PUT_LIT(p, KEY("handshake"));
	p = put_waves(p, lc->open, lc->nopen < SF_MAX_OPEN ? lc->nopen : SF_MAX_OPEN);
	PUT_LIT(p, KEY("waves"));
	p = put_waves(p, lc->waves, lc->nwaves < SF_MAX_WAVES ? lc->nwaves : SF_MAX_WAVES);
	p = put_counters(p, lc);
	*p++ = '}';
	*p = 0;
	return (size_t)(p - buf);
}

int view__new(struct view **out, const struct view_opts *opts)
{
	struct view *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->o = *opts;
	v->jbuf = malloc(JBUF_SIZE);
	if (!v->jbuf) {
		free(v);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

void view__free(struct view *v)
{
	if (!v)
		return;
	free(v->held);
	free(v->jbuf);
	free(v);
}

/* The -T column: "" without -T. */
static void wall_time(const struct view *v, uint64_t mono_ns, char *buf, size_t len)
{
	int64_t ns = (int64_t)mono_ns + v->o.realtime_offset_ns;
	time_t secs = (time_t)(ns / 1000000000);
	struct tm tm;

	buf[0] = 0;
	if (!v->o.timestamps)
		return;
	localtime_r(&secs, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03d ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((ns % 1000000000) / 1000000));
}

/* The width of the column before WORKLOAD: none (the line ends there) without it. */
static int last_width(int width)
{
	return sf_who_resolving() ? width : 0;
}

static void lines_header(struct view *v)
{
	if (v->header_done)
		return;
	v->header_done = true;
	fprintf(v->o.out, "%s%-7s %-15s %-24s %-24s %-7s %8s %9s %-12s %-6s %-*s",
		v->o.timestamps ? "TIME         " : "", "PID", "COMM", "LOCAL", "REMOTE", "ROLE",
		"HS_US", "MS", "CLOSE", "CLOSER", last_width(9), "TIME_WAIT");
	fprintf(v->o.out, "%s\n", sf_who_resolving() ? " WORKLOAD" : "");
}

static void fmt_ms(char *buf, size_t len, const struct sf_lifecycle *lc)
{
	if (!lc->start_ns || lc->end_ns < lc->start_ns)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f", (double)(lc->end_ns - lc->start_ns) / 1e6);
}

static void fmt_hs(char *buf, size_t len, const struct sf_lifecycle *lc)
{
	if (lc->handshake_us < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRId64, lc->handshake_us);
}

/* One row of the lines view: lc's endpoints and times; who's process; the rest as given. */
/* A process name as the text views print it: escaped, "-" when there is none. */
static const char *comm_text(const char *comm, char *buf, size_t len)
{
	return comm && comm[0] ? sf_text_safe(comm, SF_COMM_LEN, buf, len) : "-";
}

/* The WORKLOAD column, last, when a live command resolves it; then the end of the line. */
static void workload_column(struct view *v, uint64_t cgroup_id, uint32_t netns, uint64_t ts_ns)
{
	char label[SF_WHO_LABEL_LEN];

	if (sf_who_resolving())
		fprintf(v->o.out, " %s",
			sf_who_label(sf_who(cgroup_id, netns, ts_ns), label, sizeof(label)));
	fputc('\n', v->o.out);
}

static void print_row(struct view *v, const struct sf_lifecycle *lc, uint64_t end_ns,
		      const struct sf_lifecycle *who, const char *role, const char *closer,
		      const char *time_wait)
{
	char l[64], r[64], ms[32], hs[32], ts[32], comm[SF_TEXT_SAFE_LEN(SF_COMM_LEN)];

	lines_header(v);
	sf_endpoint_str(l, sizeof(l), lc->family, lc->laddr, lc->lport);
	sf_endpoint_str(r, sizeof(r), lc->family, lc->raddr, lc->rport);
	fmt_ms(ms, sizeof(ms), lc);
	fmt_hs(hs, sizeof(hs), lc);
	wall_time(v, end_ns, ts, sizeof(ts));
	fprintf(v->o.out, "%s%-7" PRIu32 " %-15s %-24s %-24s %-7s %8s %9s %-12s %-6s %-*s", ts,
		who->pid, comm_text(who->comm, comm, sizeof(comm)), l, r, role, hs, ms,
		sf_close_label(lc), closer, last_width(9), time_wait);
	workload_column(v, who->cgroup_id, who->netns, who->end_ns);
}

static void print_line_single(struct view *v, const struct sf_lifecycle *lc)
{
	print_row(v, lc, lc->end_ns, lc, sf_role_name(lc->role), sf_closer_name(lc->closer),
		  lc->time_wait ? "yes" : "no");
}

/* The closer named by its side: a is the client (or the first), b the server. */
static const char *pair_closer(const struct sf_lifecycle *a, const char *an, const char *bn)
{
	switch (a->closer) {
	case SF_CLOSER_LOCAL:
		return an;
	case SF_CLOSER_PEER:
		return bn;
	case SF_CLOSER_BOTH:
		return "both";
	default:
		return "none";
	}
}

static void print_line_pair(struct view *v, const struct sf_lifecycle *a,
			    const struct sf_lifecycle *b)
{
	const char *an = a->role == SF_ROLE_SERVER ? "server" : "client";
	const char *bn = a->role == SF_ROLE_SERVER ? "client" : "server";
	const char *tw = a->time_wait && b->time_wait ? "both" :
			 a->time_wait		      ? an :
			 b->time_wait		      ? bn :
							"no";

	print_row(v, a, a->end_ns > b->end_ns ? a->end_ns : b->end_ns, a->pid ? a : b, "pair",
		  pair_closer(a, an, bn), tw);
}

/* The client on the left, as the seeds draw it. */
static void client_first(const struct sf_lifecycle **a, const struct sf_lifecycle **b)
{
	const struct sf_lifecycle *x = *a;

	if (*b && (*b)->role == SF_ROLE_CLIENT && x->role != SF_ROLE_CLIENT) {
		*a = *b;
		*b = x;
	}
}

void sf_print_ladder(FILE *out, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	client_first(&a, &b);
	sf_ladder_print(out, "", a, b);
}

/* b: the other local endpoint, or NULL */
static void show(struct view *v, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	char ts[32];

	client_first(&a, &b);
	if (v->o.mode == SF_VIEW_LADDER) {
		wall_time(v, a->end_ns, ts, sizeof(ts));
		sf_ladder_print(v->o.out, ts, a, b);
	} else if (b) {
		print_line_pair(v, a, b);
	} else {
		print_line_single(v, a);
	}
	v->printed++;
}

static void release_held(struct view *v, size_t i)
{
	if (v->held[i].match)
		show(v, &v->held[i].lc, NULL);
	v->held[i] = v->held[--v->nheld];
}

void view__flush(struct view *v)
{
	if (!v->jlen)
		return;
	fflush(v->o.out);
	fwrite(v->jbuf, 1, v->jlen, v->o.out);
	v->jlen = 0;
}

/* Room for one more JSON line, flushing first when the buffer is nearly full. */
static char *json_slot(struct view *v)
{
	if (v->jlen + LINE_MAX_LEN > JBUF_SIZE)
		view__flush(v);
	return v->jbuf + v->jlen;
}

static void lifecycle_json(struct view *v, const struct sf_lifecycle *lc)
{
	char *dst = json_slot(v);
	size_t n = sf_lifecycle_json(dst, LINE_MAX_LEN - 1, lc);

	dst[n++] = '\n';
	v->jlen += n;
	v->printed++;
}

/* The held first half of lc's pair, or NULL. */
static struct held *held_partner(struct view *v, const struct sf_lifecycle *lc)
{
	for (size_t i = 0; i < v->nheld; i++)
		if (v->held[i].lc.pair == lc->pair)
			return &v->held[i];
	return NULL;
}

/* Holds lc until its partner ends; false when there is no room. */
static bool hold(struct view *v, const struct sf_lifecycle *lc, bool match)
{
	struct held *h;

	if (v->nheld == MAX_HELD)
		release_held(v, 0);
	if (!v->held) {
		v->held = calloc(MAX_HELD, sizeof(*v->held));
		if (!v->held)
			return false;
	}
	h = &v->held[v->nheld++];
	h->lc = *lc;
	h->match = match;
	return true;
}

void view__lifecycle(struct view *v, const struct sf_lifecycle *lc, bool match)
{
	struct held *h;

	if (v->o.mode == SF_VIEW_JSON) {
		if (match)
			lifecycle_json(v, lc);
		return;
	}
	if (v->o.mode == SF_VIEW_STATES)
		return;
	h = lc->pair ? held_partner(v, lc) : NULL;
	if (h) {
		if (match || h->match)
			show(v, &h->lc, lc);
		*h = v->held[--v->nheld];
		return;
	}
	if (lc->pair && lc->peer_state && !lc->alive && hold(v, lc, match))
		return;
	if (match)
		show(v, lc, NULL);
}

void view__advance(struct view *v, uint64_t now_ns)
{
	for (size_t i = 0; i < v->nheld;) {
		if (now_ns > v->held[i].lc.end_ns + HOLD_NS)
			release_held(v, i);
		else
			i++;
	}
}

/* {"type":"state"} lines among the lifecycles of --json --states */
static void transition_json(struct view *v, const struct sf_transition *tr)
{
	const struct sf_event *e = tr->ev;
	struct sf_sb b = SF_SB_FIXED(json_slot(v), LINE_MAX_LEN);
	char la[SF_ADDRSTRLEN], ra[SF_ADDRSTRLEN];

	sf_format_addr(la, sizeof(la), e->family, tr->laddr);
	sf_format_addr(ra, sizeof(ra), e->family, tr->raddr);
	sf_sb_puts(&b, "{");
	sf_json_kstr(&b, "type", "state");
	sf_json_ku64(&b, "ts_ns", e->ts_ns);
	sf_json_ku64(&b, "id", tr->id);
	sf_json_ku64(&b, "cookie", e->cookie);
	sf_json_kstr(&b, "family", family_name(e->family));
	sf_json_kstr(&b, "laddr", la);
	sf_json_ku64(&b, "lport", tr->lport);
	sf_json_kstr(&b, "raddr", ra);
	sf_json_ku64(&b, "rport", tr->rport);
	if (sf_who_resolving()) {
		sf_json_ku64(&b, "netns", e->netns);
		sf_who_json(&b, sf_who(e->cgroup_id, e->netns, e->ts_ns));
	}
	sf_json_kstr(&b, "old", sf_state_name(e->oldstate));
	sf_json_kstr(&b, "new", sf_state_name(e->newstate));
	if (tr->us_in_old >= 0)
		sf_json_ki64(&b, "us_in_old", tr->us_in_old);
	else
		sf_json_knull(&b, "us_in_old");
	sf_json_kbool(&b, "proc", e->flags & SF_F_PROC);
	sf_json_ku64(&b, "pid", tr->pid);
	sf_json_key(&b, "comm");
	sf_json_str(&b, tr->comm ? tr->comm : "", SF_COMM_LEN);
	sf_sb_puts(&b, "}\n");
	v->jlen += b.len;
}

static void transition_line(struct view *v, const struct sf_transition *tr)
{
	const struct sf_event *e = tr->ev;
	char l[64], r[64], ts[32], dur[32], comm[SF_TEXT_SAFE_LEN(SF_COMM_LEN)];

	if (!v->header_done) {
		v->header_done = true;
		fprintf(v->o.out, "%s%-7s %-15s %-24s %-24s %-11s -> %-11s %10s%s\n",
			v->o.timestamps ? "TIME         " : "", "PID", "COMM", "LOCAL", "REMOTE",
			"OLDSTATE", "NEWSTATE", "MS", sf_who_resolving() ? " WORKLOAD" : "");
	}
	sf_endpoint_str(l, sizeof(l), e->family, tr->laddr, tr->lport);
	sf_endpoint_str(r, sizeof(r), e->family, tr->raddr, tr->rport);
	wall_time(v, e->ts_ns, ts, sizeof(ts));
	if (tr->us_in_old >= 0)
		snprintf(dur, sizeof(dur), "%.3f", (double)tr->us_in_old / 1000.0);
	else
		snprintf(dur, sizeof(dur), "-");
	fprintf(v->o.out, "%s%-7" PRIu32 " %-15s %-24s %-24s %-11s -> %-11s %10s", ts, tr->pid,
		comm_text(tr->comm, comm, sizeof(comm)), l, r, sf_state_name(e->oldstate),
		sf_state_name(e->newstate), dur);
	workload_column(v, e->cgroup_id, e->netns, e->ts_ns);
	v->printed++;
}

void view__transition(struct view *v, const struct sf_transition *tr, bool match)
{
	if (!match || (v->o.mode != SF_VIEW_STATES && !v->o.json_states))
		return;
	if (v->o.mode == SF_VIEW_JSON)
		transition_json(v, tr);
	else
		transition_line(v, tr);
}

void view__finish(struct view *v, const struct tracker_stats *st)
{
	while (v->nheld)
		release_held(v, 0);
	view__flush(v);
	if (v->o.mode == SF_VIEW_JSON)
		fprintf(v->o.out,
			"{\"type\":\"summary\",\"events\":%" PRIu64 ",\"lost\":%" PRIu64
			",\"missed\":%" PRIu64 ",\"connections\":%" PRIu64 ",\"untracked\":%" PRIu64
			"}\n",
			st->events, st->lost, st->missed, v->printed, st->untracked);
	/* on stderr in every view, so it is seen when stdout goes elsewhere */
	fprintf(stderr,
		"synfin: %" PRIu64 " events, %" PRIu64 " lost, %" PRIu64 " missed, %" PRIu64
		" %s shown",
		st->events, st->lost, st->missed, v->printed,
		v->o.mode == SF_VIEW_STATES ? "transitions" : "connections");
	if (st->untracked)
		fprintf(stderr, ", %" PRIu64 " events of endpoints past --max-conns untracked",
			st->untracked);
	if (st->discarded)
		fprintf(stderr, ", %" PRIu64 " twin child sockets the kernel discarded at birth",
			st->discarded);
	fprintf(stderr, "\n");
}
