// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "parse.h"

volatile sig_atomic_t cli_stop;

static void vline(const char *cmd, const char *tail, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "synfin %s: %s%s\n", cmd, msg, tail);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(cmd, "", fmt, ap);
	va_end(ap);
	return SF_EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	char tail[64];
	va_list ap;

	snprintf(tail, sizeof(tail), " (see synfin %s --help)", cmd);
	va_start(ap, fmt);
	vline(cmd, tail, fmt, ap);
	va_end(ap);
	return SF_EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int c, char *const *argv)
{
	if (c == ':')
		return cli_usage(cmd, "option %s needs a value", argv[optind - 1]);
	return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
}

static void format_bound(char *buf, size_t len, uint64_t ns)
{
	if (ns % SF_NS_PER_S == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ns / SF_NS_PER_S));
	else
		snprintf(buf, len, "%llums", (unsigned long long)(ns / SF_NS_PER_MS));
}

int cli_duration(const char *cmd, const char *opt, const char *arg, uint64_t min_ns,
		 uint64_t max_ns, uint64_t *ns)
{
	char lo[32], hi[32];
	int ret = sf_parse_duration(arg, min_ns, max_ns, ns);

	if (!ret)
		return 0;
	format_bound(lo, sizeof(lo), min_ns);
	format_bound(hi, sizeof(hi), max_ns);
	if (ret == -ERANGE)
		return cli_usage(cmd, "%s %s is out of range (%s to %s)", opt, arg, lo, hi);
	return cli_usage(cmd, "invalid %s '%s' (a duration such as 500ms, 30s, 5m)", opt, arg);
}

static void on_stop(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
