// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Attaches bench/floor.bpf.c until SIGINT or SIGTERM: the bench's floor. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct floor_bpf *skel = floor_bpf__open_and_load();
	int ret = 1;

	if (!skel) {
		fprintf(stderr, "floor: cannot load: %d\n", -errno);
		return 1;
	}
	if (floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: cannot attach: %d\n", -errno);
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "floor: attached\n");
	while (!stop)
		pause();
	ret = 0;
cleanup:
	floor_bpf__destroy(skel);
	return ret;
}
