// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What one cache line costs to move between two CPUs, one way: two threads,
 * pinned to the first and the last CPU, hand a counter back and forth. On a
 * virtual machine it tells whether the host runs the two vCPUs on nearby or
 * distant cores just now. Run it on an idle machine: under load its threads
 * are preempted and it measures the scheduler instead.
 *
 *   pingpong [ROUND_TRIPS]     prints the one-way time in ns (200,000 trips)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile long line __attribute__((aligned(64)));
static long trips = 200000;

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *pong(void *arg)
{
	if (pin(*(int *)arg))
		exit(1);
	for (long i = 0; i < trips; i++) {
		while (line != 2 * i + 1)
			;
		line = 2 * i + 2;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int last = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	struct timespec t0, t1;
	pthread_t thread;

	if (argc > 1)
		trips = atol(argv[1]);
	if (last < 1 || trips < 1) {
		fprintf(stderr, "pingpong: needs 2 CPUs and a positive count\n");
		return 1;
	}
	if (pin(0) || pthread_create(&thread, NULL, pong, &last)) {
		fprintf(stderr, "pingpong: cannot start the second thread\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < trips; i++) {
		line = 2 * i + 1;
		while (line != 2 * i + 2)
			;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(thread, NULL);
	printf("%.0f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / trips / 2);
	return 0;
}
