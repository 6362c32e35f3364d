// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"

static const char usage[] =
	"Usage: synfin COMMAND [OPTIONS]\n"
	"Observe TCP connection lifecycles: handshakes, closes, TIME_WAIT.\n"
	"\n"
	"Commands:\n"
	"  trace     trace connections live (root, or CAP_BPF and CAP_PERFMON)\n"
	"  replay    run the engine on a recording made with trace --record\n"
	"  check     run a command and check how its connections closed (CI)\n"
	"  repro     reproduce a handshake or close sequence and check it\n"
	"  snapshot  the sockets that exist now, by service port and state\n"
	"  watch     live counts per port, TIME_WAIT/CLOSE_WAIT alerts, Prometheus metrics\n"
	"\n"
	"synfin COMMAND --help shows a command's options; synfin --version its version.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "trace", cmd_trace }, { "replay", cmd_replay },     { "check", cmd_check },
	{ "repro", cmd_repro }, { "snapshot", cmd_snapshot }, { "watch", cmd_watch },
};

int main(int argc, char **argv)
{
	/*
	 * The engine's tables double as they grow. glibc raises its mmap
	 * threshold each time a mapped block is freed, so the next tables come
	 * from the heap and the ones they replace are never given back: 280
	 * bytes per tracked endpoint instead of 250 (make bench, 100,000).
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("synfin %s\n", SYNFIN_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr,
		"synfin: unknown command '%s' (commands: trace, replay, check, repro, snapshot, watch)\n",
		argv[1]);
	return 2;
}
