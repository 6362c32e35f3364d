// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Test helper: the identity module alone, driven one line at a time from
 * stdin (tests/e2e/identity_test.py). Usage: identity_probe [--host-root DIR]
 * Each line is a step on one identity, answered by one line on stdout:
 *   cgroup ID    "cgroup ID {workload JSON}"
 *   netns INO    "netns INO {workload JSON}"
 *   refresh      identity__refresh, "refresh"
 *   hits ID N    N cached lookups of cgroup ID: the time they took
 *   cold ID N    N fresh identities, each resolving ID (a walk of the cgroup tree)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "identity.h"
#include "json.h"
#include "parse.h"

static void print(const char *what, uint64_t key, const struct sf_workload *w)
{
	char buf[4096], label[600];
	struct sf_sb b = SF_SB_FIXED(buf, sizeof(buf));

	sf_sb_puts(&b, "{");
	sf_json_kstr(&b, "namespace", w->ns);
	sf_json_kstr(&b, "pod", w->pod);
	sf_json_kstr(&b, "pod_uid", w->pod_uid);
	sf_json_kstr(&b, "container", w->container);
	sf_json_kstr(&b, "container_id", w->container_id);
	sf_json_kstr(&b, "unit", w->unit);
	sf_json_kstr(&b, "cgroup", w->cgroup);
	sf_json_kstr(&b, "label", sf_workload_label(w, label, sizeof(label)));
	sf_sb_puts(&b, "}");
	printf("%s %llu %s\n", what, (unsigned long long)key, buf);
}

static void hits(struct identity *id, uint64_t cg, uint64_t n)
{
	uint64_t t0 = sf_clock_ns(CLOCK_MONOTONIC), dt;
	size_t sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += identity__cgroup(id, cg)->container_id[0];
	dt = sf_clock_ns(CLOCK_MONOTONIC) - t0;
	printf("hits %llu lookups: %.3f ms, %.1f ns each (%zu)\n", (unsigned long long)n, dt / 1e6,
	       (double)dt / (double)(n ? n : 1), sum);
}

static int cold(const char *root, uint64_t cg, uint64_t n)
{
	uint64_t total = 0, worst = 0;
	char err[256];

	for (uint64_t i = 0; i < n; i++) {
		struct identity *id;
		uint64_t t0 = sf_clock_ns(CLOCK_MONOTONIC), dt;

		if (identity__new(&id, root, err, sizeof(err))) {
			fprintf(stderr, "identity_probe: %s\n", err);
			return 1;
		}
		identity__cgroup(id, cg);
		dt = sf_clock_ns(CLOCK_MONOTONIC) - t0;
		total += dt;
		worst = dt > worst ? dt : worst;
		identity__free(id);
	}
	printf("cold %llu resolutions: %.3f ms each, worst %.3f ms\n", (unsigned long long)n,
	       (double)total / 1e6 / (double)(n ? n : 1), worst / 1e6);
	return 0;
}

static void refresh(struct identity *id)
{
	identity__refresh(id);
	puts("refresh");
}

static int step(struct identity *id, const char *root, char *line)
{
	char cmd[16] = "", a[32] = "", b[32] = "";
	int args = sscanf(line, "%15s %31s %31s", cmd, a, b);
	uint64_t key = 0, n = 0;

	if ((args > 1 && sf_parse_u64(a, UINT64_MAX, &key)) ||
	    (args > 2 && sf_parse_u64(b, UINT64_MAX, &n)))
		return -1;
	if (!strcmp(cmd, "cgroup") && args == 2)
		print(cmd, key, identity__cgroup(id, key));
	else if (!strcmp(cmd, "netns") && args == 2 && key <= UINT32_MAX)
		print(cmd, key, identity__netns(id, (uint32_t)key));
	else if (!strcmp(cmd, "refresh") && args == 1)
		refresh(id);
	else if (!strcmp(cmd, "hits") && args == 3)
		hits(id, key, n);
	else if (!strcmp(cmd, "cold") && args == 3)
		return cold(root, key, n);
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *root = argc == 3 && !strcmp(argv[1], "--host-root") ? argv[2] : NULL;
	struct identity *id;
	char err[256], line[256];
	int ret = 0;

	if ((argc != 1 && !root) || identity__new(&id, root, err, sizeof(err))) {
		fprintf(stderr, "identity_probe: %s\n",
			argc != 1 && !root ? "usage: identity_probe [--host-root DIR]" : err);
		return 2;
	}
	while (!ret && fgets(line, sizeof(line), stdin)) {
		ret = step(id, root, line);
		if (ret)
			fprintf(stderr, "identity_probe: bad step: %s", line);
		fflush(stdout);
	}
	identity__free(id);
	return ret ? 1 : 0;
}
