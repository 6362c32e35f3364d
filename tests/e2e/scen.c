// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Test helper: play one scenario. Usage: scen NAME PORT [-6] */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "scenario.h"
#include "parse.h"

int main(int argc, char **argv)
{
	const struct scenario *sc = argc > 1 ? scenario_find(argv[1]) : NULL;
	struct scenario_out out;
	char err[256] = "";
	uint16_t port;

	if (argc < 3 || !sc || sf_parse_port(argv[2], &port)) {
		fprintf(stderr, "usage: scen NAME PORT [-6]\n");
		return 2;
	}
	if (scenario_run(sc, argc > 3 && !strcmp(argv[3], "-6") ? AF_INET6 : AF_INET, port, &out,
			 err, sizeof(err))) {
		fprintf(stderr, "scen %s: %s\n", argv[1], err);
		return 1;
	}
	return 0;
}
