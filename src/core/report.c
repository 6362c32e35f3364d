// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "view.h"
#include "report.h"
#include "json.h"
#include "parse.h"
#include "names.h"

#define MAX_SHOWN 10
#define JSON_LINE 8192

int lc_vec_push(struct lc_vec *vec, const struct sf_lifecycle *lc)
{
	if (vec->n == vec->cap) {
		size_t ncap = vec->cap ? vec->cap * 2 : 64;
		struct sf_lifecycle *nv = realloc(vec->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		vec->v = nv;
		vec->cap = ncap;
	}
	vec->v[vec->n++] = *lc;
	return 0;
}

void lc_vec_free(struct lc_vec *vec)
{
	free(vec->v);
	memset(vec, 0, sizeof(*vec));
}

size_t outcome_evaluate(struct outcome *o)
{
	size_t failed = 0;

	for (size_t i = 0; i < o->nx; i++) {
		expect_eval(&o->x[i], o->lcs->v, o->lcs->n, &o->res[i], NULL, 0);
		failed += !o->res[i].pass;
	}
	return failed;
}

const struct sf_lifecycle *lc_vec_partner(const struct lc_vec *lcs, const struct sf_lifecycle *lc)
{
	if (!lc->pair)
		return NULL;
	for (size_t i = 0; i < lcs->n; i++)
		if (&lcs->v[i] != lc && lcs->v[i].pair == lc->pair)
			return &lcs->v[i];
	return NULL;
}

/* The peer sent its FIN after our mini-socket was gone: the port answered it with a RST. */
static bool fw2_expired(const struct sf_lifecycle *lc, const struct sf_lifecycle *peer)
{
	return lc->fw2_handoff && peer && peer->close == SF_CLOSE_RESET &&
	       peer->closer == SF_CLOSER_PEER && peer->last_state == SF_TCP_LAST_ACK;
}

void lc_vec_settle(struct lc_vec *lcs)
{
	for (size_t i = 0; i < lcs->n; i++) {
		struct sf_lifecycle *lc = &lcs->v[i];

		if (!fw2_expired(lc, lc_vec_partner(lcs, lc)))
			continue;
		lc->close = SF_CLOSE_ABORTED;
		lc->reason = SF_REASON_FIN_WAIT2_TIMEOUT;
		lc->time_wait = false;
	}
}

static void endpoint_line(char *buf, size_t len, const struct sf_lifecycle *lc)
{
	char la[SF_ADDRSTRLEN], ra[SF_ADDRSTRLEN];
	size_t off;

	sf_format_addr(la, sizeof(la), lc->family, lc->laddr);
	sf_format_addr(ra, sizeof(ra), lc->family, lc->raddr);
	off = snprintf(buf, len, "%s %s:%u -> %s:%u: close=%s closer=%s time_wait=%s states=",
		       sf_role_name(lc->role), la, lc->lport, ra, lc->rport,
		       lc->alive ? "open" : sf_close_name(lc->close), sf_closer_name(lc->closer),
		       lc->time_wait ? "yes" : "no");
	for (int i = 0; i < lc->nhops && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ">" : "",
				sf_state_name(lc->hops[i].state));
}

/* Whether one endpoint is selected by x and breaks one of its assertions. */
static bool breaks(const struct expect *x, const struct sf_lifecycle *lc)
{
	struct expect_result one;

	expect_eval(x, lc, 1, &one, NULL, 0);
	return one.matched && one.nviolators;
}

size_t outcome_failure_text(const struct outcome *o, size_t i, char *buf, size_t len)
{
	const struct expect *x = &o->x[i];
	const struct expect_result *r = &o->res[i];
	size_t off = 0, shown = 0;

	buf[0] = 0;
	if (!r->count_ok)
		off += snprintf(buf + off, len - off,
				"count: %zu endpoints matched, want count%s%" PRIu64 "\n",
				r->matched, expect_op_name(x->count.op), x->count.value);
	for (size_t k = 0; k < o->lcs->n && off < len; k++) {
		const struct sf_lifecycle *lc = &o->lcs->v[k];
		char what[256], line[512];

		if (!breaks(x, lc))
			continue;
		if (++shown > MAX_SHOWN) {
			off += snprintf(buf + off, len - off, "... and %zu more\n",
					r->nviolators - MAX_SHOWN);
			break;
		}
		expect_describe(x, lc, what, sizeof(what));
		endpoint_line(line, sizeof(line), lc);
		off += snprintf(buf + off, len - off, "%s\n    broke: %s\n", line, what);
	}
	return off < len ? off : len - 1;
}

const struct sf_lifecycle *outcome_first_violator(const struct outcome *o, size_t i)
{
	for (size_t k = 0; k < o->lcs->n; k++) {
		if (breaks(&o->x[i], &o->lcs->v[k]))
			return &o->lcs->v[k];
	}
	return NULL;
}

void report_text(FILE *out, const struct outcome *o, bool ladders)
{
	char *buf = malloc(JSON_LINE);
	size_t failed = 0;

	if (!buf)
		return;
	if (o->command)
		fprintf(out, "%s: %s\n", o->command, o->command_status ? o->command_status : "ok");
	if (o->notes && *o->notes)
		fprintf(out, "%s\n", o->notes);
	fprintf(out, "%zu endpoints traced%s\n", o->lcs->n,
		o->lost || o->missed ? " (events were lost or missed: some may be incomplete)" :
				       "");
	for (size_t i = 0; i < o->nx; i++) {
		const struct expect_result *r = &o->res[i];

		fprintf(out, "%s  %s  (%zu matched)\n", r->pass ? "PASS" : "FAIL", o->x[i].text,
			r->matched);
		if (r->pass)
			continue;
		failed++;
		outcome_failure_text(o, i, buf, JSON_LINE);
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(out, "      %s\n", line);
		if (ladders) {
			const struct sf_lifecycle *v = outcome_first_violator(o, i);

			if (v) {
				fprintf(out, "\n");
				sf_print_ladder(out, v, lc_vec_partner(o->lcs, v));
			}
		}
	}
	fprintf(out, "%zu of %zu expectations held\n", o->nx - failed, o->nx);
	free(buf);
}

static void json_lifecycles(struct sf_sb *b, const struct lc_vec *lcs)
{
	char line[SF_JSON_MAX];

	for (size_t k = 0; k < lcs->n; k++) {
		size_t n = sf_lifecycle_json(line, sizeof(line), &lcs->v[k]);

		sf_sb_put(b, line, n);
		sf_sb_puts(b, "\n");
	}
}

static void json_expectation(struct sf_sb *b, const struct outcome *o, size_t i)
{
	const struct expect_result *r = &o->res[i];
	bool first = true;

	sf_sb_puts(b, "{");
	sf_json_kstr(b, "type", "expectation");
	sf_json_kstr(b, "expr", o->x[i].text);
	sf_json_kbool(b, "pass", r->pass);
	sf_json_ku64(b, "matched", r->matched);
	sf_json_kbool(b, "count_ok", r->count_ok);
	sf_json_key(b, "violators");
	sf_sb_puts(b, "[");
	for (size_t k = 0; k < o->lcs->n; k++) {
		if (!breaks(&o->x[i], &o->lcs->v[k]))
			continue;
		sf_sb_printf(b, "%s%" PRIu64, first ? "" : ",", o->lcs->v[k].id);
		first = false;
	}
	sf_sb_puts(b, "]}\n");
}

static void json_result(struct sf_sb *b, const struct outcome *o, size_t failed)
{
	sf_sb_puts(b, "{");
	sf_json_kstr(b, "type", "result");
	sf_json_kstr(b, "name", o->name);
	sf_json_kbool(b, "passed", !failed && !o->command_status);
	sf_json_ku64(b, "expectations", o->nx);
	sf_json_ku64(b, "failed", failed);
	sf_json_kbool(b, "command_ok", !o->command_status);
	if (o->command_status)
		sf_json_kstr(b, "command_status", o->command_status);
	if (o->notes && *o->notes)
		sf_json_kstr(b, "notes", o->notes);
	sf_json_ku64(b, "connections", o->lcs->n);
	sf_json_ku64(b, "lost", o->lost);
	sf_json_ku64(b, "missed", o->missed);
	sf_sb_puts(b, "}\n");
}

void report_json(FILE *out, const struct outcome *o)
{
	struct sf_sb b = { 0 };
	size_t failed = 0;

	json_lifecycles(&b, o->lcs);
	for (size_t i = 0; i < o->nx; i++) {
		json_expectation(&b, o, i);
		failed += !o->res[i].pass;
	}
	json_result(&b, o, failed);
	if (!b.cut)
		fwrite(b.p, 1, b.len, out);
	sf_sb_free(&b);
}

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			/* XML 1.0 allows no other control characters */
			if (c < 0x20 && c != '\n' && c != '\t')
				fputc('?', out);
			else
				fputc(c, out);
		}
	}
}

int report_junit(FILE *out, const char *path, const struct outcome *o, char *err, size_t errlen)
{
	size_t failed = 0, tests = o->nx + (o->command_status ? 1 : 0);
	char *buf = malloc(JSON_LINE);
	int ret = 0;

	if (!buf) {
		fclose(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->nx; i++)
		failed += !o->res[i].pass;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"%d\" time=\"%.3f\">\n",
		tests, failed, o->command_status ? 1 : 0, o->seconds);
	fprintf(out, "  <testsuite name=\"");
	xml_text(out, o->name);
	fprintf(out,
		"\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" skipped=\"0\" time=\"%.3f\">\n",
		tests, failed, o->command_status ? 1 : 0, o->seconds);
	if (o->command_status) {
		fprintf(out, "    <testcase classname=\"synfin.command\" name=\"");
		xml_text(out, o->command ? o->command : "command");
		fprintf(out, "\" time=\"%.3f\">\n      <error message=\"", o->seconds);
		xml_text(out, o->command_status);
		fprintf(out, "\"/>\n    </testcase>\n");
	}
	for (size_t i = 0; i < o->nx; i++) {
		fprintf(out, "    <testcase classname=\"synfin.expect\" name=\"");
		xml_text(out, o->x[i].text);
		fprintf(out, "\" time=\"0\">\n");
		if (!o->res[i].pass) {
			outcome_failure_text(o, i, buf, JSON_LINE);
			fprintf(out,
				"      <failure message=\"%zu of %zu matched endpoints broke it%s\">",
				o->res[i].nviolators, o->res[i].matched,
				o->res[i].count_ok ? "" : "; count not met");
			xml_text(out, buf);
			fprintf(out, "</failure>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	fprintf(out, "    <system-out>");
	for (size_t k = 0; k < o->lcs->n; k++) {
		sf_lifecycle_json(buf, JSON_LINE, &o->lcs->v[k]);
		xml_text(out, buf);
		fputc('\n', out);
	}
	fprintf(out, "</system-out>\n  </testsuite>\n</testsuites>\n");
	if (fclose(out)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	}
	free(buf);
	return ret;
}
