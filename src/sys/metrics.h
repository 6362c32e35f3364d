/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The Prometheus endpoint: serves the last published text at /metrics
 * (libmicrohttpd), over TLS and behind basic authentication when a
 * --web-config says so, and bounded against slow or greedy clients.
 */
#ifndef SYNFIN_METRICS_H
#define SYNFIN_METRICS_H

#include <stddef.h>

struct metrics;

/*
 * addr is PORT, :PORT, ADDR:PORT or [ADDR6]:PORT; a bare port binds 127.0.0.1.
 * web_config, unless NULL, is a file in the exporter toolkit's format
 * (webconfig.h). Returns -EINVAL for a malformed addr or web_config, -errno
 * when the socket cannot be had (EADDRINUSE: the port is taken), with one line
 * in err.
 */
int metrics__start(struct metrics **out, const char *addr, const char *web_config, char *err,
		   size_t errlen);
/*
 * Starts answering on the socket metrics__start() bound. Call it after
 * sf_drop_privileges(): capabilities belong to threads, and the threads that
 * serve the network are created here, with none at all (not even what the
 * command keeps). 0, or -errno with one line in err.
 */
int metrics__serve(struct metrics *m, char *err, size_t errlen);
int metrics__publish(struct metrics *m, const char *text, size_t len);
void metrics__stop(struct metrics *m);

#endif
