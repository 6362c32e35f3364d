// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Attaches bench/floor.bpf.c until SIGINT or SIGTERM: the bench's floor.
 *
 *   floor            the empty program on synfin's tracepoint
 *   floor --clock    a program on it that only reads the clock
 *   floor --stats    attach nothing: keep BPF run-time statistics on while it
 *                    runs (BPF_ENABLE_STATS). Unlike the kernel.bpf_stats_enabled
 *                    sysctl, which is one global switch, each holder keeps them
 *                    on for itself: another bench or test ending meanwhile and
 *                    writing 0 to the sysctl does not stop them.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void wait_for_signal(const char *what)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "floor: %s\n", what);
	while (!stop)
		pause();
}

static int hold_stats(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (fd < 0) {
		fprintf(stderr, "floor: cannot enable BPF statistics: %s\n", strerror(-fd));
		return 1;
	}
	wait_for_signal("statistics on");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	bool with_clock = argc > 1 && !strcmp(argv[1], "--clock");
	struct floor_bpf *skel;
	int ret = 1;

	if (argc > 1 && !strcmp(argv[1], "--stats"))
		return hold_stats();
	if (argc > 1 && !with_clock) {
		fprintf(stderr, "floor: unknown option %s (--clock, --stats)\n", argv[1]);
		return 2;
	}
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: cannot open: %d\n", -errno);
		return 1;
	}
	bpf_program__set_autoload(skel->progs.floor_state, !with_clock);
	bpf_program__set_autoload(skel->progs.floor_clock, with_clock);
	if (floor_bpf__load(skel)) {
		fprintf(stderr, "floor: cannot load: %d\n", -errno);
		goto cleanup;
	}
	if (floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: cannot attach: %d\n", -errno);
		goto cleanup;
	}
	wait_for_signal("attached");
	ret = 0;
cleanup:
	floor_bpf__destroy(skel);
	return ret;
}
