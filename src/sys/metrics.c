// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "metrics.h"
#include "parse.h"

#ifdef SF_NO_METRICS
/* The static build (make static, for make vmtest) leaves libmicrohttpd out. */
int metrics__start(struct metrics **out, const char *addr, char *err, size_t errlen)
{
	(void)out;
	snprintf(err, errlen, "--metrics %s: this static build has no metrics endpoint", addr);
	return -ENOTSUP;
}

int metrics__publish(struct metrics *m, const char *text, size_t len)
{
	(void)m;
	(void)text;
	(void)len;
	return 0;
}

void metrics__stop(struct metrics *m)
{
	(void)m;
}
#else
#include <microhttpd.h>

struct metrics {
	struct MHD_Daemon *mhd;
	int fd;
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	static const char not_found[] = "not found: try /metrics\n";
	struct metrics *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int code = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	if (!strcmp(url, "/metrics")) {
		pthread_mutex_lock(&m->lock);
		resp = MHD_create_response_from_buffer(m->len, m->text ? m->text : (char *)"",
						       MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&m->lock);
	} else {
		resp = MHD_create_response_from_buffer(sizeof(not_found) - 1, (void *)not_found,
						       MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_NOT_FOUND;
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128] = "127.0.0.1";
	const char *colon = strrchr(addr, ':');
	uint8_t family, a[16];
	uint16_t port;

	if (sf_parse_port(colon ? colon + 1 : addr, &port))
		return -EINVAL;
	if (colon && colon != addr) {
		size_t n = colon - addr;

		if (addr[0] == '[' && addr[n - 1] == ']') {
			addr++;
			n -= 2;
		}
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr, n);
		host[n] = 0;
	}
	if (sf_parse_addr(host, &family, a))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a, sizeof(sin->sin_addr));
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a, sizeof(sin6->sin6_addr));
		*len = sizeof(*sin6);
	}
	return 0;
}

int metrics__start(struct metrics **out, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics *m;
	socklen_t len;
	int one = 1, ret;

	if (parse_addr(addr, &ss, &len)) {
		snprintf(err, errlen, "invalid --metrics '%s' (PORT, ADDR:PORT or [ADDR6]:PORT)",
			 addr);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	/* our own socket, so a taken port is reported as such */
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (struct sockaddr *)&ss, len) || listen(m->fd, 64)) {
		ret = -errno;
		snprintf(err, errlen, "cannot serve metrics on %s: %s", addr, strerror(errno));
		goto cleanup;
	}
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, m,
				  MHD_OPTION_LISTEN_SOCKET, m->fd, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)10, MHD_OPTION_END);
	if (!m->mhd) {
		ret = -EIO;
		snprintf(err, errlen, "cannot start the metrics server on %s", addr);
		goto cleanup;
	}
	*out = m;
	return 0;
cleanup:
	metrics__stop(m);
	return ret;
}

int metrics__publish(struct metrics *m, const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = copy;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void metrics__stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	if (m->fd >= 0)
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}
#endif
