// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "ladder.h"
#include "names.h"
#include "summary.h"
#include "view.h"

#define FAILURE_TEXT 8192
#define CODE_MAX 512

/* The two participants of a diagram: a, the endpoint that broke it, and its peer. */
struct sides {
	const char *a; /* "client" or "server" */
	const char *b;
	bool a_client;
};

/*
 * A code span of text a user chose (the command line, an expectation):
 * control bytes as \xNN, a fence longer than any run of backticks inside,
 * and in a table cell '|' as "\|", which GitHub's tables need even in code.
 */
static void md_code(struct sf_sb *b, const char *s, bool cell)
{
	char safe[SF_TEXT_SAFE_LEN(CODE_MAX)];
	size_t run = 0, longest = 0;

	sf_text_safe(s, CODE_MAX, safe, sizeof(safe));
	for (const char *p = safe; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	for (size_t i = 0; i <= longest; i++)
		sf_sb_puts(b, "`");
	sf_sb_puts(b, " ");
	for (const char *p = safe; *p; p++) {
		if (cell && *p == '|')
			sf_sb_puts(b, "\\|");
		else
			sf_sb_put(b, p, 1);
	}
	sf_sb_puts(b, " ");
	for (size_t i = 0; i <= longest; i++)
		sf_sb_puts(b, "`");
}

static size_t failed_count(const struct outcome *o)
{
	size_t failed = 0;

	for (size_t i = 0; i < o->nx; i++)
		failed += !o->res[i].pass;
	return failed;
}

static void summary_header(struct sf_sb *b, const struct outcome *o, size_t failed)
{
	sf_sb_printf(b, "### %s %s: %zu of %zu expectations held\n\n",
		     failed || o->command_status ? "\u274c" : "\u2705", o->name, o->nx - failed,
		     o->nx);
	if (o->command) {
		md_code(b, o->command, false);
		sf_sb_printf(b, ": %s, ", o->command_status ? o->command_status : "ok");
	}
	sf_sb_printf(b, "%zu endpoints traced in %.2f s", o->lcs->n, o->seconds);
	if (o->lost || o->missed)
		sf_sb_printf(b,
			     " (%" PRIu64 " events lost, %" PRIu64
			     " tracer runs missed: some endpoints may be incomplete)",
			     o->lost, o->missed);
	sf_sb_puts(b, "\n\n");
}

static void summary_table(struct sf_sb *b, const struct outcome *o)
{
	sf_sb_puts(b, "| | Expectation | Matched | Broke it |\n|:-:|---|--:|--:|\n");
	for (size_t i = 0; i < o->nx; i++) {
		const struct expect_result *r = &o->res[i];

		sf_sb_printf(b, "| %s | ", r->pass ? "\u2705" : "\u274c");
		md_code(b, o->x[i].text, true);
		sf_sb_printf(b, " | %zu", r->matched);
		if (!r->count_ok)
			sf_sb_printf(b, " (want count%s%" PRIu64 ")",
				     expect_op_name(o->x[i].count.op), o->x[i].count.value);
		sf_sb_printf(b, " | %zu |\n", r->nviolators);
	}
	sf_sb_puts(b, "\n");
}

/* Mermaid text from a name another user chose: only characters with no meaning there. */
static void mermaid_name(char *buf, size_t len, const char *s, size_t max)
{
	size_t n = 0;

	for (; n + 1 < len && n < max && s[n]; n++)
		buf[n] = isalnum((unsigned char)s[n]) || strchr("._-", s[n]) ? s[n] : '_';
	buf[n] = 0;
}

static void mermaid_participant(struct sf_sb *b, const char *id, const struct sf_lifecycle *lc)
{
	char e[64], comm[SF_COMM_LEN + 1];

	sf_endpoint_str(e, sizeof(e), lc->family, lc->laddr, lc->lport);
	sf_sb_printf(b, "    participant %s as %s %s", id, id, e);
	if (lc->pid) {
		mermaid_name(comm, sizeof(comm), lc->comm, SF_COMM_LEN);
		sf_sb_printf(b, " (pid %" PRIu32 " %s)", lc->pid, comm);
	}
	sf_sb_puts(b, "\n");
}

/* The client first, whichever endpoint broke the expectation; a remote peer as it is known. */
static void mermaid_participants(struct sf_sb *b, const struct sides *s,
				 const struct sf_lifecycle *a, const struct sf_lifecycle *pb)
{
	char e[64];

	if (pb) {
		mermaid_participant(b, "client", s->a_client ? a : pb);
		mermaid_participant(b, "server", s->a_client ? pb : a);
		return;
	}
	sf_endpoint_str(e, sizeof(e), a->family, a->raddr, a->rport);
	if (!s->a_client)
		sf_sb_printf(b, "    participant client as client %s (peer)\n", e);
	mermaid_participant(b, s->a, a);
	if (s->a_client)
		sf_sb_printf(b, "    participant server as server %s (peer)\n", e);
}

/* The data phase, between the handshake and the close. */
static void mermaid_established(struct sf_sb *b, const struct sf_lifecycle *a)
{
	for (int h = 0; h < a->nhops; h++) {
		if (a->hops[h].state != SF_TCP_ESTABLISHED || !a->hops[h].known_us)
			continue;
		sf_sb_printf(b, "    Note over client,server: ESTABLISHED %.3f ms\n",
			     (double)a->hops[h].us / 1000.0);
	}
}

/* Each side's state after a segment, the client's first. */
static void mermaid_notes(struct sf_sb *b, const struct sides *s, const struct sf_ladder_row *r)
{
	const char *first = s->a_client ? r->left : r->right;
	const char *second = s->a_client ? r->right : r->left;

	if (first)
		sf_sb_printf(b, "    Note left of client: %s\n", first);
	if (second)
		sf_sb_printf(b, "    Note right of server: %s\n", second);
}

static void mermaid_rows(struct sf_sb *b, const struct sides *s, const struct sf_lifecycle *a,
			 const struct sf_lifecycle *pb)
{
	struct sf_ladder_row rows[SF_LADDER_MAX_ROWS];
	int n = sf_ladder_rows(a, pb, rows);

	for (int i = 0; i < n; i++) {
		const struct sf_ladder_row *r = &rows[i];

		/* a reset ends the connection: drawn as a cross */
		sf_sb_printf(b, "    %s%s%s: %s\n", r->rightward ? s->a : s->b,
			     r->w->flags & SF_TH_RST ? "-x" : "->>", r->rightward ? s->b : s->a,
			     r->label);
		mermaid_notes(b, s, r);
		if (i + 1 < n && a->nopen && r->w == &a->open[a->nopen - 1])
			mermaid_established(b, a);
	}
}

static void mermaid_ladder(struct sf_sb *b, const struct sf_lifecycle *a,
			   const struct sf_lifecycle *pb)
{
	static const struct sides client = { "client", "server", true };
	static const struct sides server = { "server", "client", false };
	const struct sides *s = a->role == SF_ROLE_SERVER ? &server : &client;

	sf_sb_puts(b, "```mermaid\nsequenceDiagram\n");
	mermaid_participants(b, s, a, pb);
	mermaid_rows(b, s, a, pb);
	sf_sb_printf(b, "    Note over client,server: close: %s, closer: %s\n", sf_close_label(a),
		     a->closer == SF_CLOSER_LOCAL ? s->a :
		     a->closer == SF_CLOSER_PEER  ? s->b :
						    sf_closer_name(a->closer));
	sf_sb_puts(b, "```\n\n");
}

static void summary_failure(struct sf_sb *b, const struct outcome *o, size_t i, char *text)
{
	const struct sf_lifecycle *v = outcome_first_violator(o, i);

	sf_sb_puts(b, "#### \u274c ");
	md_code(b, o->x[i].text, false);
	sf_sb_puts(b, "\n\n```text\n");
	outcome_failure_text(o, i, text, FAILURE_TEXT);
	sf_sb_puts(b, text);
	sf_sb_puts(b, "```\n\n");
	if (!v)
		return;
	sf_sb_puts(b, "The first endpoint that broke it, and its peer:\n\n");
	mermaid_ladder(b, v, lc_vec_partner(o->lcs, v));
}

void summary_markdown(struct sf_sb *b, const struct outcome *o)
{
	size_t failed = failed_count(o);
	char *text = malloc(FAILURE_TEXT);

	if (!text) {
		b->cut = true;
		return;
	}
	summary_header(b, o, failed);
	summary_table(b, o);
	for (size_t i = 0; i < o->nx; i++)
		if (!o->res[i].pass)
			summary_failure(b, o, i, text);
	free(text);
}
