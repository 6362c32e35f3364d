// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* libFuzzer: any bytes as a recording file: a clean error or events the engine takes. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "record.h"
#include "tracker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/synfin-fuzz-XXXXXX", err[512];
	struct tracker_ops ops = { NULL, NULL, NULL };
	struct sf_rec_header hdr;
	const struct sf_event *e;
	struct reader *r = NULL;
	struct tracker *t = NULL;
	int fd = mkstemp(path);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	if (!reader__open(&r, path, &hdr, err, sizeof(err)) && !tracker__new(&t, NULL, &ops)) {
		while (reader__next(r, &e, err, sizeof(err)) == 1)
			if (tracker__feed(t, e))
				break;
		tracker__flush(t, 0);
	}
	tracker__free(t);
	reader__close(r);
	unlink(path);
	return 0;
}
