// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <string.h>
#include "json.h"
#include "ladder.h"
#include "names.h"
#include "view.h"

#define LADDER_W 50
#define MAX_WAVES (SF_MAX_OPEN + SF_MAX_WAVES)

_Static_assert(2 * MAX_WAVES == SF_LADDER_MAX_ROWS, "ladder.h's row bound");

struct row {
	const struct sf_wave *w; /* from the left endpoint's point of view */
	bool flip; /* w is the right endpoint's wave: reverse its direction */
	const char *left;
	const char *right;
};

/* The left endpoint's segments, each also annotated or joined by the right's. */
struct ladder {
	struct row rows[2 * MAX_WAVES];
	int n;
};

static void wave_label(char *buf, size_t len, const struct sf_wave *w)
{
	char fl[24];
	size_t off;

	sf_tcp_flags_str(fl, sizeof(fl), w->flags);
	off = snprintf(buf, len, "%s", fl);
	if (w->has_seq && off < len)
		off += snprintf(buf + off, len - off, " seq=%" PRIu32, w->seq);
	if (w->has_ack && off < len)
		snprintf(buf + off, len - off, " ack=%" PRIu32, w->ack);
}

static bool row_rightward(const struct row *r)
{
	return (r->w->dir == SF_DIR_OUT) != r->flip;
}

static void print_arrow(FILE *out, const struct row *r)
{
	char label[64], arrow[LADDER_W + 1];
	bool right = row_rightward(r);
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
	fprintf(out, "  %12s  %s  %s\n", r->left ? r->left : "", arrow, r->right ? r->right : "");
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

static void add_left_rows(struct ladder *l, const struct sf_wave *w, int n)
{
	for (int i = 0; i < n; i++)
		l->rows[l->n++] = (struct row){ &w[i], false, sf_state_name(w[i].state), NULL };
}

/* The right endpoint's segments, handshake first, in bw; returns how many. */
static int right_waves(const struct sf_lifecycle *b, const struct sf_wave **bw)
{
	int nb = 0;

	if (!b)
		return 0;
	for (int i = 0; i < b->nopen; i++)
		bw[nb++] = &b->open[i];
	for (int i = 0; i < b->nwaves; i++)
		bw[nb++] = &b->waves[i];
	return nb;
}

/* Names the right's state on the left's row of the same segment, if there is one. */
static bool annotate(struct ladder *l, const struct sf_wave *w)
{
	for (int i = 0; i < l->n; i++) {
		struct row *r = &l->rows[i];

		if (r->flip || r->right || !waves_match(r->w, w))
			continue;
		r->right = sf_state_name(w->state);
		return true;
	}
	return false;
}

/* A segment only the right saw, in time order among the rows. */
/*
 * After a FIN_WAIT2 handoff the left side lives on as a timewait socket, which
 * either reached TIME_WAIT or (lc_vec_settle) expired before the peer's FIN.
 */
static const char *handoff_label(const struct sf_lifecycle *a)
{
	if (!a->fw2_handoff)
		return NULL;
	return a->time_wait ? "(TIME_WAIT)" : "(expired)";
}

static void insert_right(struct ladder *l, const struct sf_wave *w, const char *left)
{
	int at = l->n;

	for (int i = 0; i < l->n; i++) {
		if (w->ts_ns && l->rows[i].w->ts_ns > w->ts_ns) {
			at = i;
			break;
		}
	}
	memmove(&l->rows[at + 1], &l->rows[at], (l->n - at) * sizeof(l->rows[0]));
	l->rows[at] = (struct row){ w, true, left, sf_state_name(w->state) };
	l->n++;
}

static void build_rows(struct ladder *l, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	const struct sf_wave *bw[MAX_WAVES];
	int nb = right_waves(b, bw);

	l->n = 0;
	add_left_rows(l, a->open, a->nopen);
	add_left_rows(l, a->waves, a->nwaves);
	for (int j = 0; j < nb; j++)
		if (!annotate(l, bw[j]))
			insert_right(l, bw[j], handoff_label(a));
}

static void endpoint_title(char *buf, size_t len, const struct sf_lifecycle *lc)
{
	char e[64], comm[SF_TEXT_SAFE_LEN(SF_COMM_LEN)];

	sf_endpoint_str(e, sizeof(e), lc->family, lc->laddr, lc->lport);
	if (lc->pid)
		snprintf(buf, len, "%s %s (pid %" PRIu32 " %s)", sf_role_name(lc->role), e, lc->pid,
			 sf_text_safe(lc->comm, SF_COMM_LEN, comm, sizeof(comm)));
	else
		snprintf(buf, len, "%s %s", sf_role_name(lc->role), e);
}

static void print_title(FILE *out, const char *ts, const struct sf_lifecycle *a,
			const struct sf_lifecycle *b)
{
	char lt[128], rt[128];

	endpoint_title(lt, sizeof(lt), a);
	if (b)
		endpoint_title(rt, sizeof(rt), b);
	else
		sf_endpoint_str(rt, sizeof(rt), a->family, a->raddr, a->rport);
	fprintf(out, "%s%s  <->  %s%s\n", ts, lt, rt, b ? "" : " (peer)");
}

/* The data phase, between the handshake and the close. */
static void print_established(FILE *out, const struct sf_lifecycle *a)
{
	for (int h = 0; h < a->nhops; h++) {
		if (a->hops[h].state != SF_TCP_ESTABLISHED || !a->hops[h].known_us)
			continue;
		fprintf(out, "  %12s  %*s(ESTABLISHED %.3f ms)\n", "", 14, "",
			(double)a->hops[h].us / 1000.0);
	}
}

static void print_rows(FILE *out, const struct ladder *l, const struct sf_lifecycle *a)
{
	for (int i = 0; i < l->n; i++) {
		print_arrow(out, &l->rows[i]);
		if (i + 1 < l->n && a->nopen && l->rows[i].w == &a->open[a->nopen - 1])
			print_established(out, a);
	}
}

/* Why it ended, as the side that ended it knows: of a reset, the RST's sender. */
static void print_reason(FILE *out, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	const struct sf_lifecycle *who = b && a->closer == SF_CLOSER_PEER ? b : a;
	uint8_t r = who->reason;

	if (!r && b && a->closer == SF_CLOSER_BOTH)
		r = b->reason;
	if (sf_reason_name(r))
		fprintf(out, ", reason: %s", sf_reason_name(r));
}

static void print_close(FILE *out, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	fprintf(out, "  close: %s, closer: %s", sf_close_label(a), sf_closer_name(a->closer));
	if (b)
		fprintf(out, " (the %s)",
			a->closer == SF_CLOSER_LOCAL ? sf_role_name(a->role) :
			a->closer == SF_CLOSER_PEER  ? sf_role_name(b->role) :
						       "two sides");
	print_reason(out, a, b);
	fprintf(out, ", TIME_WAIT: %s",
		a->time_wait && b && b->time_wait ? "both" :
		a->time_wait			  ? sf_role_name(a->role) :
		b && b->time_wait		  ? sf_role_name(b->role) :
						    "none");
	if (a->half_close || (b && b->half_close))
		fprintf(out, ", half-close");
	fprintf(out, "\n");
}

static void print_endpoint_notes(FILE *out, const struct sf_lifecycle *e)
{
	const char *role = sf_role_name(e->role);

	if (e->retrans_syn)
		fprintf(out, "  note: the %s sent its %s %u more time(s)\n", role,
			e->role == SF_ROLE_SERVER ? "SYN-ACK" : "SYN", e->retrans_syn);
	if (e->retrans_fin)
		fprintf(out, "  note: the %s sent its FIN %u more time(s)\n", role, e->retrans_fin);
	if (e->alive)
		fprintf(out, "  note: the %s is still open, in %s\n", role,
			sf_state_name(e->last_state));
	if (e->gaps & ~(SF_GAP_ALIVE | SF_GAP_MIDLIFE))
		fprintf(out, "  note: the %s's record is incomplete (%s)\n", role,
			e->gaps & SF_GAP_LOST ? "events were lost" : "transitions missing");
	else if (e->gaps & SF_GAP_MIDLIFE)
		fprintf(out, "  note: the %s existed before tracing began\n", role);
}

/* An RTT in ms, "-" before the first sample. */
static void fmt_rtt(char *buf, size_t len, uint32_t us)
{
	if (us)
		snprintf(buf, len, "%.3f ms", us / 1000.0);
	else
		snprintf(buf, len, "-");
}

/* How the endpoint fared, as the kernel counted at its close (format 2 recordings on). */
static void print_health(FILE *out, const struct sf_lifecycle *e)
{
	char srtt[32], min[32];

	if (!e->health || e->alive)
		return;
	fmt_rtt(srtt, sizeof(srtt), e->srtt_us);
	fmt_rtt(min, sizeof(min), e->min_rtt_us);
	fprintf(out,
		"  health: the %s: srtt %s, min_rtt %s, %" PRIu32 " segment(s) sent again, %" PRIu64
		" bytes sent, %" PRIu64 " received\n",
		sf_role_name(e->role), srtt, min, e->retrans, e->bytes_sent, e->bytes_received);
}

static void print_notes(FILE *out, const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	const struct sf_lifecycle *h = a->fw2_handoff ? a : b && b->fw2_handoff ? b : NULL;

	if (h)
		fprintf(out,
			"  note: the %s's FIN_WAIT2 went to a timewait mini-socket before "
			"the peer's FIN; %s\n",
			sf_role_name(h->role),
			h->time_wait ?
				"what follows there is not traced" :
				"it expired first, and the port answered the FIN with a RST");
	print_endpoint_notes(out, a);
	if (b)
		print_endpoint_notes(out, b);
	print_health(out, a);
	if (b)
		print_health(out, b);
}

void sf_ladder_print(FILE *out, const char *ts, const struct sf_lifecycle *a,
		     const struct sf_lifecycle *b)
{
	struct ladder l;

	build_rows(&l, a, b);
	print_title(out, ts, a, b);
	print_rows(out, &l, a);
	print_close(out, a, b);
	print_notes(out, a, b);
	fprintf(out, "\n");
}

int sf_ladder_rows(const struct sf_lifecycle *a, const struct sf_lifecycle *b,
		   struct sf_ladder_row rows[SF_LADDER_MAX_ROWS])
{
	struct ladder l;

	build_rows(&l, a, b);
	for (int i = 0; i < l.n; i++) {
		rows[i] = (struct sf_ladder_row){ l.rows[i].w, row_rightward(&l.rows[i]),
						  l.rows[i].left, l.rows[i].right };
		wave_label(rows[i].label, sizeof(rows[i].label), l.rows[i].w);
	}
	return l.n;
}
