// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "view.h"
#include "parse.h"
#include "names.h"

#define LINE_MAX_LEN 8192
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
	char line[LINE_MAX_LEN];
};

struct sb {
	char *p;
	size_t len;
	size_t cap;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->len += (size_t)n;
	if (b->len >= b->cap)
		b->len = b->cap - 1;
}

static void flags_str(char *buf, size_t len, uint8_t flags)
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

static char *put_str(char *p, const char *s)
{
	return put(p, s, strlen(s));
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

/*
 * Integers left to right, two digits per table lookup, the magnitude found by
 * comparisons: no digit count, no loop, only divisions by constants.
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

static inline char *put4(char *p, uint32_t d)
{
	p = put2(p, d / 100);
	return put2(p, d % 100);
}

static inline char *put8(char *p, uint32_t d)
{
	p = put4(p, d / 10000);
	return put4(p, d % 10000);
}

static char *put_u32(char *p, uint32_t v)
{
	if (v < 100)
		return put_lead(p, v);
	if (v < 10000) {
		p = put_lead(p, v / 100);
		return put2(p, v % 100);
	}
	if (v < 1000000) {
		p = put_lead(p, v / 10000);
		return put4(p, v % 10000);
	}
	if (v < 100000000) {
		p = put_lead(p, v / 1000000);
		p = put2(p, v / 10000 % 100);
		return put4(p, v % 10000);
	}
	p = put_lead(p, v / 100000000);
	return put8(p, v % 100000000);
}

static char *put_u64(char *p, uint64_t v)
{
	if (v <= UINT32_MAX)
		return put_u32(p, (uint32_t)v);
	if (v < 10000000000000000ull) {
		p = put_u32(p, (uint32_t)(v / 100000000));
		return put8(p, (uint32_t)(v % 100000000));
	}
	p = put_u32(p, (uint32_t)(v / 10000000000000000ull));
	p = put8(p, (uint32_t)(v / 100000000 % 100000000));
	return put8(p, (uint32_t)(v % 100000000));
}

/* At most 2 + 6 * max bytes. */
static char *put_json_str(char *p, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '"';
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			PUT_LIT(p, "\\u00");
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	return p;
}

static void sb_json_str(struct sb *b, const char *s, size_t max)
{
	if (b->len + 2 + 6 * max >= b->cap)
		return;
	b->len = (size_t)(put_json_str(b->p + b->len, s, max) - b->p);
}

static char *put_addr(char *p, uint8_t family, const uint8_t *addr)
{
	char a[SF_ADDRSTRLEN];

	if (family == 10) {
		sf_format_addr(a, sizeof(a), family, addr);
		return put_str(p, a);
	}
	for (int i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_u32(p, addr[i]);
	}
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

static const char *flags_name(uint8_t flags)
{
	switch (flags) {
	case SF_TH_SYN:
		return "SYN";
	case SF_TH_SYN | SF_TH_ACK:
		return "SYN,ACK";
	case SF_TH_ACK:
		return "ACK";
	case SF_TH_FIN | SF_TH_ACK:
		return "FIN,ACK";
	case SF_TH_FIN:
		return "FIN";
	case SF_TH_RST | SF_TH_ACK:
		return "RST,ACK";
	case SF_TH_RST:
		return "RST";
	default:
		return NULL;
	}
}

static char *put_waves(char *p, const struct sf_wave *w, int n)
{
	char fl[24];

	*p++ = '[';
	for (int i = 0; i < n; i++) {
		const char *name = flags_name(w[i].flags);

		if (!name) {
			flags_str(fl, sizeof(fl), w[i].flags);
			name = fl;
		}
		if (i)
			*p++ = ',';
		if (w[i].dir == SF_DIR_OUT)
			PUT_LIT(p, "{\"dir\":\"out\",\"flags\":\"");
		else
			PUT_LIT(p, "{\"dir\":\"in\",\"flags\":\"");
		p = put_str(p, name);
		PUT_LIT(p, "\",\"seq\":");
		p = put_u64_or_null(p, w[i].has_seq, w[i].seq);
		PUT_LIT(p, ",\"ack\":");
		p = put_u64_or_null(p, w[i].has_ack, w[i].ack);
		PUT_LIT(p, ",\"state\":\"");
		p = put_str(p, sf_state_name(w[i].state));
		PUT_LIT(p, "\"}");
	}
	*p++ = ']';
	return p;
}

static const char *family_name(uint8_t family)
{
	return family == 10 ? "ipv6" : "ipv4";
}

size_t sf_lifecycle_json(char *buf, size_t len, const struct sf_lifecycle *lc)
{
	char *p = buf;
	bool first = true;

	if (len < SF_JSON_MAX) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	PUT_LIT(p, "{\"type\":\"connection\",\"id\":");
	p = put_u64(p, lc->id);
	PUT_LIT(p, ",\"pair\":");
	p = put_u64_or_null(p, lc->pair, lc->pair);
	PUT_LIT(p, ",\"cookie\":");
	p = put_u64(p, lc->cookie);
	PUT_LIT(p, ",\"netns\":");
	p = put_u64(p, lc->netns);
	PUT_LIT(p, ",\"cgroup\":");
	p = put_u64(p, lc->cgroup_id);
	PUT_LIT(p, ",\"sock_ino\":");
	p = put_u64(p, lc->sock_ino);
	PUT_LIT(p, ",\"family\":\"");
	p = put_str(p, family_name(lc->family));
	PUT_LIT(p, "\",\"laddr\":\"");
	p = put_addr(p, lc->family, lc->laddr);
	PUT_LIT(p, "\",\"lport\":");
	p = put_u64(p, lc->lport);
	PUT_LIT(p, ",\"raddr\":\"");
	p = put_addr(p, lc->family, lc->raddr);
	PUT_LIT(p, "\",\"rport\":");
	p = put_u64(p, lc->rport);
	PUT_LIT(p, ",\"role\":\"");
	p = put_str(p, sf_role_name(lc->role));
	PUT_LIT(p, "\",\"pid\":");
	p = put_u64(p, lc->pid);
	PUT_LIT(p, ",\"comm\":");
	p = put_json_str(p, lc->comm, SF_COMM_LEN);
	PUT_LIT(p, ",\"start_ns\":");
	p = put_u64(p, lc->start_ns);
	PUT_LIT(p, ",\"end_ns\":");
	p = put_u64(p, lc->end_ns);
	PUT_LIT(p, ",\"alive\":");
	p = put_bool(p, lc->alive);
	PUT_LIT(p, ",\"handshake_us\":");
	p = put_u64_or_null(p, lc->handshake_us >= 0, (uint64_t)lc->handshake_us);
	PUT_LIT(p, ",\"close\":\"");
	p = put_str(p, sf_close_name(lc->close));
	PUT_LIT(p, "\",\"closer\":\"");
	p = put_str(p, sf_closer_name(lc->closer));
	PUT_LIT(p, "\",\"time_wait\":");
	p = put_bool(p, lc->time_wait);
	PUT_LIT(p, ",\"fw2_handoff\":");
	p = put_bool(p, lc->fw2_handoff);
	PUT_LIT(p, ",\"half_close\":");
	p = put_bool(p, lc->half_close);
	PUT_LIT(p, ",\"last_state\":\"");
	p = put_str(p, sf_state_name(lc->last_state));
	PUT_LIT(p, "\",\"gaps\":[");
	for (unsigned int i = 0; i < SF_GAP_COUNT; i++) {
		if (!(lc->gaps & (1u << i)))
			continue;
		if (!first)
			*p++ = ',';
		*p++ = '"';
		p = put_str(p, sf_gap_name(i));
		*p++ = '"';
		first = false;
	}
	PUT_LIT(p, "],\"states\":[");
	for (int i = 0; i < lc->nhops && i < SF_MAX_HOPS; i++) {
		if (i)
			*p++ = ',';
		PUT_LIT(p, "{\"state\":\"");
		p = put_str(p, sf_state_name(lc->hops[i].state));
		PUT_LIT(p, "\",\"us\":");
		p = put_u64_or_null(p, lc->hops[i].known_us, lc->hops[i].us);
		*p++ = '}';
	}
	PUT_LIT(p, "],\"handshake\":");
	p = put_waves(p, lc->open, lc->nopen < 3 ? lc->nopen : 3);
	PUT_LIT(p, ",\"waves\":");
	p = put_waves(p, lc->waves, lc->nwaves < SF_MAX_WAVES ? lc->nwaves : SF_MAX_WAVES);
	if (lc->alive) {
		PUT_LIT(p, ",\"segs_in\":null,\"segs_out\":null,\"bytes_received\":null,"
			   "\"bytes_acked\":null");
	} else {
		PUT_LIT(p, ",\"segs_in\":");
		p = put_u64(p, lc->segs_in);
		PUT_LIT(p, ",\"segs_out\":");
		p = put_u64(p, lc->segs_out);
		PUT_LIT(p, ",\"bytes_received\":");
		p = put_u64(p, lc->bytes_received);
		PUT_LIT(p, ",\"bytes_acked\":");
		p = put_u64(p, lc->bytes_acked);
	}
	PUT_LIT(p, ",\"retrans_syn\":");
	p = put_u64(p, lc->retrans_syn);
	PUT_LIT(p, ",\"retrans_fin\":");
	p = put_u64(p, lc->retrans_fin);
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

static void wall_time(const struct view *v, uint64_t mono_ns, char *buf, size_t len)
{
	int64_t ns = (int64_t)mono_ns + v->o.realtime_offset_ns;
	time_t secs = (time_t)(ns / 1000000000);
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03d ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((ns % 1000000000) / 1000000));
}

static void endpoint_str(char *buf, size_t len, uint8_t family, const uint8_t *addr, uint16_t port)
{
	char a[SF_ADDRSTRLEN];

	sf_format_addr(a, sizeof(a), family, addr);
	if (family == 10)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static void lines_header(struct view *v)
{
	if (v->header_done)
		return;
	v->header_done = true;
	fprintf(v->o.out, "%s%-7s %-15s %-24s %-24s %-7s %8s %9s %-12s %-6s %s\n",
		v->o.timestamps ? "TIME         " : "", "PID", "COMM", "LOCAL", "REMOTE", "ROLE",
		"HS_US", "MS", "CLOSE", "CLOSER", "TIME_WAIT");
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

static const char *close_label(const struct sf_lifecycle *lc)
{
	return lc->alive ? "open" : sf_close_name(lc->close);
}

static void print_line_single(struct view *v, const struct sf_lifecycle *lc)
{
	char l[64], r[64], ms[32], hs[32], ts[32] = "";

	lines_header(v);
	endpoint_str(l, sizeof(l), lc->family, lc->laddr, lc->lport);
	endpoint_str(r, sizeof(r), lc->family, lc->raddr, lc->rport);
	fmt_ms(ms, sizeof(ms), lc);
	fmt_hs(hs, sizeof(hs), lc);
	if (v->o.timestamps)
		wall_time(v, lc->end_ns, ts, sizeof(ts));
	fprintf(v->o.out, "%s%-7" PRIu32 " %-15s %-24s %-24s %-7s %8s %9s %-12s %-6s %s\n", ts,
		lc->pid, lc->comm[0] ? lc->comm : "-", l, r, sf_role_name(lc->role), hs, ms,
		close_label(lc), sf_closer_name(lc->closer), lc->time_wait ? "yes" : "no");
}

/* a = client (or the first), b = server: closer and TIME_WAIT named by side */
static void print_line_pair(struct view *v, const struct sf_lifecycle *a,
			    const struct sf_lifecycle *b)
{
	char l[64], r[64], ms[32], hs[32], ts[32] = "";
	const char *an = a->role == SF_ROLE_SERVER ? "server" : "client";
	const char *bn = a->role == SF_ROLE_SERVER ? "client" : "server";
	const char *closer, *tw;
	const struct sf_lifecycle *o = a->pid ? a : b;

	lines_header(v);
	endpoint_str(l, sizeof(l), a->family, a->laddr, a->lport);
	endpoint_str(r, sizeof(r), a->family, a->raddr, a->rport);
	fmt_ms(ms, sizeof(ms), a);
	fmt_hs(hs, sizeof(hs), a);
	if (v->o.timestamps)
		wall_time(v, a->end_ns > b->end_ns ? a->end_ns : b->end_ns, ts, sizeof(ts));
	switch (a->closer) {
	case SF_CLOSER_LOCAL:
		closer = an;
		break;
	case SF_CLOSER_PEER:
		closer = bn;
		break;
	case SF_CLOSER_BOTH:
		closer = "both";
		break;
	default:
		closer = "none";
	}
	tw = a->time_wait && b->time_wait ? "both" : a->time_wait ? an : b->time_wait ? bn : "no";
	fprintf(v->o.out, "%s%-7" PRIu32 " %-15s %-24s %-24s %-7s %8s %9s %-12s %-6s %s\n", ts,
		o->pid, o->comm[0] ? o->comm : "-", l, r, "pair", hs, ms, close_label(a), closer,
		tw);
}

/* ---- ladder ---- */

#define LADDER_W 50

struct row {
	const struct sf_wave *w; /* from the left endpoint's point of view */
	bool flip; /* w is the right endpoint's wave: reverse its direction */
	const char *left;
	const char *right;
};

static void wave_label(char *buf, size_t len, const struct sf_wave *w)
{
	char fl[24];
	size_t off;

	flags_str(fl, sizeof(fl), w->flags);
	off = snprintf(buf, len, "%s", fl);
	if (w->has_seq && off < len)
		off += snprintf(buf + off, len - off, " seq=%" PRIu32, w->seq);
	if (w->has_ack && off < len)
		snprintf(buf + off, len - off, " ack=%" PRIu32, w->ack);
}

static void print_arrow(struct view *v, const struct row *r)
{
	char label[64], arrow[LADDER_W + 1];
	bool right = (r->w->dir == SF_DIR_OUT) != r->flip;
	size_t n;

	wave_label(label, sizeof(label), r->w);
	memset(arrow, '-', LADDER_W);
	arrow[LADDER_W] = 0;
	n = strlen(label);
	if (n > LADDER_W - 8)
		n = LADDER_W - 8;
	memcpy(arrow + 4, label, n);
	arrow[3] = ' ';
	arrow[4 + n] = ' ';
	if (right)
		arrow[LADDER_W - 1] = '>';
	else
		arrow[0] = '<';
	fprintf(v->o.out, "  %12s  %s  %s\n", r->left ? r->left : "", arrow,
		r->right ? r->right : "");
}

static bool waves_match(const struct sf_wave *a, const struct sf_wave *b)
{
	/* the receiver of a RST cannot see its ACK bit */
	bool rst =
		(a->flags & SF_TH_RST) && (b->flags & SF_TH_RST) &&
		((a->flags == SF_TH_RST && !a->has_ack) || (b->flags == SF_TH_RST && !b->has_ack));

	return a->dir != b->dir && (a->flags == b->flags || rst) &&
	       (!a->has_seq || !b->has_seq || a->seq == b->seq);
}

static void endpoint_title(char *buf, size_t len, const struct sf_lifecycle *lc)
{
	char e[64];

	endpoint_str(e, sizeof(e), lc->family, lc->laddr, lc->lport);
	if (lc->pid)
		snprintf(buf, len, "%s %s (pid %" PRIu32 " %s)", sf_role_name(lc->role), e, lc->pid,
			 lc->comm);
	else
		snprintf(buf, len, "%s %s", sf_role_name(lc->role), e);
}

static void print_ladder(struct view *v, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	struct row rows[2 * (3 + SF_MAX_WAVES)];
	bool used[3 + SF_MAX_WAVES] = { false };
	const struct sf_wave *bw[3 + SF_MAX_WAVES];
	char lt[128], rt[128], ts[32] = "";
	int nrows = 0, nb = 0;

	for (int i = 0; i < a->nopen; i++)
		rows[nrows++] =
			(struct row){ &a->open[i], false, sf_state_name(a->open[i].state), NULL };
	for (int i = 0; i < a->nwaves; i++)
		rows[nrows++] =
			(struct row){ &a->waves[i], false, sf_state_name(a->waves[i].state), NULL };
	if (b) {
		for (int i = 0; i < b->nopen; i++)
			bw[nb++] = &b->open[i];
		for (int i = 0; i < b->nwaves; i++)
			bw[nb++] = &b->waves[i];
	}
	/* annotate the left's rows with the right's states; insert what only the right saw */
	for (int j = 0; j < nb; j++) {
		int at = nrows;

		for (int i = 0; i < nrows; i++) {
			if (rows[i].flip || rows[i].right || !waves_match(rows[i].w, bw[j]))
				continue;
			rows[i].right = sf_state_name(bw[j]->state);
			used[j] = true;
			break;
		}
		if (used[j])
			continue;
		for (int i = 0; i < nrows; i++) {
			if (bw[j]->ts_ns && rows[i].w->ts_ns > bw[j]->ts_ns) {
				at = i;
				break;
			}
		}
		memmove(&rows[at + 1], &rows[at], (nrows - at) * sizeof(rows[0]));
		/* after a FIN_WAIT2 handoff the left side lives on as a timewait socket */
		rows[at] = (struct row){ bw[j], true, a->fw2_handoff ? "(TIME_WAIT)" : NULL,
					 sf_state_name(bw[j]->state) };
		nrows++;
	}

	endpoint_title(lt, sizeof(lt), a);
	if (b)
		endpoint_title(rt, sizeof(rt), b);
	else
		endpoint_str(rt, sizeof(rt), a->family, a->raddr, a->rport);
	if (v->o.timestamps)
		wall_time(v, a->end_ns, ts, sizeof(ts));
	fprintf(v->o.out, "%s%s  <->  %s%s\n", ts, lt, rt, b ? "" : " (peer)");
	for (int i = 0; i < nrows; i++) {
		print_arrow(v, &rows[i]);
		/* mark the data phase between the handshake and the close */
		if (i + 1 < nrows && rows[i].w == &a->open[a->nopen - 1] && a->nopen) {
			for (int h = 0; h < a->nhops; h++) {
				if (a->hops[h].state != SF_TCP_ESTABLISHED || !a->hops[h].known_us)
					continue;
				fprintf(v->o.out, "  %12s  %*s(ESTABLISHED %.3f ms)\n", "", 14, "",
					(double)a->hops[h].us / 1000.0);
			}
		}
	}
	fprintf(v->o.out, "  close: %s, closer: %s", close_label(a), sf_closer_name(a->closer));
	if (b)
		fprintf(v->o.out, " (the %s)",
			a->closer == SF_CLOSER_LOCAL ? sf_role_name(a->role) :
			a->closer == SF_CLOSER_PEER  ? sf_role_name(b->role) :
						       "two sides");
	fprintf(v->o.out, ", TIME_WAIT: %s",
		a->time_wait && b && b->time_wait ? "both" :
		a->time_wait			  ? sf_role_name(a->role) :
		b && b->time_wait		  ? sf_role_name(b->role) :
						    "none");
	if (a->half_close || (b && b->half_close))
		fprintf(v->o.out, ", half-close");
	fprintf(v->o.out, "\n");
	if (a->fw2_handoff || (b && b->fw2_handoff))
		fprintf(v->o.out,
			"  note: the %s's FIN_WAIT2 went to a timewait mini-socket before "
			"the peer's FIN; what follows there is not traced\n",
			a->fw2_handoff ? sf_role_name(a->role) : sf_role_name(b->role));
	for (const struct sf_lifecycle *e = a; e; e = e == a ? b : NULL) {
		if (e->retrans_syn)
			fprintf(v->o.out, "  note: the %s sent its %s %u more time(s)\n",
				sf_role_name(e->role),
				e->role == SF_ROLE_SERVER ? "SYN-ACK" : "SYN", e->retrans_syn);
		if (e->retrans_fin)
			fprintf(v->o.out, "  note: the %s sent its FIN %u more time(s)\n",
				sf_role_name(e->role), e->retrans_fin);
		if (e->alive)
			fprintf(v->o.out, "  note: the %s is still open, in %s\n",
				sf_role_name(e->role), sf_state_name(e->last_state));
		if (e->gaps & ~(SF_GAP_ALIVE | SF_GAP_MIDLIFE))
			fprintf(v->o.out, "  note: the %s's record is incomplete (%s)\n",
				sf_role_name(e->role),
				e->gaps & SF_GAP_LOST ? "events were lost" : "transitions missing");
		else if (e->gaps & SF_GAP_MIDLIFE)
			fprintf(v->o.out, "  note: the %s existed before tracing began\n",
				sf_role_name(e->role));
	}
	fprintf(v->o.out, "\n");
}

void sf_print_ladder(FILE *out, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	struct view v = { .o = { .mode = SF_VIEW_LADDER, .out = out } };

	if (b && b->role == SF_ROLE_CLIENT && a->role != SF_ROLE_CLIENT)
		print_ladder(&v, b, a);
	else
		print_ladder(&v, a, b);
}

static void show_single(struct view *v, const struct sf_lifecycle *lc)
{
	if (v->o.mode == SF_VIEW_LADDER)
		print_ladder(v, lc, NULL);
	else
		print_line_single(v, lc);
}

static void show_pair(struct view *v, const struct sf_lifecycle *x, const struct sf_lifecycle *y)
{
	/* the client on the left, as the seeds draw it */
	const struct sf_lifecycle *a = y->role == SF_ROLE_CLIENT && x->role != SF_ROLE_CLIENT ? y :
												x;
	const struct sf_lifecycle *b = a == x ? y : x;

	if (v->o.mode == SF_VIEW_LADDER)
		print_ladder(v, a, b);
	else
		print_line_pair(v, a, b);
}

static void release_held(struct view *v, size_t i)
{
	if (v->held[i].match) {
		show_single(v, &v->held[i].lc);
		v->printed++;
	}
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

void view__lifecycle(struct view *v, const struct sf_lifecycle *lc, bool match)
{
	if (v->o.mode == SF_VIEW_JSON) {
		size_t n;

		if (!match)
			return;
		char *dst = json_slot(v);

		n = sf_lifecycle_json(dst, LINE_MAX_LEN - 1, lc);
		dst[n++] = '\n';
		v->jlen += n;
		v->printed++;
		return;
	}
	if (v->o.mode == SF_VIEW_STATES)
		return;
	if (lc->pair) {
		for (size_t i = 0; i < v->nheld; i++) {
			if (v->held[i].lc.pair != lc->pair)
				continue;
			if (match || v->held[i].match) {
				show_pair(v, &v->held[i].lc, lc);
				v->printed++;
			}
			v->held[i] = v->held[--v->nheld];
			return;
		}
		if (lc->peer_state && !lc->alive) {
			struct held *h;

			if (v->nheld == MAX_HELD)
				release_held(v, 0);
			if (!v->held) {
				v->held = calloc(MAX_HELD, sizeof(*v->held));
				if (!v->held)
					goto single;
			}
			h = &v->held[v->nheld++];
			h->lc = *lc;
			h->match = match;
			return;
		}
	}
single:
	if (!match)
		return;
	show_single(v, lc);
	v->printed++;
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

void view__transition(struct view *v, const struct sf_transition *tr, bool match)
{
	const struct sf_event *e = tr->ev;
	char l[64], r[64], ts[32] = "", dur[32];

	if (!match || (v->o.mode != SF_VIEW_STATES && !v->o.json_states))
		return;
	endpoint_str(l, sizeof(l), e->family, tr->laddr, tr->lport);
	endpoint_str(r, sizeof(r), e->family, tr->raddr, tr->rport);
	if (v->o.mode == SF_VIEW_JSON) {
		struct sb b = { json_slot(v), 0, LINE_MAX_LEN - 1 };
		char la[SF_ADDRSTRLEN], ra[SF_ADDRSTRLEN];

		sf_format_addr(la, sizeof(la), e->family, tr->laddr);
		sf_format_addr(ra, sizeof(ra), e->family, tr->raddr);
		sb_printf(&b,
			  "{\"type\":\"state\",\"ts_ns\":%" PRIu64 ",\"id\":%" PRIu64
			  ",\"cookie\":%" PRIu64 ",\"family\":\"%s\",\"laddr\":\"%s\",\"lport\":%u,"
			  "\"raddr\":\"%s\",\"rport\":%u,\"old\":\"%s\",\"new\":\"%s\",",
			  (uint64_t)e->ts_ns, tr->id, (uint64_t)e->cookie, family_name(e->family),
			  la, tr->lport, ra, tr->rport, sf_state_name(e->oldstate),
			  sf_state_name(e->newstate));
		if (tr->us_in_old >= 0)
			sb_printf(&b, "\"us_in_old\":%" PRId64 ",", tr->us_in_old);
		else
			sb_printf(&b, "\"us_in_old\":null,");
		sb_printf(&b, "\"proc\":%s,\"pid\":%" PRIu32 ",\"comm\":",
			  e->flags & SF_F_PROC ? "true" : "false", tr->pid);
		sb_json_str(&b, tr->comm ? tr->comm : "", SF_COMM_LEN);
		sb_printf(&b, "}\n");
		v->jlen += b.len;
		return;
	}
	if (!v->header_done) {
		v->header_done = true;
		fprintf(v->o.out, "%s%-7s %-15s %-24s %-24s %-11s -> %-11s %10s\n",
			v->o.timestamps ? "TIME         " : "", "PID", "COMM", "LOCAL", "REMOTE",
			"OLDSTATE", "NEWSTATE", "MS");
	}
	if (v->o.timestamps)
		wall_time(v, e->ts_ns, ts, sizeof(ts));
	v->printed++;
	if (tr->us_in_old >= 0)
		snprintf(dur, sizeof(dur), "%.3f", (double)tr->us_in_old / 1000.0);
	else
		snprintf(dur, sizeof(dur), "-");
	fprintf(v->o.out, "%s%-7" PRIu32 " %-15s %-24s %-24s %-11s -> %-11s %10s\n", ts, tr->pid,
		tr->comm && tr->comm[0] ? tr->comm : "-", l, r, sf_state_name(e->oldstate),
		sf_state_name(e->newstate), dur);
}

void view__finish(struct view *v, const struct tracker_stats *st)
{
	while (v->nheld)
		release_held(v, 0);
	view__flush(v);
	if (v->o.mode == SF_VIEW_JSON)
		fprintf(v->o.out,
			"{\"type\":\"summary\",\"events\":%" PRIu64 ",\"lost\":%" PRIu64
			",\"connections\":%" PRIu64 ",\"untracked\":%" PRIu64 "}\n",
			st->events, st->lost, v->printed, st->untracked);
	/* on stderr in every view, so it is seen when stdout goes elsewhere */
	fprintf(stderr, "synfin: %" PRIu64 " events, %" PRIu64 " lost, %" PRIu64 " %s shown",
		st->events, st->lost, v->printed,
		v->o.mode == SF_VIEW_STATES ? "transitions" : "connections");
	if (st->untracked)
		fprintf(stderr, ", %" PRIu64 " events of endpoints past --max-conns untracked",
			st->untracked);
	if (st->discarded)
		fprintf(stderr, ", %" PRIu64 " twin child sockets the kernel discarded at birth",
			st->discarded);
	fprintf(stderr, "\n");
}
